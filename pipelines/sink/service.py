"""The InfluxDB sink: steps, status, trace and alerts -> InfluxDB, offsets committed after the write.

It runs inside every pipeline worker as a Faust service with its own Kafka consumer (aiokafka,
the client Faust itself is built on) in its own consumer group, ``<app id>-influx-sink``: the
sink only reads records and writes them, so it needs none of a Faust stream's machinery (an
event object, a task hand-off and an acknowledgement per message, about 130 µs a message on
this machine: a fifth of the worker's CPU when the sink was an agent; benchmarks/pipeline_load.py
--capacity). Workers share the output topics' partitions through that group as they share the
stations through the app's.

Delivery: each batch (what arrived within ``sink_batch_within_s``, at most
``sink_batch_messages``) is written, its undecodable or refused records go to the dead-letter
topic, and only then are its offsets committed. A transient InfluxDB failure blocks the batch
(backoff and retry in ``InfluxSink.write``): nothing is skipped or reordered, and a replay after
a crash or a rebalance overwrites the same points (timestamps come from the data).
"""

from __future__ import annotations

import asyncio
import logging
import time

import mode
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from gaitstream.logging import kv
from gaitstream.pipelines.app import alerts_topic, app, pipeline_settings, status_topic, steps_topic, trace_topic
from gaitstream.pipelines.deadletter import send_dead_letter_raw
from gaitstream.pipelines.sink.influx import InfluxSink, PermanentWriteError
from gaitstream.pipelines.sink.points import batch_lines
from gaitstream.settings import InfluxSettings, KafkaSettings

log = logging.getLogger(__name__)

SINK_TOPICS = tuple(topic.get_topic_name() for topic in (steps_topic, status_topic, trace_topic, alerts_topic))


def sink_group_id() -> str:
    return f"{pipeline_settings.app_id}-influx-sink"


@app.service
class InfluxSinkService(mode.Service):
    """Consume the output topics in batches, write each batch, then commit its offsets."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._consumer: AIOKafkaConsumer | None = None
        self._sink: InfluxSink | None = None

    async def on_start(self) -> None:
        self._sink = InfluxSink(InfluxSettings())
        self._consumer = AIOKafkaConsumer(
            *SINK_TOPICS,
            bootstrap_servers=KafkaSettings().bootstrap_servers,
            group_id=sink_group_id(),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Idle partitions (alerts) must not hold the fetch the busy ones wait behind.
            fetch_max_wait_ms=int(pipeline_settings.fetch_max_wait_s * 1000),
            fetch_min_bytes=pipeline_settings.sink_fetch_min_bytes,
            session_timeout_ms=int(pipeline_settings.session_timeout_s * 1000),
            heartbeat_interval_ms=int(pipeline_settings.heartbeat_interval_s * 1000),
        )
        await self._consumer.start()

    async def on_stop(self) -> None:
        if self._sink is not None:
            self._sink.close()  # a write retrying against a failing InfluxDB gives up: nothing is committed
        if self._consumer is not None:
            await self._consumer.stop()

    async def _next_batch(self) -> list:
        """What arrives within ``sink_batch_within_s`` of the first record (at most
        ``sink_batch_messages``), or nothing after that long: one InfluxDB request per batch
        rather than per handful of records (a request costs about a millisecond of CPU)."""
        within_s, most = pipeline_settings.sink_batch_within_s, pipeline_settings.sink_batch_messages
        records: list = []
        deadline = None
        while len(records) < most and not self.should_stop:
            wait_s = within_s if deadline is None else deadline - time.monotonic()
            if wait_s <= 0:
                break
            batches = await self._consumer.getmany(
                timeout_ms=max(1, round(wait_s * 1000)), max_records=most - len(records)
            )
            for batch in batches.values():
                records.extend(batch)
            if deadline is None:
                if not records:
                    break  # nothing came: back to the caller, which checks for a stop
                deadline = time.monotonic() + within_s
        return records

    @mode.Service.task
    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.should_stop:
            try:
                records = await self._next_batch()
            except (IllegalStateError, asyncio.CancelledError):
                return  # stopping
            if not records:
                continue
            lines, refused = batch_lines(records)
            started = time.perf_counter()
            if lines:
                try:
                    await loop.run_in_executor(None, self._sink.write, lines)
                except PermanentWriteError as exc:
                    # InfluxDB refused the batch for good: every record of it goes to the dead letters.
                    refused = [(record, str(exc)) for record in records]
                except RuntimeError as exc:  # closing while InfluxDB fails: commit nothing
                    log.warning(kv("influx_sink_stopped", reason=str(exc)))
                    return
            for record, reason in refused:  # in the dead-letter topic before the offsets move on
                await (
                    await send_dead_letter_raw(
                        record.topic, record.partition, record.offset, record.key, record.value, reason
                    )
                )
            try:
                await self._consumer.commit()
            except (CommitFailedError, KafkaError) as exc:
                # A rebalance took partitions away meanwhile: their new owner writes the batch
                # again (same points, overwritten).
                log.warning(kv("influx_sink_commit_failed", error=f"{type(exc).__name__}: {exc}"))
            log.debug(
                kv(
                    "influx_batch",
                    messages=len(records),
                    points=len(lines),
                    elapsed_s=round(time.perf_counter() - started, 3),
                )
            )
