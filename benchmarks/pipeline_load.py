"""Load benchmark of the live pipeline on this machine (Kafka, InfluxDB, worker and stations share it).

For each station count N: N simulated stations at 100 Hz (frames of 10 samples, real-time
pacing, pre-rendered so the station process costs little) feed one pipeline worker for a fixed
time. Printed per N:

- samples/s offered and processed (committed offsets of the worker's group x frame length);
- consumer lag over time (frames behind the newest offset, as seconds of data);
- step-end -> InfluxDB-visible latency p50/p99 (a poller sees each new step; the step ends at
  its end IC, which the station produced at that wall-clock time);
- worker CPU per sample next to the gait engine alone on the same frames;
- worker memory (RSS growth per station).

Usage: ``.venv/bin/python benchmarks/pipeline_load.py --stations 50 200 --duration-s 60``
(starts the local stack if needed, then loads it for 45 s unreported so the broker's JVM is warm;
stops nothing it did not start).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FRAME_SAMPLES = 10  # default; --frame-samples changes it
RATE_HZ = 100.0
PATTERNS = (
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "compensated_left",
    "compensated_right",
    "trendelenburg_bilateral",
)
POLL_S = 0.1
# Simulated sessions stand 5 s, then the engine needs about 5 s of walking to calibrate.
CALIBRATION_S = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROFILE_OUT: Path | None = None  # --profile
WARM_UP_STATIONS, WARM_UP_S = 100, 45.0


def _sources(duration_s: float):
    from gaitstream.services.station.sources import PrerenderedSource
    from gaitstream.simulate import pattern_config

    return [
        PrerenderedSource.from_config(pattern_config(p, duration_s=duration_s, seed=i, cadence_spm=98 + 4 * i))
        for i, p in enumerate(PATTERNS)
    ]


def run_stations_role(args) -> None:
    """Child process: N paced stations from pre-rendered sessions."""
    from gaitstream.services.station.publisher import StationPublisher, StationSettings
    from gaitstream.services.station.runner import StationRun, new_session, run_stations
    from gaitstream.settings import KafkaSettings, TopicSettings

    sources = _sources(args.duration_s)
    # Connected first: the sessions' clocks start when the frames start to flow (a frame leaves
    # when its last sample exists, counted from the session's start).
    publisher = StationPublisher(
        kafka=KafkaSettings(),
        topics=TopicSettings(prefix=args.prefix),
        settings=StationSettings(max_unacked_frames=5000),
    )
    print(f"SESSIONS_START_US={time.time_ns() // 1000}", flush=True)
    runs = [
        StationRun(
            session=new_session(
                clinic_id=args.clinic,
                station_id=f"{args.prefix}-{i:04d}",
                patient_id=f"p-{i:05d}",
                source=sources[i % len(sources)],
            ),
            source=sources[i % len(sources)],
        )
        for i in range(args.count)
    ]
    try:
        run_stations(runs, publisher, frame_samples=FRAME_SAMPLES, speed=args.speed)
    finally:
        publisher.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _engine_us_per_sample(duration_s: float) -> float:
    """The gait engine alone on the same pre-rendered sessions, 10-sample frames, one core."""
    from gaitstream.gait.engine import StreamingGaitEngine

    total_s, samples = 0.0, 0
    for source in _sources(duration_s):
        c = source.columns
        import numpy as np

        acc = np.c_[c["acc_x"], c["acc_y"], c["acc_z"]]
        gyr = np.c_[c["gyr_x"], c["gyr_y"], c["gyr_z"]]
        tacc = np.c_[c["trunk_acc_x"], c["trunk_acc_y"], c["trunk_acc_z"]]
        tgyr = np.c_[c["trunk_gyr_x"], c["trunk_gyr_y"], c["trunk_gyr_z"]]
        engine = StreamingGaitEngine(sampling_rate_hz=RATE_HZ, trunk=True)
        started = time.process_time()
        for i in range(0, len(c["time_s"]), FRAME_SAMPLES):
            s = slice(i, i + FRAME_SAMPLES)
            engine.push(c["time_s"][s], acc[s], gyr[s], tacc[s], tgyr[s])
            engine.drain_trace()
        total_s += time.process_time() - started
        samples += len(c["time_s"])
    return total_s / samples * 1e6


class LatencyPoller(threading.Thread):
    """Sees each new step in InfluxDB and records (seen - step end)."""

    def __init__(self, env: dict[str, str], clinic: str, calibrated_from_us: float) -> None:
        super().__init__(daemon=True)
        self.env, self.clinic = env, clinic
        self.latencies_s: list[float] = []
        # Steps that start before this (standing + the engine's walking calibration) come out when
        # calibration completes, seconds late by design; they are also reported apart.
        self.calibrated_from_us = calibrated_from_us
        self.after_calibration_s: list[float] = []
        self.samples: list[tuple[str, float, float]] = []
        self.stop = threading.Event()
        self._seen: set[tuple[str, int]] = set()

    def run(self) -> None:
        since_ns = time.time_ns() - 5_000_000_000
        while not self.stop.is_set():
            q = (
                f"SELECT station, step_time_s FROM gait_step WHERE clinic = '{self.clinic}' "
                f"AND time > {since_ns - 3_000_000_000}"
            )
            try:
                resp = httpx.post(
                    f"{self.env['GAITSTREAM_INFLUX_URL']}/query",
                    timeout=5,
                    data={"db": self.env["GAITSTREAM_INFLUX_DATABASE"], "q": q, "epoch": "u"},
                    headers={"Authorization": f"Token {self.env['GAITSTREAM_INFLUX_TOKEN']}"},
                )
                seen_us = time.time_ns() / 1000
                series = resp.json()["results"][0].get("series", [])
            except (httpx.HTTPError, KeyError, ValueError):
                time.sleep(POLL_S)
                continue
            for t_us, station, step_time_s in series[0]["values"] if series else []:
                key = (station, t_us)
                if key not in self._seen:
                    self._seen.add(key)
                    latency_s = (seen_us - (t_us + step_time_s * 1e6)) / 1e6
                    self.latencies_s.append(latency_s)
                    if t_us >= self.calibrated_from_us:
                        self.after_calibration_s.append(latency_s)
                        self.samples.append((station, (t_us - self.calibrated_from_us) / 1e6, latency_s))
                    since_ns = max(since_ns, int(t_us * 1000))
            time.sleep(POLL_S)


def _group_progress(kafka, group: str, *topics: str) -> tuple[int, int]:
    """(sum of committed offsets, sum of end offsets) of a consumer group on these topics."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError, NotCoordinatorError

    admin = KafkaAdminClient(**kafka.client_config())
    consumer = KafkaConsumer(**kafka.client_config(), enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for topic in topics for p in (consumer.partitions_for_topic(topic) or [])]
        try:
            committed = admin.list_group_offsets({group: parts}).get(group, {})
        except (CoordinatorNotAvailableError, NotCoordinatorError, CoordinatorLoadInProgressError):
            committed = {}  # a new broker creates its offsets topic at the first group, then loads it: none yet
        ends = consumer.end_offsets(parts)
        done = sum(committed[tp].offset for tp in parts if tp in committed and committed[tp].offset >= 0)
        return done, sum(ends.values())
    finally:
        admin.close()
        consumer.close()


