"""Latency of the patient feedback screen, measured in a real browser.

N simulated stations (default 50) stream in real time with a continuous-feedback plan through the
broker into one pipeline worker; the feedback service (`gaitstream feedback serve`, its own
process and Kafka user) feeds the screens; Debian's chromium opens the screens of K of them
(default 4: every screen is its own TV in a clinic, and 50 tabs would take the CPU the pipeline is
measured on). Each page records when it rendered what (``window.gaitstreamScreen.rendered``).

Printed, per kind, p50 / p95 / p99 / max over every rendering after the first 20 s (calibration):

- ``step``: from the step's ending IC to its bar on screen, beyond the engine's own detection
  delay (the engine needs samples after an IC to confirm it: the data time of the sample that
  completes the step comes from the same samples run one by one through the pipeline's
  per-station code in this process; the station's framing counts as latency). Target p99 <= 0.25 s.
- ``live``: from an obliquity sample (its data time) to the indicator showing it. Target p99 <= 0.2 s.
- the live indicator's update rate per page (target >= 20 updates/s): the display frames in which it
  changed, and the values it was given (values that arrive together are drawn in one frame);
- each latency split where the worker produced the record (Kafka's CreateTime): station + worker,
  and feedback service + browser;
- the CPU each part of the system used meanwhile (cores, on average) and how busy the machine was.

Data time equals wall time here: the stations send each frame when its last sample exists.

Usage: ``.venv/bin/python benchmarks/feedback_latency.py [--stations 50] [--pages 4] [--duration-s 90]``
(starts the local stack if needed; stops what it started).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RATE_HZ = 100.0
WARM_UP_S = 20.0
# What used the CPU while latency was measured: the first group whose text a command line holds.
CPU_GROUPS = {
    "broker": ("kafka.Kafka",),
    "influxdb": ("influxd",),
    "worker": ("pipelines worker",),
    "feedback_service": ("feedback serve",),
    "stations": ("--role stations",),
    "chromium": ("chromium",),
    "benchmark": ("feedback_latency.py", "playwright"),
}
PATTERNS = ("trendelenburg_left", "normal", "compensated_right", "trendelenburg_right")


def _config(i: int, duration_s: float):
    from gaitstream.simulate import pattern_config

    return pattern_config(
        PATTERNS[i % len(PATTERNS)], duration_s=duration_s, seed=100 + i, cadence_spm=98 + (i % 9) * 2
    )


def run_stations_role(args) -> None:
    """Child process: the stations, paced in real time; their sessions written to ``args.sessions``."""
    from gaitstream.services.station.publisher import StationPublisher, StationSettings
    from gaitstream.services.station.runner import StationRun, new_session, run_stations
    from gaitstream.services.station.sources import PrerenderedSource
    from gaitstream.settings import KafkaSettings, TopicSettings

    sources = [PrerenderedSource.from_config(_config(i, args.duration_s)) for i in range(args.count)]
    publisher = StationPublisher(
        kafka=KafkaSettings(),
        topics=TopicSettings(prefix=args.prefix),
        settings=StationSettings(max_unacked_frames=5000),
    )
    start_us = time.time_ns() // 1000
    runs = [
        StationRun(
            session=new_session(
                clinic_id="clinic-latency",
                station_id=f"{args.prefix}-{i:03d}",
                patient_id=f"p-{i:04d}",
                source=sources[i],
                start_time_us=start_us,
                feedback_plan=f"continuous:{args.duration_s + 60:.0f}s",
            ),
            source=sources[i],
        )
        for i in range(args.count)
    ]
    Path(args.sessions).write_text(
        json.dumps([{"station_id": r.session.station_id, "session_id": r.session.session_id} for r in runs])
    )
    print(f"SESSIONS_START_US={start_us}", flush=True)
    try:
        run_stations(
            runs,
            publisher,
            frame_samples=args.frame_samples,
            feedback_frame_samples=args.frame_samples,
            speed=1.0,
            origin_unix_s=start_us / 1e6,
        )
    finally:
        publisher.close()


def _emit_offsets_us(i: int, duration_s: float) -> dict[int, int]:
    """Per step index: the data time (from the session's start) at which the engine detects it,
    fed sample by sample (the engine's output does not depend on how the stream is cut), through
    the pipeline's per-station code: what remains after it is the station's framing, the transport
    and the display. Computed before the stations start: it takes CPU from what is measured."""
    start_us = time.time_ns() // 1000
    return {key: at_us - start_us for key, at_us in _emit_times_us(i, duration_s, "s", "st", start_us).items()}


def _emit_times_us(i: int, duration_s: float, session_id: str, station_id: str, start_us: int) -> dict[int, int]:
    from gaitstream.monitor.frames import engine_input
    from gaitstream.monitor.station import StationState
    from gaitstream.schemas.codec import decode, encode
    from gaitstream.services.station.frames import SessionInfo, frame_record
    from gaitstream.services.station.sources import PrerenderedSource

    source = PrerenderedSource.from_config(_config(i, duration_s))
    session = SessionInfo(
        clinic_id="clinic-latency",
        station_id=station_id,
        session_id=session_id,
        patient_id=f"p-{i:04d}",
        sampling_rate_hz=RATE_HZ,
        start_time_us=start_us,
        trunk_present=source.trunk_present,
    )
    _, start = decode(encode("session_event", session.event("start", start_us)))
    state = StationState.start(start, now_us=start_us)
    out: dict[int, int] = {}
    for sequence, (first_s, block) in enumerate(source.frames(1)):
        _, frame = decode(
            encode("imu_frame", frame_record(session, sequence=sequence, first_sample_s=first_s, block=block))
        )
        data = engine_input(frame, session_start_us=start_us, sampling_rate_hz=RATE_HZ, trunk=source.trunk_present)
        for step in state.push(data):
            out[state.step_record(step)["step_index"]] = start_us + round(
                (first_s + len(block["time_s"]) / RATE_HZ) * 1e6
            )
    return out


class TopicClock:
    """When the worker produced each trace sample and step of the measured stations (the Kafka
    records' CreateTime): splits the latency into station + worker and service + browser.

    Read once the stations have stopped, from the run's own topics (kept by the broker): decoding
    the measured stations' partitions while they streamed took this process's CPU during the
    measured interval from 0.00-0.02 to 0.09-0.11 of a core, taken from the system it measures."""

    def __init__(self, kafka, topics, stations: set[str], frame_samples: int) -> None:
        self.kafka, self.topics, self.stations, self.frame_samples = kafka, topics, stations, frame_samples
        self.produced_ms: dict[tuple, int] = {}
        # per frame of the measured stations: its send (CreateTime) after its last sample, in s
        self.station_send_s: list[tuple[int, float]] = []
        # per trace record: from the send of the frame holding its last sample to the trace's own
        # CreateTime (broker, worker, its batching and producer), in s
        self.worker_hop_s: list[tuple[int, float]] = []
        self._frames: dict[str, dict[int, int]] = {}  # station -> frame's first sample us -> send ms

    def read(self) -> None:
        """Every record of the measured stations' partitions, up to the topics' ends now."""
        from kafka import KafkaConsumer, TopicPartition

        from gaitstream.pipelines.produce import default_partition

        # Only the partitions of the measured stations (a station's outputs share its partition).
        consumer = KafkaConsumer(
            **self.kafka.client_config(), group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
        )
        partitions = list(range(self.topics.partitions))
        mine = sorted({default_partition(station.encode(), partitions) for station in self.stations})
        try:
            # frames first: a trace record's hop needs the send of the frame it came from
            for topics in ((self.topics.stations,), (self.topics.trace, self.topics.steps)):
                assigned = [TopicPartition(t, p) for t in topics for p in mine]
                consumer.assign(assigned)
                consumer.seek_to_beginning(*assigned)
                ends = consumer.end_offsets(assigned)
                while any(consumer.position(tp) < ends[tp] for tp in assigned):
                    for records in consumer.poll(timeout_ms=1000).values():
                        for record in records:
                            self._take(record)
        finally:
            consumer.close()

    def _take(self, record) -> None:
        from gaitstream.schemas.codec import decode

        if record.key is None or record.key.decode() not in self.stations:
            return
        kind, value = decode(record.value)
        station = record.key.decode()
        if kind == "obliquity_trace":
            if value["time_offsets_us"]:
                self._hop(station, value["first_time_us"] + max(value["time_offsets_us"]), record)
            for offset in value["time_offsets_us"]:
                self.produced_ms[("live", station, value["first_time_us"] + offset)] = record.timestamp
        elif kind == "step_metrics":
            self.produced_ms[("step", station, value["step_index"])] = record.timestamp
        elif kind == "imu_frame":
            self._frames.setdefault(station, {})[value["first_sample_time_us"]] = record.timestamp
            last_us = value["first_sample_time_us"] + (self.frame_samples - 1) * 1e6 / RATE_HZ
            self.station_send_s.append((record.timestamp, (record.timestamp * 1000 - last_us) / 1e6))

    def _hop(self, station: str, last_us: int, record) -> None:
        frames = self._frames.get(station)
        if not frames:
            return
        # frames start every frame_samples samples from the session's first: the one holding it
        step_us = round(self.frame_samples * 1e6 / RATE_HZ)
        origin_us = min(frames)
        sent_ms = frames.get(last_us - (last_us - origin_us) % step_us)
        if sent_ms is not None:
            self.worker_hop_s.append((record.timestamp, (record.timestamp - sent_ms) / 1e3))


def _quantiles(values: list[float]) -> str:
    if not values:
        return "n=0"
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return f"n={len(values)} p50={q(0.5):.3f} p95={q(0.95):.3f} p99={q(0.99):.3f} max={ordered[-1]:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--duration-s", type=float, default=90.0)
    parser.add_argument(
        "--frame-samples",
        type=int,
        default=None,
        help="samples per station frame (default: what a station sends for a session with a screen, "
        "GAITSTREAM_STATION_FEEDBACK_FRAME_SAMPLES: 10 = 0.1 s)",
    )
    parser.add_argument("--workers", type=int, default=1, help="pipeline workers (one consumer group)")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sessions", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.frame_samples is None:
        from gaitstream.services.station.publisher import StationSettings

        args.frame_samples = StationSettings().feedback_frame_samples
    if args.role == "stations":
        run_stations_role(args)
        return 0

    from playwright.sync_api import sync_playwright

    from benchmarks import proc_cpu
    from gaitstream.processes import stop_processes
    from gaitstream.services.feedback.tokens import make_token
    from gaitstream.settings import InfluxSettings
    from gaitstream.stack import Stack
    from tests.e2e.harness import PipelineRun
    from tests.feedback.browser import free_port
    from tests.roles import role_env

    console = Console(stderr=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack(console=console)
    report = stack.up()
    env = stack.env()
    influx = InfluxSettings(
        url=env["GAITSTREAM_INFLUX_URL"],
        token=env["GAITSTREAM_INFLUX_TOKEN"],
        org=env["GAITSTREAM_INFLUX_ORG"],
        bucket=env["GAITSTREAM_INFLUX_BUCKET"],
        database=env["GAITSTREAM_INFLUX_DATABASE"],
    )
    tmp = Path(tempfile.mkdtemp(prefix="gaitstream-feedback-latency-"))
    pipeline = PipelineRun(kafka=stack.kafka.client_settings("admin"), influx=influx, tmp=tmp)
    secret = os.urandom(32)
    port = free_port()
    processes = []
    samples: dict[str, list[float]] = {
        name: [] for name in ("step", "live", "step_worker", "step_service", "live_worker", "live_service")
    }
    skipped: list[int] | None = None
    skipped_before: list[int] | None = None
    rates: list[tuple[float, float]] = []  # per page and poll: (values shown, frames drawn) per second
    try:
        for w in range(args.workers):
            pipeline.start_worker(chr(ord("a") + w))
        service_env = {
            **os.environ,
            **role_env("feedback", pipeline.prefix),
            "GAITSTREAM_TOPIC_PREFIX": pipeline.prefix,
            "GAITSTREAM_FEEDBACK_SECRET": secret.hex(),
            "GAITSTREAM_FEEDBACK_PORT": str(port),
            "GAITSTREAM_FEEDBACK_LOOKBACK_S": "60",
        }
        with (tmp / "feedback.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gaitstream", "feedback", "serve"],
                    env=service_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        emit_offsets = {i: _emit_offsets_us(i, args.duration_s) for i in range(min(args.pages, args.stations))}
        sessions_file = tmp / "sessions.json"
        stations = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--role",
                "stations",
                "--prefix",
                pipeline.prefix,
                "--count",
                str(args.stations),
                "--duration-s",
                str(args.duration_s),
                "--sessions",
                str(sessions_file),
                "--frame-samples",
                str(args.frame_samples),
            ],
            env={**os.environ, **role_env("simulator", pipeline.prefix)},
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(stations)
        start_us = int(stations.stdout.readline().strip().split("=")[1])
        sessions = json.loads(sessions_file.read_text())
        console.print(
            f"feedback_latency stations={args.stations} pages={args.pages} duration_s={args.duration_s:.0f} "
            f"frame_samples={args.frame_samples} workers={args.workers}"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            pages = []
            for session in sessions[: args.pages]:
                token = make_token(secret, session["station_id"], expires_s=int(time.time()) + 3600)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(f"http://127.0.0.1:{port}/screen/{session['station_id']}?token={token}")
                pages.append(page)
            emit = {i: {key: start_us + dt for key, dt in emit_offsets[i].items()} for i in emit_offsets}
            measured_from_ms = start_us / 1000 + WARM_UP_S * 1000
            deadline = time.monotonic() + args.duration_s + 5
            cpu_from = cpu_to = None
            shown: list[tuple[int, str, int, int, int]] = []  # (page, kind, key, from: data time us, shown ms)
            while time.monotonic() < deadline:
                time.sleep(5.0)
                # CPU from the end of the warm-up while the stations still send (an exited
                # process's time is not in /proc any more)
                if cpu_from is None and time.time() * 1000 >= measured_from_ms:
                    cpu_from = (time.monotonic(), proc_cpu.snapshot(CPU_GROUPS))
                    skipped_before = [page.evaluate("window.gaitstreamScreen.skipped") for page in pages]
                elif cpu_to is None and time.time() >= start_us / 1e6 + args.duration_s - 6:
                    cpu_to = (time.monotonic(), proc_cpu.snapshot(CPU_GROUPS))
                for i, page in enumerate(pages):
                    live_ms = []
                    rendered = page.evaluate("window.gaitstreamScreen.rendered.splice(0)")
                    for kind, key, data_time_us, at_ms, _ in rendered:
                        if at_ms < measured_from_ms:
                            continue
                        if kind == "live":
                            samples["live"].append((at_ms * 1000 - data_time_us) / 1e6)
                            live_ms.append(at_ms)
                            shown.append((i, kind, key, data_time_us, at_ms))
                        elif kind == "step" and key in emit[i]:
                            samples["step"].append((at_ms * 1000 - emit[i][key]) / 1e6)
                            shown.append((i, kind, key, emit[i][key], at_ms))
                    if len(live_ms) > 1:
                        # values that arrived together are drawn in one display frame (same frame
                        # time): what the patient sees change is the frames
                        span_s = max(1e-3, (max(live_ms) - min(live_ms)) / 1000)
                        rates.append((len(live_ms) / span_s, len(set(live_ms)) / span_s))
                console.print(
                    f"  t={time.time() - start_us / 1e6:4.0f}s step {_quantiles(samples['step'])}  "
                    f"live {_quantiles(samples['live'])}"
                )
            # live samples the pages' players skipped (more than two due at once): in the warm-up
            # (the trace an engine releases at once when its calibration completes) and after it
            skipped = [page.evaluate("window.gaitstreamScreen.skipped") for page in pages]
            browser.close()
        clock = TopicClock(
            stack.kafka.client_settings("admin"),
            pipeline.topics,
            {s["station_id"] for s in sessions[: args.pages]},
            args.frame_samples,
        )
        clock.read()
        for i, kind, key, from_us, at_ms in shown:
            produced_ms = clock.produced_ms.get((kind, sessions[i]["station_id"], key))
            if produced_ms is not None:
                samples[f"{kind}_worker"].append((produced_ms * 1000 - from_us) / 1e6)
                samples[f"{kind}_service"].append((at_ms - produced_ms) / 1e3)
        station_sends = list(clock.station_send_s)
        hops = list(clock.worker_hop_s)
    finally:
        stop_processes(processes, grace_s=10)
        pipeline.stop()
        stack.stop(report.started)
    console.print(f"feedback_latency step_beyond_engine_s {_quantiles(samples['step'])}")
    console.print(f"feedback_latency live_sample_to_screen_s {_quantiles(samples['live'])}")
    for part in ("step_worker", "step_service", "live_worker", "live_service"):
        console.print(f"feedback_latency {part}_s {_quantiles(samples[part])}")
    # The simulated stations share this machine (a clinic's each run on their own PC): how late
    # they sent their frames after the frame's last sample existed, within the station + worker part.
    sends = [late for at_ms, late in station_sends if at_ms >= measured_from_ms]
    console.print(f"feedback_latency station_send_late_s {_quantiles(sends)}")
    hop = [late for at_ms, late in hops if at_ms >= measured_from_ms]
    console.print(f"feedback_latency frame_sent_to_trace_produced_s {_quantiles(hop)}")
    if cpu_from is not None and cpu_to is not None:
        busy, cores = proc_cpu.shares(cpu_from[1], cpu_to[1], cpu_to[0] - cpu_from[0])
        used = " ".join(f"{name}={value:.2f}" for name, value in sorted(cores.items(), key=lambda kv: -kv[1]))
        console.print(f"feedback_latency cpu_cores machine_busy={busy:.0%} of {os.cpu_count()} cores: {used}")
    if skipped is not None and skipped_before is not None:
        after = [total - before for total, before in zip(skipped, skipped_before, strict=True)]
        console.print(f"feedback_latency live_skipped per_page warm_up={skipped_before} measured={after}")
    if rates:
        values, frames = (sorted(rate[i] for rate in rates) for i in (0, 1))
        console.print(
            f"feedback_latency live_updates_per_s frames_drawn min={frames[0]:.1f} "
            f"median={statistics.median(frames):.1f} values_shown min={values[0]:.1f} "
            f"median={statistics.median(values):.1f}"
        )
    return 0


def _wait_healthy(url: str, timeout_s: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the feedback service did not become healthy at {url}")


if __name__ == "__main__":
    sys.exit(main())
