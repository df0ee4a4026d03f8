"""Every faust-streaming and aiokafka internal the pipeline relies on, in one place.

Pinned: faust-streaming 0.15.3, aiokafka 0.14.0 (``pyproject.toml``). Each item below names what
it reaches and why; ``tests/pipelines/test_faust_adapter.py`` fails when the pinned version no
longer behaves so, and the end-to-end tests exercise them on the real broker.

1. ``current_event``: a table write goes to the changelog partition of Faust's *current event*
   (the context variable ``faust.streams._current_event``, set by a stream per event); the gait
   agent takes events in batches and sets it per station.
2. ``is_stale``: an event fetched before a rebalance (its consumer generation) belongs to the
   partition's next owner, who replays it (the stream's own rule, ``app.flow_control``).
3. ``owns_partition``: the partitions this worker owns now (``app.assignor.assigned_actives()``).
4. ``tables_settled``: no rebalance or table recovery in progress (``app.rebalancing``,
   ``app.in_recovery``, ``app.tables.recovery.completed``).
5. ``producer_partitions``: the partitions aiokafka knows for a topic (its cluster metadata,
   inside Faust's producer), so that the agent places records itself.
6. ``set_fetch_wait``: the broker-side fetch wait of Faust's consumer (fixed at 1.5 s by Faust;
   aiokafka's fetcher attribute, read when the next fetch is built).
7. ``CheckpointTable``: a table whose last changelog write can be awaited
   (``Table.send_changelog`` returns the delivery future).
8. ``TopicMirror``: a GlobalTable whose changelog is a topic of ours; 0.15.3's assignor looks a
   global table's changelog up by its default name (``_changelog_topic_name``), not the topic
   given, and the group's first assignment never completes.
9. Not used, documented: ``Consumer._new_offset`` commits the longest acknowledged run from the
   last committed offset, but steps over one unacknowledged offset at the head of that run (it
   compares against the committed offset, which is already the *next* offset to read). The gait
   agent therefore acknowledges in offset order per partition (``ledger.CheckpointLedger``).
10. ``committed_offset`` and ``rewind``: after a rebalance Faust seeks each partition back to its
   committed offset, but records its consumer thread fetched from the old position before the
   seek can still be delivered after it (with the new generation); the consumer then marks them
   read, and drops the re-fetched records below them as already read (``_read_offset``). The
   first record the agent sees is then past the committed offset: the records in between would
   be lost, and item 9 would commit past them (e2e killed-worker test: a restored station's next
   frame was frame 501 of offset 502, frame 500 was never seen). The agent checks that each
   partition's records continue from the committed offset (Faust's view of it, kept by the
   consumer) and otherwise seeks back with Faust's own ``Consumer.seek``, which also resets the
   read offset.
11. ``forget_gaps``: when a partition's records arrive with a jump in offsets, Faust records the
   skipped offsets as a "gap" (``Consumer._add_gap``, meant for transaction markers and compacted
   records) and later counts them as acknowledged: once an acknowledged offset passes the gap's
   start, ``_new_offset`` commits past the whole gap. A jump on the stations topic (plain
   producers, never compacted) is item 10's overtaken seek, whose records the agent reads again,
   so the gap covers records not yet processed: seen in the fault campaign (worker kill and
   broker restart), a committed offset 106 frames past the station's checkpoint and those frames
   lost. The agent forgets the gaps of a partition before it acknowledges anything of it.
12. ``OwnReadsApp``: Faust drops a record whose offset is below the partition's read offset (the
   highest it delivered, or a seek's target) in ``_drain_messages``. Records its consumer thread
   fetched before a seek keep arriving after it and raise the read offset past the seek, so the
   re-fetched records are dropped: the fault campaign saw a partition rewound to its hole again
   and again for minutes, its stations stuck. For the stations topic the read offset is never
   consulted (``ReadOffsets`` answers None for it, so Faust delivers every record and records no
   gap); the agent keeps its own order (``ledger.contiguous_run``: a record below the next
   offset is dropped as seen, one past a hole waits for the rewind). The consumer is given that
   mapping when the app creates it (``App._new_consumer``): ``_drain_messages`` binds the
   mapping's methods when it starts.
13. ``end_offset``: the broker's next offset of a partition (``Consumer.highwaters``, a list
   offsets request through Faust's consumer thread): the agent's watchdog re-reads a partition
   that has records past the next offset it needs and delivered nothing for a while (seen in the
   fault campaign after a recovery: records from the committed offset never delivered until
   new data arrived minutes later).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import faust
from faust.streams import _current_event
from faust.types import TP, EventT

log = logging.getLogger(__name__)

PINNED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}


@contextmanager
def current_event(event: EventT) -> Iterator[None]:
    """1. Make ``event`` Faust's current event (table writes go to its partition's changelog)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def is_stale(app: faust.App, event: EventT) -> bool:
    """2. Whether ``event`` was fetched before the last rebalance (its partition's owner replays it)."""
    return not app.flow_control.is_active() or event.message.generation_id != app.consumer_generation_id