def _new_run(stack, kind: str):
    """A fresh topic prefix, consumer group and clinic for one run, its topics created."""
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import ensure_topics

    prefix = f"{kind}{uuid.uuid4().hex[:6]}"
    topics = TopicSettings(prefix=prefix)
    # Each process as its production user, with ACLs on this run's prefix: the workers as the
    # pipeline (its sink with a write-only InfluxDB token), the stations as the simulator fleet;
    # the benchmark itself reads as the operator.
    stack.kafka.ensure_roles(topics, app_id=prefix)
    common = {
        "PYTHONPATH": str(REPO),
        "GAITSTREAM_TOPIC_PREFIX": prefix,
        "GAITSTREAM_PIPELINE_APP_ID": prefix,
        "GAITSTREAM_PIPELINE_DATADIR": f"/tmp/{prefix}-faust",
    }
    env = {**os.environ, **stack.env("pipeline"), **common}
    env["STATIONS_ENV"] = json.dumps({**stack.env("simulator"), **common})
    env["READER_ENV"] = json.dumps(stack.env("admin"))
    kafka = stack.kafka.client_settings("admin")
    ensure_topics(kafka, topics)
    return prefix, f"bench-{prefix}", env, kafka, topics


def _role_env(env: dict[str, str], key: str) -> dict[str, str]:
    """The environment of the stations (``STATIONS_ENV``) or of the operator's reads (``READER_ENV``)."""
    return {**os.environ, **json.loads(env[key])}


