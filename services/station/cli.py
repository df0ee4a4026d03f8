"""``gaitstream station`` (one treadmill) and ``gaitstream stations --count N`` (many, one process)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from gaitstream.logging import emit

# Demo and load mix: patterns cycle over the stations in this order.
DEMO_PATTERNS = (
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "compensated_left",
    "normal",
    "compensated_right",
    "trendelenburg_bilateral",
    "trendelenburg_left",
)


def _publisher():
    from gaitstream.services.station.publisher import StationPublisher, StationSettings
    from gaitstream.settings import KafkaSettings, TopicSettings

    # A station may only write its frames: the pipeline (or the operator) creates the topics.
    kafka, topics, settings = KafkaSettings(), TopicSettings(), StationSettings()
    return StationPublisher(kafka=kafka, topics=topics, settings=settings), settings


def _stop_flag() -> list[bool]:
    flag = [False]

    def handler(signum, frame):
        flag[0] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return flag


def station(
    station_id: Annotated[str, typer.Option(help="Station id (Kafka key)")] = "station-01",
    clinic_id: Annotated[str, typer.Option(help="Clinic id")] = "clinic-a",
    patient_id: Annotated[str, typer.Option(help="Pseudonymous patient id (never a name)")] = "p-0001",
    pattern: Annotated[str, typer.Option(help="Simulated gait pattern")] = "normal",
    replay: Annotated[Path | None, typer.Option(help="Replay this recording CSV instead of simulating")] = None,
    axes: Annotated[str, typer.Option(help="Sensor axes of the replayed recording")] = "x=forward,y=left,z=up",
    duration_s: Annotated[float, typer.Option(min=5.0)] = 120.0,
    sampling_rate_hz: Annotated[float, typer.Option(min=60.0, max=200.0)] = 100.0,
    trunk: Annotated[bool, typer.Option(help="Simulate a trunk sensor too")] = True,
    seed: int = 0,
    speed: Annotated[float, typer.Option(help="1 = real time, 0 = as fast as possible")] = 1.0,
    truth_out: Annotated[Path | None, typer.Option(help="Write the simulated truth JSON here")] = None,
    lsl: Annotated[
        str | None, typer.Option(help="Read a real sensor: the LSL stream with this name/type/source id")
    ] = None,
    lsl_prop: Annotated[str, typer.Option(help="What --lsl names: name, type or source_id")] = "name",
    lsl_channels: Annotated[str, typer.Option(help="Stream channels of acc x,y,z, gyr x,y,z")] = "0,1,2,3,4,5",
    acc_unit: Annotated[str, typer.Option(help="The stream's acceleration unit: mps2 or g")] = "mps2",
    gyr_unit: Annotated[str, typer.Option(help="The stream's angular rate unit: dps or rads")] = "dps",
) -> None:
    """Publish one treadmill session to Kafka: a real sensor over LSL (--lsl), a replayed CSV
    (--replay) or a simulated patient (with truth)."""
    import time

    from gaitstream.services.station.runner import StationRun, new_session, run_stations
    from gaitstream.services.station.sources import ReplaySource, SimulatedSource

    start_time_us = None
    stop = _stop_flag()
    if lsl is not None:
        from gaitstream.services.station.lsl_frames import ChannelMap
        from gaitstream.services.station.lsl_source import LslSource, LslStreamQuery

        start_s = time.time()
        start_time_us = round(start_s * 1e6)
        mapping = ChannelMap(
            channels=tuple(int(c) for c in lsl_channels.split(",")), acc_unit=acc_unit, gyr_unit=gyr_unit
        )
        source = LslSource(
            LslStreamQuery(lsl_prop, lsl),
            mapping=mapping,
            session_start_s=start_s,
            duration_s=duration_s,
            should_stop=lambda: stop[0],
        )
        speed = 0.0  # a live sensor is paced by itself
    elif replay is not None:
        source = ReplaySource(replay)
    else:
        from gaitstream.simulate import pattern_config

        source = SimulatedSource(
            pattern_config(pattern, trunk=trunk, duration_s=duration_s, sampling_rate_hz=sampling_rate_hz, seed=seed)
        )
    session = new_session(
        clinic_id=clinic_id,
        station_id=station_id,
        patient_id=patient_id,
        source=source,
        sensor_axes=axes,
        start_time_us=start_time_us,
    )
    publisher, settings = _publisher()
    run = StationRun(session=session, source=source)
    try:
        run_stations([run], publisher, frame_samples=settings.frame_samples, speed=speed, should_stop=lambda: stop[0])
    finally:
        publisher.close()
    emit(
        "station_done", station=station_id, session=session.session_id, frames=run.frames_sent, samples=run.samples_sent
    )
    if truth_out is not None and isinstance(source, SimulatedSource):
        truth_out.write_text(json.dumps({"session_id": session.session_id, **source.truth()}, indent=1))


def stations(
    count: Annotated[int, typer.Option(min=1, max=2000)] = 8,
    clinic_id: str = "clinic-a",
    duration_s: Annotated[float, typer.Option(min=5.0)] = 300.0,
    sampling_rate_hz: Annotated[float, typer.Option(min=60.0, max=200.0)] = 100.0,
    speed: float = 1.0,
    seed: int = 0,
) -> None:
    """Run ``count`` simulated stations in one process, patterns mixed (demos, load tests)."""
    from gaitstream.services.station.runner import StationRun, new_session, run_stations
    from gaitstream.services.station.sources import SimulatedSource
    from gaitstream.simulate import pattern_config

    runs = []
    for i in range(count):
        pattern = DEMO_PATTERNS[i % len(DEMO_PATTERNS)]
        source = SimulatedSource(
            pattern_config(
                pattern,
                duration_s=duration_s,
                sampling_rate_hz=sampling_rate_hz,
                seed=seed + i,
                cadence_spm=95.0 + (i * 7) % 25,
            )
        )
        runs.append(
            StationRun(
                session=new_session(
                    clinic_id=clinic_id, station_id=f"station-{i + 1:02d}", patient_id=f"p-{1000 + i}", source=source
                ),
                source=source,
            )
        )
    publisher, settings = _publisher()
    stop = _stop_flag()
    try:
        run_stations(runs, publisher, frame_samples=settings.frame_samples, speed=speed, should_stop=lambda: stop[0])
    finally:
        publisher.close()
    emit("stations_done", count=count, frames=sum(r.frames_sent for r in runs))


def station_check(
    station_id: Annotated[str | None, typer.Option(help="Read this station's messages from the stations topic")] = None,
    capture: Annotated[
        Path | None, typer.Option(help="Or read a capture file (4-byte big-endian length + message)")
    ] = None,
    max_messages: Annotated[int, typer.Option(min=1)] = 20_000,
) -> None:
    """Check a station's messages against the wire contract, rule by rule (for vendors who
    implement it themselves): schema, session, clock unit, monotonic clock, sequence, frame sizes,
    acceleration and angular-rate units, axes. Exit 1 when a rule fails."""
    import struct

    from gaitstream.schemas.codec import WireError, decode, peek
    from gaitstream.services.station.conformance import check_messages

    if (station_id is None) == (capture is None):
        emit("station_check_refused", reason="give --station-id or --capture")
        raise typer.Exit(2)
    raw: list[bytes] = []
    if capture is not None:
        data = capture.read_bytes()
        offset = 0
        while offset + 4 <= len(data) and len(raw) < max_messages:
            (length,) = struct.unpack_from(">I", data, offset)
            raw.append(data[offset + 4 : offset + 4 + length])
            offset += 4 + length
    else:
        raw = _read_station(station_id, max_messages)
    messages = []
    for message in raw:
        try:
            kind, version = peek(message)
            messages.append((kind, version, decode(message)[1], None))
        except WireError as exc:
            messages.append(("?", 0, None, str(exc)))
    results = check_messages(messages)
    for result in results:
        emit("station_check", rule=result.rule, ok=result.ok, detail=result.detail)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _read_station(station_id: str, max_messages: int) -> list[bytes]:
    """The station's messages on the stations topic, from the beginning (as the operator)."""
    from kafka import KafkaConsumer, TopicPartition

    from gaitstream.settings import KafkaSettings, TopicSettings

    topic = TopicSettings().stations
    consumer = KafkaConsumer(**KafkaSettings().client_config(), group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        out: list[bytes] = []
        while len(out) < max_messages and (batch := consumer.poll(timeout_ms=3000)):
            out += [r.value for rs in batch.values() for r in rs if r.key == station_id.encode()]
        return out[:max_messages]
    finally:
        consumer.close()


def register(app: typer.Typer) -> None:
    app.command()(station)
    app.command()(stations)
    app.command("station-check")(station_check)
