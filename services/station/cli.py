"""``gaitstream station`` (one treadmill session: simulated, replayed or a live LSL sensor),
``gaitstream station run|session|status`` (a station that runs for months), ``gaitstream station
check`` (the wire contract, rule by rule) and ``gaitstream stations --count N`` (many, one process)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from gaitstream.clinic_api.cli_support import KeyOpt, UrlOpt
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


def _plan(feedback: str | None, target_deg: float | None) -> str | None:
    """The feedback plan in its checked text form; exit 2 naming the block that is wrong."""
    if not feedback:
        return None
    from gaitstream.services.feedback.schedule import parse_plan

    try:
        return parse_plan(feedback, **({} if target_deg is None else {"target_deg": target_deg})).to_text()
    except ValueError as exc:
        emit("station_refused", reason=str(exc))
        raise typer.Exit(2) from exc


def _stop_flag() -> list[bool]:
    flag = [False]

    def handler(signum, frame):
        flag[0] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return flag


def station(
    ctx: typer.Context,
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
    source: Annotated[
        str | None, typer.Option(help="simulated, replay or lsl (default: lsl with --lsl, replay with --replay)")
    ] = None,
    lsl: Annotated[
        str | None, typer.Option(help="Read a real sensor: the LSL stream with this name/type/source id")
    ] = None,
    lsl_trunk: Annotated[
        str | None, typer.Option(help="And a trunk sensor: the LSL stream with this name/type/source id")
    ] = None,
    lsl_prop: Annotated[str, typer.Option(help="What --lsl names: name, type or source_id")] = "name",
    lsl_channels: Annotated[str, typer.Option(help="Stream channels of acc x,y,z, gyr x,y,z")] = "0,1,2,3,4,5",
    acc_unit: Annotated[str, typer.Option(help="The stream's acceleration unit: mps2 or g")] = "mps2",
    gyr_unit: Annotated[str, typer.Option(help="The stream's angular rate unit: dps or rads")] = "dps",
    feedback: Annotated[
        str | None, typer.Option(help="The patient's screen: blocks, e.g. none:2m,faded:10m:from=1:to=0,none:2m")
    ] = None,
    target_pelvic_drop_deg: Annotated[float | None, typer.Option(min=-5.0, max=15.0)] = None,
) -> None:
    """Publish one treadmill session to Kafka: a real sensor over LSL (--source lsl --lsl NAME,
    optionally --lsl-trunk NAME), a replayed CSV (--replay) or a simulated patient (with truth).
    A station that runs for months: ``gaitstream station run --config station.toml``."""
    import time

    from gaitstream.services.station.runner import StationRun, new_session, run_stations
    from gaitstream.services.station.sources import ReplaySource, SimulatedSource

    if ctx.invoked_subcommand is not None:
        return
    plan = _plan(feedback, target_pelvic_drop_deg)
    source_kind = source or ("lsl" if lsl is not None else "replay" if replay is not None else "simulated")
    if source_kind not in ("simulated", "replay", "lsl") or (source_kind == "replay" and replay is None):
        emit("station_refused", reason="--source must be simulated, replay (with --replay FILE) or lsl")
        raise typer.Exit(2)
    start_time_us = None
    stop = _stop_flag()
    if source_kind == "lsl":
        from gaitstream.services.station.lsl_frames import ChannelMap
        from gaitstream.services.station.lsl_source import LslSource, LslStreamQuery

        start_s = time.time()
        start_time_us = round(start_s * 1e6)
        mapping = ChannelMap(
            channels=tuple(int(c) for c in lsl_channels.split(",")), acc_unit=acc_unit, gyr_unit=gyr_unit
        )
        source = LslSource(
            LslStreamQuery(lsl_prop, lsl or "gaitstream-pelvis"),
            mapping=mapping,
            trunk_query=None if lsl_trunk is None else LslStreamQuery(lsl_prop, lsl_trunk),
            trunk_mapping=mapping,
            session_start_s=start_s,
            duration_s=duration_s,
            should_stop=lambda: stop[0],
        )
        speed = 0.0  # a live sensor is paced by itself
    elif source_kind == "replay":
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
        feedback_plan=plan,
        target_pelvic_drop_deg=target_pelvic_drop_deg,
    )
    publisher, settings = _publisher()
    run = StationRun(session=session, source=source)
    try:
        run_stations(
            [run],
            publisher,
            frame_samples=settings.frame_samples,
            feedback_frame_samples=settings.feedback_frame_samples,
            speed=speed,
            should_stop=lambda: stop[0],
        )
    finally:
        publisher.close()
        if source_kind == "lsl":
            source.close()
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
    feedback: Annotated[str | None, typer.Option(help="Every station's screen plan (see `station --help`)")] = None,
) -> None:
    """Run ``count`` simulated stations in one process, patterns mixed (demos, load tests)."""
    plan = _plan(feedback, None)
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
                    clinic_id=clinic_id,
                    station_id=f"station-{i + 1:02d}",
                    patient_id=f"p-{1000 + i}",
                    source=source,
                    feedback_plan=plan,
                ),
                source=source,
            )
        )
    publisher, settings = _publisher()
    stop = _stop_flag()
    try:
        run_stations(
            runs,
            publisher,
            frame_samples=settings.frame_samples,
            feedback_frame_samples=settings.feedback_frame_samples,
            speed=speed,
            should_stop=lambda: stop[0],
        )
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


# On stop, how long `station run` waits for the broker to take its spool before exiting.
STOP_DRAIN_S = 10.0


def station_run(
    config: Annotated[Path, typer.Option(help="The station's configuration (TOML; deploy/station/station.toml)")],
) -> None:
    """Run a treadmill station for months: sensors over LSL (waited for, reconnected), frames while
    the operator has a session open, everything spooled to disk first, a status line. Exit 2 for a
    configuration or credential problem, 3 when the broker refuses the station."""
    import os
    import threading

    from gaitstream.exceptions import GaitstreamError
    from gaitstream.services.station.config import load_station_config, read_env_file
    from gaitstream.services.station.daemon import (
        EXIT_CONFIG,
        EXIT_REFUSED,
        ControlServer,
        StationDaemon,
        StationRefused,
        status_loop,
    )
    from gaitstream.services.station.publisher import StationPublisher, StationSettings
    from gaitstream.settings import KafkaSettings, TopicSettings, load_secret_files

    try:
        conf = load_station_config(config)
        if conf.env_file is not None:
            for name, value in read_env_file(conf.env_file).items():
                os.environ.setdefault(name, value)
        load_secret_files()
        limits = {
            name: value
            for name, value in (("spool_max_bytes", conf.spool_max_bytes), ("spool_max_age_s", conf.spool_max_age_s))
            if value is not None
        }
        conf.state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        settings = StationSettings(spool_dir=conf.spool_dir, **limits)
        publisher = StationPublisher(kafka=KafkaSettings(), topics=TopicSettings(), settings=settings)
        publisher.key_check(conf.station_id)
    except (GaitstreamError, ValueError, OSError) as exc:
        emit("station_refused", reason=str(exc))
        raise typer.Exit(EXIT_CONFIG) from exc
    stop = _stop_flag()
    daemon = StationDaemon(
        conf, publisher, frame_samples=settings.frame_samples, feedback_frame_samples=settings.feedback_frame_samples
    )
    server = ControlServer(conf.control_socket, daemon.command)
    threading.Thread(target=server.serve_forever, name="station-control", daemon=True).start()
    status_stop = threading.Event()
    threading.Thread(
        target=status_loop, args=(daemon, conf.status_interval_s, status_stop), name="station-status", daemon=True
    ).start()
    emit("station_running", station=conf.station_id, clinic=conf.clinic_id, control=conf.control_socket)
    code = 0
    try:
        daemon.run(lambda: stop[0])
    except StationRefused as exc:
        emit("station_refused", reason=str(exc), then="exit; the spool is kept")
        code = EXIT_REFUSED
    except (GaitstreamError, ValueError) as exc:
        emit("station_refused", reason=str(exc))
        code = EXIT_CONFIG
    finally:
        status_stop.set()
        server.shutdown()
        server.server_close()
        conf.control_socket.unlink(missing_ok=True)
        # A short wait for the broker (systemd stops a service within 90 s); the spool keeps the rest.
        publisher.close(drain_s=0.0 if code == EXIT_REFUSED else STOP_DRAIN_S)
    emit("station_stopped", station=conf.station_id, code=code)
    if code:
        raise typer.Exit(code)


def _control(config: Path, request: dict) -> dict:
    from gaitstream.exceptions import GaitstreamError
    from gaitstream.services.station.config import load_station_config
    from gaitstream.services.station.daemon import send_command

    try:
        conf = load_station_config(config)
        reply = send_command(conf.control_socket, request)
    except GaitstreamError as exc:
        emit("station_command_refused", reason=str(exc))
        raise typer.Exit(2) from exc
    except OSError as exc:
        emit("station_command_refused", reason=f"the station is not running ({exc.strerror or exc})")
        raise typer.Exit(1) from exc
    sys.stdout.write(json.dumps(reply) + "\n")
    if not reply.get("ok"):
        raise typer.Exit(1)
    return reply


def session_start(
    config: Annotated[Path, typer.Option(help="The station's configuration (TOML)")],
    patient_id: Annotated[str, typer.Option(help="Pseudonymous patient id (never a name)")],
    pelvic_drop_threshold_deg: Annotated[float | None, typer.Option(min=0.5, max=30.0)] = None,
    trunk_lean_threshold_deg: Annotated[float | None, typer.Option(min=0.5, max=30.0)] = None,
    min_steps_per_side: Annotated[int | None, typer.Option(min=1, max=1000)] = None,
    feedback: Annotated[
        str | None,
        typer.Option(help="The patient's screen: blocks, e.g. none:2m,faded:10m:from=1:to=0,none:2m"),
    ] = None,
    target_pelvic_drop_deg: Annotated[
        float | None, typer.Option(min=-5.0, max=15.0, help="The screen's target (band: target ± tolerance)")
    ] = None,
    from_programme: Annotated[
        bool,
        typer.Option(
            "--from-programme",
            help="Take the screen's plan and target from the patient's programme (the alerts API, the station's "
            "clinic, your key); --feedback or --target-pelvic-drop-deg given here win",
        ),
    ] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Open a session on the running station (the treadmill operator); an open one is stopped first."""
    if from_programme:
        feedback, target_pelvic_drop_deg = _screen_from_programme(
            config, patient_id, feedback, target_pelvic_drop_deg, url, api_key
        )
    _control(
        config,
        {
            "command": "start",
            "patient_id": patient_id,
            "pelvic_drop_threshold_deg": pelvic_drop_threshold_deg,
            "trunk_lean_threshold_deg": trunk_lean_threshold_deg,
            "min_steps_per_side": min_steps_per_side,
            "feedback_plan": feedback,
            "target_pelvic_drop_deg": target_pelvic_drop_deg,
        },
    )