def run_one(n: int, duration_s: float, stack, console: Console, workers: int = 1) -> dict:
    prefix, clinic, env, kafka, topics = _new_run(stack, "load")
    procs = []
    for k in range(workers):
        log = Path(f"/tmp/{prefix}-worker{k}.log")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gaitstream.pipelines", "worker", "--without-web", "-l", "warn"],
                cwd=REPO,
                env={**env, "GAITSTREAM_PIPELINE_DATADIR": f"/tmp/{prefix}-faust{k}"},
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
    time.sleep(12 + 4 * workers)  # worker start-up and rebalances
    rss0 = sum(_rss_mb(p.pid) for p in procs)
    cpu0 = sum(_cpu_s(p.pid) for p in procs)
    poller = LatencyPoller(_role_env(env, "READER_ENV"), clinic, calibrated_from_us=float("inf"))
    poller.start()
    stations = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--role",
            "stations",
            "--count",
            str(n),
            "--duration-s",
            str(duration_s),
            "--prefix",
            prefix,
            "--clinic",
            clinic,
            "--frame-samples",
            str(FRAME_SAMPLES),
        ],
        cwd=REPO,
        env=_role_env(env, "STATIONS_ENV"),
        stdout=subprocess.PIPE,
        text=True,
    )
    first_line = stations.stdout.readline()  # printed once the sessions are rendered, just before they start
    poller.calibrated_from_us = int(first_line.split("=")[1]) + CALIBRATION_S * 1e6
    started = time.monotonic()
    lag_s: list[tuple[float, float]] = []
    frames_per_s = n * RATE_HZ / FRAME_SAMPLES
    with console.status(f"{n} stations") as status:
        while stations.poll() is None or time.monotonic() - started < duration_s + 30:
            elapsed = time.monotonic() - started
            done, end = _group_progress(kafka, prefix, topics.stations)
            lag_s.append((elapsed, (end - done) / frames_per_s))
            status.update(f"{n} stations  t={elapsed:4.0f} s  lag={lag_s[-1][1]:5.1f} s of data")
            if stations.poll() is not None and end - done <= n * 3:  # drained (checkpoint remainder)
                break
            time.sleep(2.0)
    wall_s = time.monotonic() - started
    cpu_s = sum(_cpu_s(p.pid) for p in procs) - cpu0
    rss_mb = sum(_rss_mb(p.pid) for p in procs)
    poller.stop.set()
    from gaitstream.processes import stop_processes

    stop_processes(procs, grace_s=30)
    from gaitstream.topics import delete_topics_with_prefix

    delete_topics_with_prefix(kafka, prefix)
    samples = n * duration_s * RATE_HZ
    lats = sorted(poller.latencies_s)
    steady = [lag for t, lag in lag_s if t > 10]
    steady_lats = sorted(x for x in lats if x < 2.0)
    calibrated = sorted(poller.after_calibration_s)
    return {
        "stations": n,
        "workers": workers,
        "samples_offered_per_s": n * RATE_HZ,
        "samples_processed_per_s": samples / wall_s,
        "wall_s": wall_s,
        "lag_max_s": max(steady, default=float("nan")),
        "lag_end_s": lag_s[-1][1] if lag_s else float("nan"),
        "lag_series": lag_s,
        "latency_p50_s": statistics.median(lats) if lats else float("nan"),
        "latency_p99_s": lats[int(0.99 * (len(lats) - 1))] if lats else float("nan"),
        "steps_seen": len(lats),
        "late_steps_pct": 100 * (len(lats) - len(steady_lats)) / max(len(lats), 1),
        "latency_samples": poller.samples,
        "latency_p99_calibrated_s": calibrated[int(0.99 * (len(calibrated) - 1))] if calibrated else float("nan"),
        "worker_cpu_us_per_sample": cpu_s / samples * 1e6,
        "worker_rss_mb": rss_mb,
        "worker_mb_per_station": (rss_mb - rss0) / n,
    }


