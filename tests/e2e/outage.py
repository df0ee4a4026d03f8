"""A station across a broker outage, through the real pipeline (test and benchmark share it).

Station A (``gaitstream station`` with its on-disk spool) streams a session at ``speed`` times real
time. The broker stops at ``outage_at_s``; during the outage A is SIGKILLed and station B starts on
the same spool (the same treadmill: the station restarted, a new session); the broker comes back
``outage_s`` after it stopped and B runs to its end. A pipeline worker runs throughout (started
again if it exits, as compose's restart policy would).

Checked: on the stations topic, each session's frames once each, in order, contiguous from 0, and
every frame A spooled before it was killed there; in InfluxDB, each session's steps equal the
steps the pipeline's own per-station code makes of exactly those frames (in one process), once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gaitstream.monitor.frames import engine_input
from gaitstream.monitor.station import StationState
from gaitstream.schemas.codec import decode
from tests.e2e.harness import REPO, PipelineRun
from tests.roles import role_env


@dataclass
class OutageOutcome:
    frames_by_session: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    gaps: int = 0
    out_of_order: int = 0
    spooled_by_a: int = 0  # records A had in its spool, unsent, when it was killed
    a_last_spooled_arrived: bool = False
    spool_peak_bytes: int = 0
    drain_s: float = 0.0  # broker back -> every spooled frame on the topic
    steps_expected: dict[str, int] = field(default_factory=dict)
    steps_landed: dict[str, int] = field(default_factory=dict)
    steps_duplicated: int = 0
    steps_different: int = 0
    worker_restarts: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (
            not self.duplicates
            and self.a_last_spooled_arrived
            and not self.gaps
            and not self.out_of_order
            and not self.steps_duplicated
            and not self.steps_different
            and self.steps_expected == self.steps_landed
        )


def _station(
    pipeline: PipelineRun,
    spool: Path,
    log: Path,
    *,
    station_id: str,
    pattern: str,
    seed: int,
    data_s: float,
    speed: float,
):
    env = {
        **os.environ,
        **role_env("simulator", pipeline.prefix),
        "GAITSTREAM_TOPIC_PREFIX": pipeline.prefix,
        "GAITSTREAM_STATION_SPOOL_DIR": str(spool),
        "GAITSTREAM_STATION_SPOOL_SEND_TIMEOUT_S": "5",
        "GAITSTREAM_STATION_SPOOL_RETRY_MAX_S": "2",
        "GAITSTREAM_STATION_DELIVERY_TIMEOUT_S": "300",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gaitstream",
                "station",
                "--station-id",
                station_id,
                "--patient-id",
                f"p-{seed}",
                "--pattern",
                pattern,
                "--seed",
                str(seed),
                "--duration-s",
                str(data_s),
                "--speed",
                str(speed),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _spool_frames(spool: Path) -> int:
    from gaitstream.services.station.spool import read_pending

    return len(read_pending(spool))


def _spool_last_frame(spool: Path) -> tuple[str, int] | None:
    """(session, sequence) of the last frame in the spool."""
    from gaitstream.services.station.spool import decode_record, read_pending

    for payload in reversed(read_pending(spool)):
        kind, record = decode(decode_record(payload)[1])
        if kind == "imu_frame":
            return record["session_id"], record["sequence"]
    return None


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.glob("*") if p.is_file()) if path.exists() else 0


def run_outage(
    stack,
    pipeline: PipelineRun,
    tmp: Path,
    *,
    data_s: float,
    speed: float,
    outage_at_s: float,
    outage_s: float,
    kill_after_s: float,
    progress=lambda line: None,
) -> OutageOutcome:
    """Wall-clock times: ``outage_at_s`` after A starts, A killed ``kill_after_s`` into the outage."""
    outcome = OutageOutcome()
    a_last = None
    station_id = f"{pipeline.prefix}-tm"
    spool = tmp / "spool"
    pipeline.start_worker("a")
    stop_supervising = threading.Event()

    def supervise() -> None:
        while not stop_supervising.wait(2.0):
            proc = pipeline.workers[-1][0]
            if proc.poll() is not None:
                outcome.worker_restarts += 1
                try:
                    pipeline.start_worker("a")
                except AssertionError:
                    pass  # exited again while the broker is away: the next round tries again

    threading.Thread(target=supervise, daemon=True).start()
    try:
        t0 = time.monotonic()
        a = _station(
            pipeline,
            spool,
            tmp / "station-a.log",
            station_id=station_id,
            pattern="trendelenburg_left",
            seed=31,
            data_s=data_s,
            speed=speed,
        )
        time.sleep(max(0.0, t0 + outage_at_s - time.monotonic()))
        progress(f"outage_start at_s={time.monotonic() - t0:.0f}")
        stack.kafka.stop()
        time.sleep(kill_after_s)
        a.kill()
        a.wait(30)
        outcome.spooled_by_a = _spool_frames(spool)
        a_last = _spool_last_frame(spool)
        progress(f"station_a_killed spooled={outcome.spooled_by_a}")
        b_data_s = max(10.0, data_s - (time.monotonic() - t0) * speed)
        b = _station(
            pipeline,
            spool,
            tmp / "station-b.log",
            station_id=station_id,
            pattern="normal",
            seed=32,
            data_s=b_data_s,
            speed=speed,
        )
        back_at = t0 + outage_at_s + outage_s
        while time.monotonic() < back_at:
            outcome.spool_peak_bytes = max(outcome.spool_peak_bytes, _dir_bytes(spool))
            time.sleep(min(5.0, max(0.0, back_at - time.monotonic())))
            progress(f"outage spool_bytes={_dir_bytes(spool)} remaining_s={max(0.0, back_at - time.monotonic()):.0f}")
        outcome.spool_peak_bytes = max(outcome.spool_peak_bytes, _dir_bytes(spool))
        stack.kafka.start()
        back = time.monotonic()
        progress("outage_end")
        while _spool_frames(spool) > 0 and b.poll() is None:
            time.sleep(0.5)
        outcome.drain_s = time.monotonic() - back
        assert b.wait(data_s / max(speed, 0.1) + 600) == 0, (tmp / "station-b.log").read_text()[-3000:]
    finally:
        stop_supervising.set()
        if stack.kafka.process.pid() is None:
            stack.kafka.start()
    sessions = _read_sessions(pipeline, station_id)
    if a_last is not None:  # A's last spooled frame reached the topic, as its session's last
        a_sequences = [r["sequence"] for kind, r in sessions.get(a_last[0], []) if kind == "imu_frame"]
        outcome.a_last_spooled_arrived = bool(a_sequences) and max(a_sequences) == a_last[1]
        if not outcome.a_last_spooled_arrived:
            outcome.details.append(f"station A's last spooled frame {a_last} is not its session's last on the topic")
    expected = {sid: _reference_steps(records) for sid, records in sessions.items()}
    for sid, records in sessions.items():
        sequences = [r["sequence"] for kind, r in records if kind == "imu_frame"]
        counts = Counter(sequences)
        outcome.frames_by_session[sid] = len(counts)
        outcome.duplicates += sum(n - 1 for n in counts.values())
        outcome.gaps += (max(sequences) + 1 - len(counts)) if sequences else 0
        outcome.out_of_order += sum(1 for x, y in zip(sequences, sequences[1:], strict=False) if y <= x)
        outcome.steps_expected[sid] = len(expected[sid])
    landed = pipeline.wait_for_steps(outcome.steps_expected, timeout_s=120)
    for sid, rows in landed.items():
        indices = Counter(r["step_index"] for r in rows)
        outcome.steps_landed[sid] = len(indices)
        outcome.steps_duplicated += sum(n - 1 for n in indices.values())
        by_index = {r["step_index"]: r for r in rows}
        for i, step in enumerate(expected[sid]):
            row = by_index.get(i)
            if (
                row is None
                or row["side"] != step["side"]
                or abs(row["pelvic_drop_deg"] - step["pelvic_drop_deg"]) > 0.01
            ):
                outcome.steps_different += 1
                if len(outcome.details) < 5:
                    outcome.details.append(f"session {sid} step {i}: landed {row}, expected {step}")
    return outcome


def _read_sessions(pipeline: PipelineRun, station_id: str) -> dict[str, list[tuple[str, dict]]]:
    """The station's records on the stations topic, by session, in topic order."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**pipeline.kafka.client_config(), group_id=None, enable_auto_commit=False)
    try:
        topic = pipeline.topics.stations
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        out: dict[str, list[tuple[str, dict]]] = {}
        while batch := consumer.poll(timeout_ms=5000):
            for records in batch.values():
                for record in records:
                    if record.key == station_id.encode():
                        kind, value = decode(record.value)
                        out.setdefault(value["session_id"], []).append((kind, value))
        return out
    finally:
        consumer.close()


def _reference_steps(records: list[tuple[str, dict]]) -> list[dict]:
    """The steps the pipeline's per-station code makes of exactly these records (each frame once)."""
    start = next(r for kind, r in records if kind == "session_event" and r["event"] == "start")
    state = StationState.start(start, now_us=start["time_us"])
    steps = []
    seen = set()
    for kind, record in records:
        if kind != "imu_frame" or record["sequence"] in seen:
            continue
        seen.add(record["sequence"])
        data = engine_input(
            record,
            session_start_us=start["time_us"],
            sampling_rate_hz=start["sampling_rate_hz"],
            trunk=start["trunk_present"],
        )
        steps += [state.step_record(s) for s in state.push(data)]
    steps += [state.step_record(s) for s in state.finish()]
    return steps