def owns_partition(app: faust.App, topic: str, partition: int) -> bool:
    """3. Whether this worker owns ``topic``/``partition`` as an active partition now."""
    return TP(topic, partition) in app.assignor.assigned_actives()


def tables_settled(app: faust.App) -> bool:
    """4. No rebalance and no table recovery in progress: a table value is the one the agents see."""
    return not (app.rebalancing or app.in_recovery or not app.tables.recovery.completed.is_set())


def producer_partitions(app: faust.App, topic: str) -> set[int] | None:
    """5. The partitions of ``topic`` in the producer's metadata (None: not known yet)."""
    client = getattr(app.producer._producer, "client", None)
    known = client.cluster.partitions_for_topic(topic) if client is not None else None
    return set(known) if known else None


def committed_offset(app: faust.App, topic: str, partition: int) -> int | None:
    """10. The offset Faust last committed for ``topic``/``partition`` (the next to read), None if none."""
    return app.consumer._committed_offset.get(TP(topic, partition))


def forget_gaps(app: faust.App, topic: str, partition: int) -> None:
    """11. Drop the offsets Faust would count as acknowledged because they were skipped."""
    app.consumer._gap.pop(TP(topic, partition), None)


async def end_offset(app: faust.App, topic: str, partition: int) -> int | None:
    """13. The broker's next offset to be written in ``topic``/``partition`` (None if unknown)."""
    tp = TP(topic, partition)
    return (await app.consumer.highwaters(tp)).get(tp)


async def rewind(app: faust.App, topic: str, partition: int, offset: int) -> None:
    """10. Read ``topic``/``partition`` again from ``offset`` (Faust's seek, read offset included)."""
    await app.consumer.seek(TP(topic, partition), offset)


def set_fetch_wait(app: faust.App, wait_s: float) -> int | None:
    """6. Set the consumer's broker-side fetch wait; the value set (ms), or None when the
    consumer's internals are not where 0.15.3 / 0.14 keep them."""
    fetcher = getattr(getattr(getattr(app.consumer, "_thread", None), "_consumer", None), "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "_fetch_max_wait_ms"):
        return None
    fetcher._fetch_max_wait_ms = int(wait_s * 1000)
    return fetcher._fetch_max_wait_ms


class CheckpointTable(faust.Table):
    """7. A table whose latest changelog write can be watched: ``last_write`` completes once the
    broker has the record (the gait agent acknowledges a checkpoint's events only then)."""

    last_write: asyncio.Future | None = None

    def send_changelog(self, *args, **kwargs):
        self.last_write = super().send_changelog(*args, **kwargs)
        return self.last_write


class TopicMirror(faust.GlobalTable):
    """8. A GlobalTable whose changelog may be an existing topic written by other producers."""

    def _changelog_topic_name(self) -> str:
        if self._changelog_topic is not None:
            return self._changelog_topic.get_topic_name()
        return super()._changelog_topic_name()


class ReadOffsets(defaultdict):
    """12. Faust's read offsets (partition -> offset), except that the partitions of ``topics`` have
    none: Faust then neither drops their records as read nor records gaps for them."""

    def __init__(self, topics: frozenset[str]) -> None:
        super().__init__(lambda: None)
        self.topics = topics

    def __getitem__(self, tp: TP):
        return None if tp.topic in self.topics else super().__getitem__(tp)

    def get(self, tp: TP, default=None):
        return None if tp.topic in self.topics else super().get(tp, default)


class OwnReadsApp(faust.App):
    """12. An app whose consumer leaves the order of ``own_read_topics`` to the agents."""

    own_read_topics: frozenset[str] = frozenset()

    def _new_consumer(self):
        consumer = super()._new_consumer()
        consumer._read_offset = ReadOffsets(self.own_read_topics)
        return consumer
