"""``gaitstream station run --config station.toml`` as the clinic runs it: a real LSL outlet that
comes late, goes away and comes back, the operator's session commands, the real broker."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from gaitstream.services.station.frames import PELVIS_COLUMNS
from gaitstream.simulate import pattern_config, simulate_session

REPO = Path(__file__).resolve().parents[2]
RATE_HZ = 100.0


class Outlet:
    """A pelvis sensor walking in real time, in bursts of 3; ``stop()`` switches it off, ``start()``
    brings it back (a new outlet, same source id: the sensor restarted), its clock running on."""

    def __init__(self, name: str) -> None:
        columns = simulate_session(pattern_config("trendelenburg_right", duration_s=60.0, seed=5)).recording_columns
        self.rows = np.column_stack([columns[c] for c in PELVIS_COLUMNS])
        self.name, self.sent, self._on = name, 0, threading.Event()  # sent: the device's sample count
        self._thread: threading.Thread | None = None
        self.clock0: float | None = None

    def start(self) -> None:
        self._on.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._on.clear()
        self._thread.join(5)

    def _run(self) -> None:
        import pylsl

        outlet = pylsl.StreamOutlet(pylsl.StreamInfo(self.name, "IMU", 6, RATE_HZ, "float32", f"src-{self.name}"))
        if self.clock0 is None:
            self.clock0 = pylsl.local_clock()
        # The device's clock ran on while it was off: its next sample is stamped where the clock is now.
        k = max(self.sent, round((pylsl.local_clock() - self.clock0) * RATE_HZ))
        while self._on.is_set():
            index = np.arange(k, k + 3)
            stamps = (self.clock0 + index / RATE_HZ).tolist()
            time.sleep(max(0.0, stamps[-1] - pylsl.local_clock()))
            outlet.push_chunk(self.rows[index % len(self.rows)].tolist(), stamps)
            k = self.sent = k + 3
        del outlet


def _config(tmp_path: Path, name: str, credentials: dict[str, str]) -> Path:
    """station.toml, with the credentials in an env file beside it as `gaitstream access station
    add --out` writes them."""
    (tmp_path / "station.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in credentials.items()))
    config = tmp_path / "station.toml"
    config.write_text(
        f"""station_id = "st-run"
clinic_id = "clinic-run"
state_dir = "state"
env_file = "station.env"
status_interval_s = 2

[pelvis]
name = "{name}"
resolve_timeout_s = 1