class PlaintextKafkaStack:
    """The main stack's InfluxDB with a second, PLAINTEXT broker (own state directory and ports):
    the baseline that shows what TLS and SASL cost (--plaintext-baseline). Exposes what
    ``_new_run`` and ``run_capacity`` use of a Stack."""

    def __init__(self, stack, console: Console) -> None:
        import tempfile

        from gaitstream.stack.kafka import KafkaServer

        self.main, self.settings = stack, stack.settings
        self._dir = tempfile.TemporaryDirectory(prefix="gaitstream-plain-")
        plain = stack.settings.model_copy(
            update={
                "state_dir": Path(self._dir.name),
                "kafka_port": stack.settings.kafka_port + 10_000,
                "kafka_controller_port": stack.settings.kafka_controller_port + 10_000,
                "kafka_security": "plaintext",
            }
        )
        self.kafka = KafkaServer(plain, console)

    def __enter__(self) -> PlaintextKafkaStack:
        self.kafka.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kafka.stop()
        self._dir.cleanup()

    def env(self, role: str = "admin") -> dict[str, str]:
        env = {
            k: v
            for k, v in self.main.env(role).items()
            if not k.startswith(("GAITSTREAM_KAFKA_", "GAITSTREAM_SINK_KAFKA_"))
        }
        return {
            **env,
            "GAITSTREAM_KAFKA_BOOTSTRAP": self.kafka.settings.kafka_bootstrap,
            "GAITSTREAM_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        }


def run_capacity(n: int, duration_s: float, stack, console: Console, floor: bool = False) -> dict:
    """One worker's capacity: the stations topic is filled first (unpaced), then one worker drains it.

    Nothing else runs meanwhile (no station process), so this isolates the worker: samples/s it
    sustains on one core and its CPU per sample (its InfluxDB sink included: the run ends when
    the sink has written all the worker produced), from the first committed offset on (start-up
    excluded).
    """
    from gaitstream.processes import stop_processes
    from gaitstream.topics import delete_topics_with_prefix

    prefix, clinic, env, kafka, topics = _new_run(stack, "cap")
    with console.status(f"filling {prefix}.stations with {n} stations x {duration_s:.0f} s"):
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--role",
                "stations",
                "--count",
                str(n),
                "--duration-s",
                str(duration_s),
                "--prefix",
                prefix,
                "--clinic",
                clinic,
                "--frame-samples",
                str(FRAME_SAMPLES),
                "--speed",
                "0",
            ],
            cwd=REPO,
            env=_role_env(env, "STATIONS_ENV"),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    log = Path(f"/tmp/{prefix}-worker.log")
    profile = ["-m", "cProfile", "-o", str(PROFILE_OUT)] if PROFILE_OUT else []
    worker = ["-m", "faust", "-A", "benchmarks.faust_floor"] if floor else ["-m", "gaitstream.pipelines"]
    proc = subprocess.Popen(
        [sys.executable, *profile, *worker, "worker", "--without-web", "-l", "warn"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    sink_topics = (topics.steps, topics.status, topics.trace, topics.alerts)
    points: list[tuple[float, float, int]] = []  # (monotonic s, worker cpu s, committed frames)
    total = None
    try:
        with console.status(f"{n} stations: draining") as status:
            deadline = time.monotonic() + 60 + duration_s * n / 20
            while time.monotonic() < deadline:
                done, end = _group_progress(kafka, prefix, topics.stations)
                written, outputs = _group_progress(kafka, f"{prefix}-influx-sink", *sink_topics)
                total = end
                points.append((time.monotonic(), _cpu_s(proc.pid), done))
                status.update(f"{n} stations: {done}/{end} frames committed, {written}/{outputs} outputs written")
                # The rest of the frames waits for a checkpoint that never comes; the run ends
                # once the sink has also written everything the worker produced.
                if end and done >= end - 2 * n and (floor or written >= outputs):
                    break
                time.sleep(1.0)
    finally:
        stop_processes([proc], grace_s=30)
        delete_topics_with_prefix(kafka, prefix)
    moving = [p for p in points if p[2] > 0]
    if len(moving) < 2:
        raise RuntimeError(f"the worker committed nothing; see {log}")
    (t0, c0, f0), (t1, c1, f1) = moving[0], moving[-1]
    samples = (f1 - f0) * FRAME_SAMPLES
    return {
        "stations": n,
        "frames_total": total,
        "samples_per_s": samples / (t1 - t0),
        "cpu_us_per_sample": (c1 - c0) / samples * 1e6,
        "cpu_share": (c1 - c0) / (t1 - t0),
        "stations_at_100hz": samples / (t1 - t0) / RATE_HZ,
    }


def compare_security(args, stack, console: Console) -> None:
    """Capacity over SASL_SSL (the deployment) and over PLAINTEXT (a baseline broker), interleaved
    in pairs so that the machine's drift hits both alike; prints each pair and the means."""
    rows = []
    with PlaintextKafkaStack(stack, console) as plain:
        for n in args.stations:
            for pair in range(args.plaintext_baseline):
                secured = run_capacity(n, args.duration_s, stack, console)
                baseline = run_capacity(n, args.duration_s, plain, console)
                rows.append((n, pair, secured, baseline))
                console.print(
                    f"stations={n} pair={pair + 1} sasl_ssl_samples_per_s={secured['samples_per_s']:.0f} "
                    f"plaintext_samples_per_s={baseline['samples_per_s']:.0f} "
                    f"sasl_ssl_us_per_sample={secured['cpu_us_per_sample']:.1f} "
                    f"plaintext_us_per_sample={baseline['cpu_us_per_sample']:.1f}"
                )
    table = Table(title="one worker's capacity: SASL_SSL (SCRAM-SHA-512, TLS) vs PLAINTEXT, interleaved pairs")
    for col in (
        "stations",
        "pairs",
        "SASL_SSL samples/s",
        "PLAINTEXT samples/s",
        "ratio",
        "SASL_SSL µs/sample",
        "PLAINTEXT µs/sample",
    ):
        table.add_column(col, justify="right")
    for n in args.stations:
        mine = [r for r in rows if r[0] == n]
        sec = sum(r[2]["samples_per_s"] for r in mine) / len(mine)
        base = sum(r[3]["samples_per_s"] for r in mine) / len(mine)
        sec_us = sum(r[2]["cpu_us_per_sample"] for r in mine) / len(mine)
        base_us = sum(r[3]["cpu_us_per_sample"] for r in mine) / len(mine)
        table.add_row(
            str(n), str(len(mine)), f"{sec:.0f}", f"{base:.0f}", f"{sec / base:.3f}", f"{sec_us:.1f}", f"{base_us:.1f}"
        )
    Console().print(table)
    if args.json:
        args.json.write_text(
            json.dumps([{"stations": n, "pair": k, "sasl_ssl": a, "plaintext": b} for n, k, a, b in rows], indent=2)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="bench", choices=["bench", "stations"])
    parser.add_argument("--stations", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--clinic", default="")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--frame-samples", type=int, default=FRAME_SAMPLES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--speed", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--capacity",
        action="store_true",
        help="measure one worker draining a pre-filled topic instead of paced stations",
    )
    parser.add_argument(
        "--no-warm-up", action="store_true", help="measure at once even when this run had to start the stack"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="with --capacity: drain with benchmarks/faust_floor.py (engines only: the framework's "
        "floor) instead of the pipeline worker",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="with --capacity: run the worker under cProfile, stats to this file (slower: "
        "for where the time goes, not for the figures)",
    )
    parser.add_argument(
        "--plaintext-baseline",
        type=int,
        default=0,
        metavar="PAIRS",
        help="with --capacity: also measure against a PLAINTEXT broker, PAIRS interleaved pairs per count",
    )
    args = parser.parse_args()
    globals()["FRAME_SAMPLES"] = args.frame_samples
    globals()["PROFILE_OUT"] = args.profile
    if args.role == "stations":
        run_stations_role(args)
        return
    from gaitstream.logging import configure_logging
    from gaitstream.stack import Stack

    configure_logging("WARNING")
    console = Console(stderr=True)
    stack = Stack(console=console)
    report = stack.up()
    engine_us = _engine_us_per_sample(min(args.duration_s, 600.0))
    if args.capacity and args.plaintext_baseline:
        try:
            compare_security(args, stack, console)
        finally:
            stack.stop(report.started)
        return
    if args.capacity:
        try:
            caps = [run_capacity(n, args.duration_s, stack, console, floor=args.floor) for n in args.stations]
        finally:
            stack.stop(report.started)
        what = "benchmarks/faust_floor.py (decode + engines only)" if args.floor else "one pipeline worker"
        table = Table(
            title=f"{what} draining a pre-filled topic, {FRAME_SAMPLES}-sample frames, 100 Hz sessions of "
            f"{args.duration_s:.0f} s"
        )
        for col in (
            "stations",
            "frames",
            "samples/s",
            "= stations at 100 Hz",
            "worker CPU share",
            "worker µs/sample",
            "engine µs/sample",
            "overhead %",
        ):
            table.add_column(col, justify="right")
        for r in caps:
            table.add_row(
                str(r["stations"]),
                str(r["frames_total"]),
                f"{r['samples_per_s']:.0f}",
                f"{r['stations_at_100hz']:.0f}",
                f"{r['cpu_share']:.2f}",
                f"{r['cpu_us_per_sample']:.1f}",
                f"{engine_us:.1f}",
                f"{100 * (r['cpu_us_per_sample'] / engine_us - 1):.0f}",
            )
        Console(width=200).print(table)
        if args.json:
            args.json.write_text(json.dumps({"engine_us_per_sample": engine_us, "capacity": caps}, indent=1))
        return
    results = []
    try:
        if report.started and not args.no_warm_up:
            # A Kafka broker that just started compiles its hot paths during the first minute
            # (measured: a third of a core, p99 1.6 s -> 3.8-4.3 s at 200 stations): warm it first.
            console.print(
                f"warming up the stack this run started: {WARM_UP_STATIONS} stations for {WARM_UP_S:.0f} s "
                "(not reported; --no-warm-up skips it)"
            )
            run_one(WARM_UP_STATIONS, WARM_UP_S, stack, console, workers=args.workers)
        for n in args.stations:
            results.append(run_one(n, args.duration_s, stack, console, workers=args.workers))
    finally:
        stack.stop(report.started)
    table = Table(
        title=f"pipeline load, {args.duration_s:.0f} s per run, 100 Hz, {FRAME_SAMPLES}-sample frames, "
        f"{args.workers} worker(s), "
        f"{os.cpu_count()} cores shared with Kafka, InfluxDB and the stations"
    )
    for col in (
        "stations",
        "samples/s offered",
        "processed/s",
        "lag max s",
        "lag end s",
        "latency p50 s",
        "latency p99 s",
        "p99 calibrated s",
        "steps >2 s %",
        "worker µs/sample",
        "engine µs/sample",
        "overhead %",
        "RSS MB",
        "MB/station",
    ):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            str(r["stations"]),
            f"{r['samples_offered_per_s']:.0f}",
            f"{r['samples_processed_per_s']:.0f}",
            f"{r['lag_max_s']:.1f}",
            f"{r['lag_end_s']:.1f}",
            f"{r['latency_p50_s']:.2f}",
            f"{r['latency_p99_s']:.2f}",
            f"{r['latency_p99_calibrated_s']:.2f}",
            f"{r['late_steps_pct']:.1f}",
            f"{r['worker_cpu_us_per_sample']:.1f}",
            f"{engine_us:.1f}",
            f"{100 * (r['worker_cpu_us_per_sample'] / engine_us - 1):.0f}",
            f"{r['worker_rss_mb']:.0f}",
            f"{r['worker_mb_per_station']:.2f}",
        )
    Console(width=200).print(table)
    for r in results:
        print(
            "lag over time (s of data) for",
            r["stations"],
            "stations:",
            " ".join(f"{t:.0f}:{lag:.1f}" for t, lag in r["lag_series"]),
        )
    if args.json:
        args.json.write_text(json.dumps({"engine_us_per_sample": engine_us, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
