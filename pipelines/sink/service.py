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
topic, and only then are its offsets committed. A record InfluxDB refuses is isolated by
splitting the request (``write_isolating``): only it is dead-lettered, the rest of the batch
lands. A transient InfluxDB failure blocks the batch (backoff and retry in ``InfluxSink.write``):
nothing is skipped or reordered, and a replay after a crash or a rebalance overwrites the same
points (timestamps come from the data). A refused token or a missing bucket blocks it too, but
loudly: the worker's ``/health/`` answers 503 and a ``pipeline_fault`` alert opens for each
clinic whose data waits (resolved once writes succeed again).
"""

from __future__ import annotations

import asyncio
import logging
import time

import mode
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from gaitstream.logging import kv
from gaitstream.monitor.pipeline_fault import PipelineFault
from gaitstream.monitor.refused import RefusedFrames
from gaitstream.pipelines.app import (
    alerts_topic,
    app,
    deadletter_topic,
    feedback_topic,
    pipeline_settings,
    stations_topic,
    status_topic,
    steps_topic,
    trace_topic,
)
from gaitstream.pipelines.deadletter import send_dead_letter_raw
from gaitstream.pipelines.produce import produce
from gaitstream.pipelines.sink.influx import InfluxSink, SinkFault, write_isolating
from gaitstream.pipelines.sink.points import batch_lines, dead_letter_fields, dead_letter_lines
from gaitstream.schemas.codec import encode
from gaitstream.settings import InfluxSettings, KafkaSettings, SinkKafkaCredentials

log = logging.getLogger(__name__)


def _now_us() -> int:
    return time.time_ns() // 1000


DEAD_LETTERS = deadletter_topic.get_topic_name()
SINK_TOPICS = (
    *(t.get_topic_name() for t in (steps_topic, status_topic, trace_topic, alerts_topic, feedback_topic)),
    DEAD_LETTERS,
)


# What the sink's faults are, read by the health page (one sink per worker process).
sink_fault = PipelineFault(component="influxdb_sink")


@app.page("/health/")
async def health(web, request):
    """200 while the worker can do its job, 503 (with the reason) while InfluxDB refuses its sink."""
    body = {"healthy": sink_fault.healthy, "faults": {c: f for c, (f, _) in sink_fault.open.items()}}
    return web.json(body, status=200 if sink_fault.healthy else 503)


def sink_kafka_settings() -> KafkaSettings:
    """The worker's Kafka settings with the sink's own user (``GAITSTREAM_SINK_KAFKA_USERNAME``,
    ``..._PASSWORD`` or ``..._PASSWORD_FILE``)."""
    own = SinkKafkaCredentials()
    return KafkaSettings().model_copy(
        update={"username": own.username, "password": own.password, "password_file": own.password_file}
    )


def sink_group_id() -> str:
    return f"{pipeline_settings.app_id}-influx-sink"


@app.service
class InfluxSinkService(mode.Service):
    """Consume the output topics in batches, write each batch, then commit its offsets."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._consumer: AIOKafkaConsumer | None = None
        self._sink: InfluxSink | None = None
        self._refused = RefusedFrames()

    async def on_start(self) -> None:
        self._sink = InfluxSink(InfluxSettings())
        self._consumer = AIOKafkaConsumer(
            *SINK_TOPICS,
            # Its own Kafka user: read the output topics, nothing else (gaitstream.access.principals).
            **sink_kafka_settings().client_config(),
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

    async def _write(self, batch):
        """Write the batch, isolating refused records; while InfluxDB refuses the sink itself,
        retry the same batch with backoff, the fault alerted and the health page failing."""
        loop = asyncio.get_running_loop()
        backoff_s = self._sink.retry.initial_backoff_s
        while True:
            try:
                written = await loop.run_in_executor(None, write_isolating, batch.entries, self._sink.write)
            except SinkFault as exc:
                fault = f"http_{exc.status}"
                log.error(kv("influx_sink_fault", fault=fault, reason=str(exc), backoff_s=backoff_s))
                await self._alert(
                    sink_fault.failed(fault=fault, reason=str(exc), clinics=batch.clinics, time_us=_now_us())
                )
            except RuntimeError as exc:  # closing while InfluxDB fails
                log.warning(kv("influx_sink_stopped", reason=str(exc)))
                return None
            else:
                if not sink_fault.healthy:
                    log.info(kv("influx_sink_recovered"))
                    await self._alert(sink_fault.recovered(time_us=_now_us()))
                return written
            await self.sleep(backoff_s)
            if self.should_stop:
                return None
            backoff_s = min(backoff_s * 2, self._sink.retry.max_backoff_s)

    async def _watch_refused(self, dead: list) -> None:
        """Station frames being refused (``frames_refused``): from the dead letters of the stations topic."""
        frames = stations_topic.get_topic_name()
        for record in dead:
            info = dead_letter_fields(record)
            if info["source_topic"] == frames:
                mark = f"{record.partition}.{record.offset}"
                await self._alert(
                    self._refused.refused(info, info["reason"], time_us=record.timestamp * 1000, mark=mark)
                )

    async def _alert(self, records: list[dict]) -> None:
        for record in records:
            key = record["station_id"] if record["station_id"] != "-" else record["clinic_id"]  # a pipeline fault
            await (await produce(alerts_topic.get_topic_name(), key.encode(), encode("alert", record)))
            log.info(
                kv("alert", id=record["alert_id"], state=record["state"], kind=record["kind"], fault=record["fault"])
            )

    @mode.Service.task
    async def _drain(self) -> None:
        while not self.should_stop:
            try:
                records = await self._next_batch()
            except (IllegalStateError, asyncio.CancelledError):
                return  # stopping
            if not records:
                continue
            await self._alert(self._refused.check(_now_us()))
            dead = [r for r in records if r.topic == DEAD_LETTERS]
            # Decoded on the executor's thread, like the write: a batch of 500 records kept the
            # event loop, and with it the gait agent's next frames, for tens of milliseconds.
            batch = await asyncio.get_running_loop().run_in_executor(
                None, batch_lines, [r for r in records if r.topic != DEAD_LETTERS]
            )
            batch.entries += [(r, dead_letter_lines(r)) for r in dead]
            started = time.perf_counter()
            written = await self._write(batch)
            if written is None:
                return  # stopping while InfluxDB fails: commit nothing
            await self._watch_refused(dead)
            refused = batch.refused
            for record, reason in written.refused:
                if record.topic == DEAD_LETTERS:  # never dead-lettered again: a loop
                    log.error(kv("dead_letter_not_stored", source=f"{record.partition}/{record.offset}", reason=reason))
                else:
                    refused.append((record, reason))
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
                    points=sum(len(lines) for _, lines in batch.entries),
                    requests=written.requests,
                    elapsed_s=round(time.perf_counter() - started, 3),
                )
            )
