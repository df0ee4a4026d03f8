"""write_to_influxdb: steps, status and trace -> InfluxDB, offsets acknowledged after the write."""

from __future__ import annotations

import asyncio
import logging
import time

from gaitstream.logging import kv
from gaitstream.settings import InfluxSettings
from pipelines.app import alerts_topic, app, pipeline_settings, status_topic, steps_topic, trace_topic
from pipelines.deadletter import send_dead_letter
from pipelines.sink.influx import InfluxSink, PermanentWriteError
from pipelines.sink.points import LINES_BY_SCHEMA
from schemas.codec import WireError, decode

log = logging.getLogger(__name__)

_sink: InfluxSink | None = None


def sink() -> InfluxSink:
    global _sink
    if _sink is None:
        _sink = InfluxSink(InfluxSettings())
    return _sink


@app.on_before_shutdown.connect
def close_sink(app, **kwargs) -> None:
    if _sink is not None:
        _sink.close()


sink_topics = app.topic(steps_topic.get_topic_name(), status_topic.get_topic_name(), trace_topic.get_topic_name(),
                        alerts_topic.get_topic_name(),
                        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


@app.agent(sink_topics, concurrency=1)
async def write_to_influxdb(stream):
    """Batches of at most ``sink_batch_messages`` (or what came within ``sink_batch_within_s``)."""
    manual = stream.noack()
    loop = asyncio.get_running_loop()
    async for events in manual.take_events(pipeline_settings.sink_batch_messages,
                                           within=pipeline_settings.sink_batch_within_s):
        points, sources = [], []
        for event in events:
            try:
                kind, record = decode(event.message.value)
                points.extend(LINES_BY_SCHEMA[kind](record))
                sources.append(event)
            except (WireError, KeyError, TypeError, ValueError) as exc:
                await send_dead_letter(event, getattr(exc, "reason", f"{type(exc).__name__}: {exc}"))
        if points:
            started = time.perf_counter()
            try:
                await loop.run_in_executor(None, sink().write, points)
            except PermanentWriteError as exc:
                for event in sources:
                    await send_dead_letter(event, str(exc))
            log.debug(kv("influx_batch", messages=len(events), points=len(points),
                         elapsed_s=round(time.perf_counter() - started, 3)))
        for event in events:
            await manual.ack(event)
