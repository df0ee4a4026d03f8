"""The screens' data: the steps topic (session events, steps) and the trace topic, read from
Kafka as the feedback service's own principal, without a consumer group (every instance sees
everything; nothing is committed). At start the steps topic is read back ``lookback_s`` for the
sessions already open, so a restarted service shows them again. What the screens showed (the
dose ledger's ``feedback_cue`` records) goes to the feedback topic, which the sink writes to
InfluxDB."""

from __future__ import annotations

import asyncio
import logging
import time

from gaitstream.logging import kv
from gaitstream.schemas.codec import WireError, decode, encode
from gaitstream.services.feedback.hub import Hub
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)

KINDS = ("session_event", "step_metrics", "obliquity_trace")
ASSIGNMENT_TIMEOUT_S = 30.0


async def run_feed(
    hub: Hub,
    kafka: KafkaSettings,
    topics: TopicSettings,
    *,
    lookback_s: float,
    ready: asyncio.Event,
    fetch_max_wait_s: float = 0.05,
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    # Subscribed without a group: every partition of both topics is this consumer's.
    consumer = AIOKafkaConsumer(
        topics.steps,
        topics.trace,
        **kafka.client_config(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        client_id="gaitstream-feedback",
        fetch_max_wait_ms=max(1, round(fetch_max_wait_s * 1000)),
    )
    producer = AIOKafkaProducer(**kafka.client_config(), client_id="gaitstream-feedback", acks="all")
    await consumer.start()
    await producer.start()
    try:
        deadline = time.monotonic() + ASSIGNMENT_TIMEOUT_S
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise RuntimeError(f"no partition of {topics.steps} or {topics.trace} (does the pipeline run?)")
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        steps = [tp for tp in partitions if tp.topic == topics.steps]
        started = time.monotonic()
        since_ms = int((time.time() - lookback_s) * 1000)
        offsets = await consumer.offsets_for_times({tp: since_ms for tp in steps})
        for tp in steps:
            if offsets.get(tp) is not None:
                consumer.seek(tp, offsets[tp].offset)
            else:
                await consumer.seek_to_end(tp)
        await consumer.seek_to_end(*[tp for tp in partitions if tp.topic == topics.trace])
        # Until the read-back reaches where the steps topic ended at start, records only rebuild state.
        ends = await consumer.end_offsets(steps)
        hub.live = all(offsets.get(tp) is None or offsets[tp].offset >= ends[tp] for tp in steps)
        ready.set()
        log.info(kv("feedback_feed_started", partitions=len(partitions), lookback_s=lookback_s))
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            for records in batch.values():
                for record in records:
                    _publish(hub, record)
            if not hub.live and all([await consumer.position(tp) >= ends[tp] for tp in steps]):
                hub.live = True
                log.info(kv("feedback_feed_live", read_back_s=round(time.monotonic() - started, 1)))
            for cue in hub.take_dose():
                await producer.send(topics.feedback, key=cue["station_id"].encode(), value=encode("feedback_cue", cue))
    finally:
        await consumer.stop()
        await producer.stop()


def _publish(hub: Hub, record) -> None:
    try:
        kind, value = decode(record.value, expect=KINDS)
    except WireError:
        return  # other kinds on the steps topic (statuses are elsewhere); the worker checked these
    station_id = value.get("station_id") or (record.key.decode() if record.key else None)
    if station_id:
        hub.publish(station_id, kind, value)