def _screen_from_programme(
    config: Path, patient_id: str, feedback: str | None, target_deg: float | None, url: str | None, key: str | None
) -> tuple[str | None, float | None]:
    """The plan and target of the patient's current programme (options given win); no programme,
    or the API refusing: exit 2 with the reason, no session started."""
    from gaitstream.clinic_api.cli_support import connect as _client
    from gaitstream.clinic_api.client import ApiError
    from gaitstream.exceptions import GaitstreamError
    from gaitstream.services.station.config import load_station_config
    from gaitstream.services.station.programme_plan import screen_from_programme

    try:
        clinic = load_station_config(config).clinic_id
        with _client(url, key) as client:
            programme = client.programme(clinic, patient_id)
    except GaitstreamError as exc:
        emit("station_command_refused", reason=str(exc))
        raise typer.Exit(2) from exc
    except ApiError as exc:
        reason = f"no programme for patient {patient_id} in clinic {clinic}" if exc.status == 404 else str(exc)
        emit("station_command_refused", reason=reason)
        raise typer.Exit(2) from exc
    screen = screen_from_programme(programme, feedback_plan=feedback, target_pelvic_drop_deg=target_deg)
    emit(
        "session_screen_from_programme",
        patient=patient_id,
        feedback_plan=screen.feedback_plan or "none",
        plan_from=screen.plan_source,
        target_pelvic_drop_deg=screen.target_pelvic_drop_deg,
        target_from=screen.target_source,
    )
    return screen.feedback_plan, screen.target_pelvic_drop_deg


def session_stop(config: Annotated[Path, typer.Option(help="The station's configuration (TOML)")]) -> None:
    """Stop the running station's session."""
    _control(config, {"command": "stop"})


def station_status(config: Annotated[Path, typer.Option(help="The station's configuration (TOML)")]) -> None:
    """The running station's status: sensors, broker or spool, session."""
    _control(config, {"command": "status"})


def register(app: typer.Typer) -> None:
    station_app = typer.Typer(
        help="One treadmill station: without a command, one session (the options below); `station run` for "
        "a station that runs for months, `session start|stop` and `status` to operate it, `check` for the contract."
    )
    station_app.callback(invoke_without_command=True)(station)
    station_app.command("run")(station_run)
    station_app.command("status")(station_status)
    station_app.command("check")(station_check)
    session_app = typer.Typer(help="The treadmill operator's session on a running station.")
    session_app.command("start")(session_start)
    session_app.command("stop")(session_stop)
    station_app.add_typer(session_app, name="session")
    app.add_typer(station_app, name="station")
    app.command()(stations)
