"""The least a Faust worker running our gait engines can cost: the floor under pipelines/.

One agent on the stations topic that decodes each message, starts an engine at each session
start and pushes every frame's samples into its station's engine: no validation beyond the
decode, no sensor checks, no outputs (steps, status, trace, alerts), no checkpoints, no InfluxDB.
``benchmarks/pipeline_load.py --capacity --floor`` drains a pre-filled topic with it, so the
framework's own share (Kafka consumer, Faust streams, acknowledgements, commits) can be told
apart from the pipeline's work. Not a product: it loses its engines at a restart.

Run by the benchmark as ``python -m faust -A benchmarks.faust_floor worker``.
"""

from __future__ import annotations

import os

import faust

from gaitstream.gait.engine import StreamingGaitEngine
from gaitstream.monitor.frames import engine_input
from gaitstream.pipelines.settings import PipelineSettings
from gaitstream.schemas.codec import decode
from gaitstream.settings import KafkaSettings, TopicSettings

_settings = PipelineSettings()
_topics = TopicSettings()

app = faust.App(
    _settings.app_id,
    broker=KafkaSettings().faust_broker,
    broker_credentials=KafkaSettings().faust_credentials(),
    datadir=str(_settings.datadir),
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    broker_commit_interval=_settings.commit_interval_s,
    topic_partitions=_topics.partitions,
)
stations = app.topic(_topics.stations, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
_engines: dict[str, tuple[dict, StreamingGaitEngine]] = {}
# Input taken as track_gait takes it (noack_take batches); GAITSTREAM_FLOOR_BATCHED=0: one event at a time.
_BATCHED = os.environ.get("GAITSTREAM_FLOOR_BATCHED", "1") == "1"


@app.task
async def tune_garbage_collector() -> None:
    """The pipeline worker's garbage-collector settings, so that the floor is not higher for want of them."""
    from gaitstream.pipelines.gctune import tune_garbage_collector as tune

    tune(_settings.gc_thresholds)


def _handle(value: bytes) -> None:
    kind, record = decode(value)
    station = record["station_id"]
    if kind == "session_event":
        if record["event"] == "start":
            _engines[station] = (
                record,
                StreamingGaitEngine(
                    sampling_rate_hz=record["sampling_rate_hz"],
                    trunk=record["trunk_present"],
                    axes=record["sensor_axes"],
                ),
            )
        return
    session, engine = _engines[station]
    data = engine_input(
        record,
        session_start_us=session["time_us"],
        sampling_rate_hz=engine.sampling_rate_hz,
        trunk=session["trunk_present"],
    )
    engine.push(data.time_s, data.acc_mps2, data.gyr_dps, data.trunk_acc_mps2, data.trunk_gyr_dps)
    engine.drain_trace()


if _BATCHED:

    @app.agent(stations)
    async def engines_only(stream):
        """As gaitstream.pipelines.gait.agents.track_gait takes its input: batches, acknowledged by hand."""
        manual = stream.noack()
        async for events in manual.noack_take(_settings.frame_batch_max, within=_settings.frame_batch_within_s):
            for event in events:
                _handle(event.message.value)
                await manual.ack(event)
else:

    @app.agent(stations)
    async def engines_only(stream):
        """The plainest Faust agent: one event at a time, acknowledged by the stream."""
        async for value in stream:
            _handle(value)
