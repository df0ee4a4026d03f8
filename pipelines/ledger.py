"""The gait agent's checkpoint ledger: what is processed, what is stored, what may be acknowledged.

A station's frames are processed into its engine at once, but an input may only be acknowledged
(its offset become committable) once everything it caused is stored: the checkpoint of the
station's state that covers it (the ``station-state`` table's changelog record) and the outputs
(steps, status, trace, alerts) produced since the previous checkpoint. Events move through

    held -> written -> confirmed -> acknowledged

- ``hold``: processed, its effect only in the station's live state.
- ``checkpoint``: the station's held events and the outputs produced for them are bundled with
  the changelog write of its new checkpoint; they are "written" until every one of those
  deliveries completes, then "confirmed". A failed delivery keeps them unacknowledged for good:
  a restarted worker replays them (outputs are idempotent downstream).
- ``release``: an event that needs no checkpoint (a replay already inside the state, a dead
  letter) is confirmed at once, or once its own deliveries (the dead letter) are stored.
- ``take_ackable``: per partition, the confirmed events from the lowest offset up to the first one
  that is not confirmed, in offset order. Acknowledging in offset order matters: Faust commits the
  longest acknowledged run from its last committed offset, and (faust-streaming 0.15.3, see
  ``faust_adapter``) it steps over one unacknowledged offset at the head of that run; a station
  sharing a partition with a busier one could otherwise see its held frames committed before
  they were stored, and lose them in a fail-over.
- ``revoke``: partitions were revoked; nothing not yet acknowledged will be: the partitions' next
  owner (maybe this worker again, from the table's changelog) replays those events. A batch
  taken before the revocation carries its epoch (``begin_batch``): whatever it records after
  the revocation is ignored, and it writes no checkpoint (``interrupted``).

Pure: events are opaque objects identified by (partition, offset); deliveries are anything with
``done()``, ``cancelled()`` and ``exception()`` (asyncio or concurrent futures).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

HELD, WRITTEN, CONFIRMED, FAILED = "held", "written", "confirmed", "failed"


class Delivery(Protocol):
    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def exception(self) -> BaseException | None: ...


@dataclass
class _Entry:
    event: Any
    station: str | None
    state: str = HELD


@dataclass
class _Checkpoint:
    station: str
    deliveries: list[Delivery]
    entries: list[_Entry]
    settled: int = 0  # deliveries[:settled] are done (checked once each)
    error: str | None = None

    def done(self) -> bool:
        """Whether every delivery completed; the first failure is kept in ``error``."""
        deliveries = self.deliveries
        while self.settled < len(deliveries) and deliveries[self.settled].done():
            delivery = deliveries[self.settled]
            if self.error is None and (delivery.cancelled() or delivery.exception() is not None):
                self.error = "cancelled" if delivery.cancelled() else repr(delivery.exception())
            self.settled += 1
        return self.settled == len(deliveries)


@dataclass
class CheckpointLedger:
    """See the module docstring. ``epoch`` counts revocations."""

    epoch: int = 0
    _by_partition: dict[Hashable, dict[int, _Entry]] = field(default_factory=dict)
    _offsets: dict[Hashable, list[int]] = field(default_factory=dict)  # heap of each partition's offsets
    _next: dict[Hashable, int] = field(default_factory=dict)  # one past the highest offset recorded
    _held: dict[str, list[_Entry]] = field(default_factory=dict)
    _held_samples: dict[str, int] = field(default_factory=dict)
    _outputs: dict[str, list[Delivery]] = field(default_factory=dict)
    _written: list[_Checkpoint] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    redelivered: int = 0

    # ------------------------------------------------------------------ batches
    def begin_batch(self) -> int:
        """The epoch a batch starts in (pass it to :meth:`interrupted`)."""
        return self.epoch

    def interrupted(self, batch_epoch: int) -> bool:
        """Whether partitions were revoked since the batch started."""
        return batch_epoch != self.epoch

    # ------------------------------------------------------------------ events
    def hold(self, batch: int, station: str, event: Any, partition: Hashable, offset: int, samples: int = 0) -> None:
        """``event`` was processed into ``station``'s live state (ignored if ``batch`` was interrupted)."""
        if self.interrupted(batch):
            return
        entry = _Entry(event, station)
        if not self._add(partition, offset, entry):
            return
        self._held.setdefault(station, []).append(entry)
        self._held_samples[station] = self._held_samples.get(station, 0) + samples

    def release(
        self, batch: int, event: Any, partition: Hashable, offset: int, deliveries: tuple[Delivery, ...] = ()
    ) -> None:
        """``event`` needs no checkpoint (a replay already in the state, a dead letter): acknowledge it
        in its turn, once ``deliveries`` (e.g. its dead letter) are stored."""
        if self.interrupted(batch):
            return
        entry = _Entry(event, None, WRITTEN if deliveries else CONFIRMED)
        if self._add(partition, offset, entry) and deliveries:
            self._written.append(_Checkpoint("-", list(deliveries), [entry]))

    def output(self, batch: int, station: str, delivery: Delivery) -> None:
        """A record produced for ``station``'s held events: its next checkpoint waits for it."""
        if not self.interrupted(batch):
            self._outputs.setdefault(station, []).append(delivery)

    def next_offset(self, partition: Hashable) -> int | None:
        """One past the highest offset recorded for ``partition`` since the last revocation."""
        return self._next.get(partition)

    def knows(self, partition: Hashable, offset: int) -> bool:
        """Whether the event at ``offset`` is recorded (and not yet acknowledged)."""
        return offset in self._by_partition.get(partition, {})

    def held_samples(self, station: str) -> int:
        return self._held_samples.get(station, 0)

    def holds(self, station: str) -> bool:
        return bool(self._held.get(station))

    # -------------------------------------------------------------- checkpoints
    def checkpoint(self, batch: int, station: str, write: Delivery) -> bool:
        """``write`` stores a checkpoint of ``station`` covering every event held for it; False (and
        nothing recorded) when ``batch`` was interrupted: that write may be undone by the table's
        recovery, so it must cover nothing."""
        if self.interrupted(batch):
            return False
        entries = self._held.pop(station, [])
        self._held_samples.pop(station, None)
        for entry in entries:
            entry.state = WRITTEN
        self._written.append(_Checkpoint(station, [*self._outputs.pop(station, []), write], entries))
        return True

    def forget(self, station: str) -> None:
        """Drop what is held for ``station`` (its live state is discarded; the events are replayed)."""
        for entry in self._held.pop(station, []):
            entry.state = FAILED
        self._held_samples.pop(station, None)
        self._outputs.pop(station, None)

    def take_ackable(self) -> list[Any]:
        """Settle the completed checkpoints; return the events to acknowledge now, in offset order
        per partition (each is returned once). A batch is processed station by station, so the
        records of a partition arrive out of offset order: a heap per partition keeps the lowest."""
        pending = []
        for checkpoint in self._written:
            if not checkpoint.done():
                pending.append(checkpoint)
                continue
            for entry in checkpoint.entries:
                entry.state = FAILED if checkpoint.error else CONFIRMED
            if checkpoint.error:
                self.failures.append((checkpoint.station, checkpoint.error))
        self._written = pending
        out = []
        for partition, entries in self._by_partition.items():
            heap = self._offsets[partition]
            while heap and entries[heap[0]].state == CONFIRMED:
                out.append(entries.pop(heapq.heappop(heap)).event)
        return out

    def waiting(self) -> int:
        """Events processed and not yet acknowledged (all states)."""
        return sum(len(entries) for entries in self._by_partition.values())

    # -------------------------------------------------------------- revocations
    def revoke(self) -> None:
        """Partitions were revoked: acknowledge nothing that is not yet (its next owner replays it)."""
        self.epoch += 1
        self._by_partition.clear()
        self._offsets.clear()
        self._next.clear()
        self._held.clear()
        self._held_samples.clear()
        self._outputs.clear()
        self._written.clear()

    def _add(self, partition: Hashable, offset: int, entry: _Entry) -> bool:
        """Record ``entry``; False when the offset is already recorded: the same message delivered
        again (Faust re-seeks a partition it keeps, e.g. under exactly_once, without a revocation).
        The first record keeps governing its acknowledgement."""
        entries = self._by_partition.setdefault(partition, {})
        if offset in entries:
            self.redelivered += 1
            return False
        entries[offset] = entry
        heapq.heappush(self._offsets.setdefault(partition, []), offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)
        return True


def contiguous_run(offsets: list[int], expected: int | None) -> tuple[list[int], int | None]:
    """The offsets of one partition's records that continue from ``expected`` without a hole.

    Returns (the offsets to process, in order: each once, from ``expected`` on; the missing offset
    when a hole stops the run, else None). Offsets below ``expected`` were seen already and are
    left out; with ``expected`` None the lowest offset starts the run.
    """
    run: list[int] = []
    for offset in sorted(set(offsets)):
        if expected is None:
            expected = offset
        if offset < expected:
            continue
        if offset > expected:
            return run, expected
        run.append(offset)
        expected += 1
    return run, None


def stalled(expected: int | None, end_offset: int | None) -> bool:
    """Whether a partition that delivered nothing for a while has records past ``expected`` (the
    next offset the agent needs; ``end_offset`` the broker's next offset to be written): the
    consumer holds them back (a seek that did not take), and the partition must be read again."""
    return expected is not None and end_offset is not None and end_offset > expected