[session]
pelvic_drop_threshold_deg = 6.5
"""
    )
    return config


def _cli(env: dict, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gaitstream", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _wait_status(env: dict, config: Path, key: str, value, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        done = _cli(env, "station", "status", "--config", str(config))
        status = json.loads(done.stdout) if done.stdout.strip() else {}
        if status.get(key) == value or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def _start_station(env: dict, config: Path, log_path: Path) -> subprocess.Popen:
    """``gaitstream station run --config`` as its own process, its output in ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "gaitstream", "station", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _sent_values(kafka_settings, topic: str) -> list[bytes]:
    """Every message value in partition 0 of ``topic``, oldest first (until the topic is quiet for 5 s)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_settings.client_config(), group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = []
        while batch := consumer.poll(timeout_ms=5000):
            values += [r.value for rs in batch.values() for r in rs]
        return values
    finally:
        consumer.close()


def test_a_station_runs_waits_for_its_sensor_and_takes_the_operators_sessions(kafka_settings, tmp_path) -> None:
    from gaitstream.schemas.codec import decode
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import delete_topics_with_prefix, ensure_topics
    from tests.roles import forget_prefix, role_env

    topics = TopicSettings(prefix=f"it.run{uuid.uuid4().hex[:6]}", partitions=1)
    ensure_topics(kafka_settings, topics)
    name = f"gs-run-{uuid.uuid4().hex[:6]}"
    config = _config(tmp_path, name, {**role_env("simulator", topics.prefix), "GAITSTREAM_TOPIC_PREFIX": topics.prefix})
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAITSTREAM_KAFKA_")}
    log_path = tmp_path / "station.log"
    outlet = Outlet(name)
    station = _start_station(env, config, log_path)
    try:
        # No sensor yet: the station waits, and says so; a session cannot start.
        assert _wait_status(env, config, "sensor", "absent")["session"] == "none"
        refused = _cli(env, "station", "session", "start", "--config", str(config), "--patient-id", "p-run")
        assert refused.returncode == 1 and "not connected" in refused.stdout
        outlet.start()
        assert _wait_status(env, config, "sensor", "connected", timeout_s=40)["broker"] in ("idle", "connected")
        started = _cli(env, "station", "session", "start", "--config", str(config), "--patient-id", "p-run")
        assert started.returncode == 0, started.stdout + started.stderr
        session_id = json.loads(started.stdout)["session_id"]
        time.sleep(4.0)
        outlet.stop()  # the sensor is switched off ...
        assert _wait_status(env, config, "sensor", "silent")["session"] == "open"
        time.sleep(1.0)
        outlet.start()  # ... and on again: the station reconnects by itself
        assert _wait_status(env, config, "sensor", "connected")["session_id"] == session_id
        time.sleep(3.0)
        stopped = _cli(env, "station", "session", "stop", "--config", str(config))
        assert stopped.returncode == 0 and json.loads(stopped.stdout)["session_id"] == session_id
        status = _wait_status(env, config, "pending", 0)
        assert status["session"] == "none" and status["broker"] == "connected"
        station.send_signal(signal.SIGTERM)
        assert station.wait(30) == 0
    finally:
        if station.poll() is None:
            station.kill()
        outlet._on.clear()
    log_text = log_path.read_text()
    for line in ("sensor_absent", "sensor_connected", "sensor_silent", "sensor_back", "station_status"):
        assert line in log_text, line
    assert not (tmp_path / "state" / "control.sock").exists()

    try:
        raw = _sent_values(kafka_settings, topics.stations)
    finally:
        delete_topics_with_prefix(kafka_settings, topics.prefix)
        forget_prefix(topics.prefix)
    records = [decode(value) for value in raw]
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"".join(len(m).to_bytes(4, "big") + m for m in raw))
    kinds = [(kind, rec.get("event")) for kind, rec in records]
    assert kinds[0] == ("session_event", "start") and kinds[-1] == ("session_event", "stop")
    start, stop = records[0][1], records[-1][1]
    assert start["session_id"] == stop["session_id"] == session_id
    assert start["pelvic_drop_threshold_deg"] == 6.5 and start["patient_id"] == "p-run"
    frames = [rec for kind, rec in records if kind == "imu_frame"]
    assert [f["sequence"] for f in frames] == list(range(len(frames)))
    assert all(f["first_sample_time_us"] >= start["time_us"] for f in frames)
    # The sensor was off for seconds: its samples were lost, counted, reported.
    assert stop["sample_gaps"] >= 1 and stop["dropped_samples"] >= 50
    assert stop["device_clock_drift_ppm"] is not None
    # Our own station passes the contract check.
    check = _cli(env, "station", "check", "--capture", str(capture))
    assert check.returncode == 0, check.stderr[-3000:]


def test_a_station_the_broker_refuses_exits_3_and_keeps_its_spool(kafka_settings, tmp_path) -> None:
    """Credentials that may not write this deployment's stations topic: no restart fixes that."""
    from gaitstream.services.station.spool import read_pending
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import delete_topics_with_prefix, ensure_topics
    from tests.roles import forget_prefix, role_env

    granted = f"it.gr{uuid.uuid4().hex[:6]}"
    topics = TopicSettings(prefix=f"it.rf{uuid.uuid4().hex[:6]}", partitions=1)
    ensure_topics(kafka_settings, topics)
    name = f"gs-refused-{uuid.uuid4().hex[:6]}"
    # the station's user is allowed another prefix's topic, not this one
    config = _config(tmp_path, name, {**role_env("simulator", granted), "GAITSTREAM_TOPIC_PREFIX": topics.prefix})
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAITSTREAM_KAFKA_")}
    outlet = Outlet(name)
    outlet.start()
    log_path = tmp_path / "station.log"
    try:
        with log_path.open("w") as log:
            station = subprocess.Popen(
                [sys.executable, "-m", "gaitstream", "station", "run", "--config", str(config)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert _wait_status(env, config, "sensor", "connected", timeout_s=40)["session"] == "none"
        started = _cli(env, "station", "session", "start", "--config", str(config), "--patient-id", "p-rf")
        assert started.returncode == 0, started.stdout + started.stderr
        assert station.wait(90) == 3, log_path.read_text()[-3000:]
    finally:
        if station.poll() is None:
            station.kill()
        outlet._on.clear()
        delete_topics_with_prefix(kafka_settings, topics.prefix)
        forget_prefix(topics.prefix)
        forget_prefix(granted)
    assert "station_refused" in log_path.read_text()
    assert read_pending(tmp_path / "state" / "spool")  # what it could not send is kept


def test_a_session_with_a_patient_screen_sends_shorter_frames(kafka_settings, tmp_path) -> None:
    """A station set to send 5-sample frames (0.05 s) for sessions with a patient screen: its
    session with a plan has them, the next session's without a screen are 10 again, from the same
    running sensor."""
    from gaitstream.schemas.codec import decode
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import delete_topics_with_prefix, ensure_topics
    from tests.roles import forget_prefix, role_env

    topics = TopicSettings(prefix=f"it.fs{uuid.uuid4().hex[:6]}", partitions=1)
    ensure_topics(kafka_settings, topics)
    name = f"gs-fs-{uuid.uuid4().hex[:6]}"
    config = _config(tmp_path, name, {**role_env("simulator", topics.prefix), "GAITSTREAM_TOPIC_PREFIX": topics.prefix})
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAITSTREAM_KAFKA_")}
    env["GAITSTREAM_STATION_FEEDBACK_FRAME_SAMPLES"] = "5"
    outlet = Outlet(name)
    outlet.start()
    station = _start_station(env, config, tmp_path / "station.log")
    sessions = []
    try:
        assert _wait_status(env, config, "sensor", "connected", timeout_s=40)["sensor"] == "connected"
        for plan in (["--feedback", "continuous:5m"], []):
            started = _cli(env, "station", "session", "start", "--config", str(config), "--patient-id", "p-fs", *plan)
            assert started.returncode == 0, started.stdout + started.stderr
            sessions.append(json.loads(started.stdout)["session_id"])
            time.sleep(2.0)
        assert _cli(env, "station", "session", "stop", "--config", str(config)).returncode == 0
        _wait_status(env, config, "pending", 0)
        station.send_signal(signal.SIGTERM)
        assert station.wait(30) == 0
    finally:
        if station.poll() is None:
            station.kill()
        outlet._on.clear()
    try:
        raw = _sent_values(kafka_settings, topics.stations)
    finally:
        delete_topics_with_prefix(kafka_settings, topics.prefix)
        forget_prefix(topics.prefix)
    sizes: dict[str, list[int]] = {session: [] for session in sessions}
    for kind, record in (decode(value) for value in raw):
        if kind == "imu_frame":
            sizes[record["session_id"]].append(len(record["sensors"][0]["samples_f32le"]) // (6 * 4))
    with_screen, without = sizes[sessions[0]], sizes[sessions[1]]
    # a session's first frame may have begun before it, and its last end with it: the others are whole
    assert len(with_screen) >= 30 and with_screen[1:-1] == [5] * (len(with_screen) - 2), with_screen
    assert len(without) >= 15 and without[1:-1] == [10] * (len(without) - 2), without
