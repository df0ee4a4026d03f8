"""Alert rules end to end on the real stack: settings from the compacted topic (GlobalTable),
worsening against the patient's own earlier sessions, station silence, sensor faults; every
alert lands in InfluxDB ``gait_alert``.

One worker serves every scenario (it is the slow part to start on a shared 2-core machine).
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from gaitstream.monitor.alert_settings import settings_key, settings_record
from gaitstream.monitor.worsening import history_key
from gaitstream.schemas.codec import decode, encode
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from gaitstream.topics import ensure_alert_topics, read_latest, write
from tests.e2e.harness import PipelineRun

CLINIC = "clinic-alerts"
FRAME_SAMPLES = 10
DASHBOARD = "https://grafana.clinic-alerts.example"
SILENCE_S = 20.0  # the station's pause, wall clock; the rule's delay is 10 s


class FlatAxisSource(SimulatedSource):
    """A simulated patient whose pelvis gyroscope y axis sticks at one value after ``from_s``."""

    def __init__(self, config, *, from_s: float) -> None:
        super().__init__(config)
        self.from_s = from_s

    def frames(self, frame_samples: int):
        for first_s, block in super().frames(frame_samples):
            if first_s >= self.from_s:
                block = {**block, "gyr_y": np.full_like(block["gyr_y"], 0.75)}
            yield first_s, block


class DroppingSource(SimulatedSource):
    """A simulated patient whose station loses every 8th frame between ``from_s`` and ``until_s``
    (lost radio packets: the sample time jumps, the sequence does not, as the station numbers
    the frames it sends)."""

    def __init__(self, config, *, from_s: float, until_s: float) -> None:
        super().__init__(config)
        self.from_s, self.until_s = from_s, until_s

    def frames(self, frame_samples: int):
        for k, (first_s, block) in enumerate(super().frames(frame_samples)):
            if not (self.from_s <= first_s < self.until_s and k % 8 == 0):
                yield first_s, block


class PausingSource(SimulatedSource):
    """A simulated patient whose station stops sending for ``pause_s`` (wall clock) after ``at_s`` of data."""

    def __init__(self, config, *, at_s: float, pause_s: float) -> None:
        super().__init__(config)
        self.at_s, self.pause_s = at_s, pause_s
        self.paused_at: float | None = None
        self.resumed_at: float | None = None

    def frames(self, frame_samples: int):
        for first_s, block in super().frames(frame_samples):
            if self.paused_at is None and first_s >= self.at_s:
                self.paused_at = time.time()
                time.sleep(self.pause_s)
                self.resumed_at = time.time()
            yield first_s, block


class CorruptingSource(SimulatedSource):
    """A simulated patient whose station sends one flipped-bit gyroscope value (1e30, a valid float32)
    at ``gyro_at_s`` and an infinite accelerometer value at ``acc_at_s``."""

    def __init__(self, config, *, gyro_at_s: float, acc_at_s: float) -> None:
        super().__init__(config)
        self.gyro_at_s, self.acc_at_s = gyro_at_s, acc_at_s

    def frames(self, frame_samples: int):
        period_s = 1.0 / self.config.sampling_rate_hz
        for first_s, block in super().frames(frame_samples):
            for column, at_s, value in (("gyr_z", self.gyro_at_s, 1e30), ("acc_y", self.acc_at_s, math.inf)):
                k = int(round((at_s - first_s) / period_s))
                if 0 <= k < len(block[column]):
                    block = {**block, column: block[column].copy()}
                    block[column][k] = value
            yield first_s, block


@pytest.fixture(scope="module")
def pipeline(kafka_settings, influx_settings, tmp_path_factory):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path_factory.mktemp("alerts"))
    ensure_alert_topics(run.kafka, run.topics)
    # Clinic settings before the worker starts: read by its GlobalTable's recovery.
    write(
        run.kafka,
        run.topics.alert_settings,
        settings_key(CLINIC),
        encode("alert_settings", settings_record(CLINIC, updated_us=1, dashboard_url=DASHBOARD)),
    )
    run.start_worker("a")
    yield run
    run.stop()


def _run(pipeline: PipelineRun, patient: str, source, name: str) -> StationRun:
    session = new_session(clinic_id=CLINIC, station_id=f"{pipeline.prefix}-{name}", patient_id=patient, source=source)
    return StationRun(session=session, source=source)


def _publish(pipeline: PipelineRun, runs: list[StationRun], speed: float = 0.0) -> None:
    publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings(linger_ms=1))
    try:
        run_stations(runs, publisher, frame_samples=FRAME_SAMPLES, speed=speed)
    finally:
        publisher.close()


def _alerts(pipeline: PipelineRun, session_id: str) -> list[dict]:
    return pipeline.rows(
        f"SELECT * FROM gait_alert WHERE session = '{session_id}'", required=("alert_id", "kind", "state", "severity")
    )


def _wait_alerts(pipeline: PipelineRun, session_id: str, done, timeout_s: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = _alerts(pipeline, session_id)
        if done(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(1.0)


def _history_sessions(pipeline: PipelineRun, patient: str) -> int:
    value = read_latest(pipeline.kafka, pipeline.topics.session_history).get(history_key(CLINIC, patient))
    return len(decode(value)[1]["sessions"]) if value else 0


def _wait_history(pipeline: PipelineRun, patient: str, sessions: int, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _history_sessions(pipeline, patient) < sessions:
        assert time.monotonic() < deadline, f"{patient}: history never reached {sessions} sessions"
        time.sleep(1.0)


def _of(rows: list[dict], kind: str) -> list[tuple[str, str]]:
    return [(r["state"], r["alert_id"]) for r in rows if r["kind"] == kind]


def test_sensor_faults_open_once_with_patient_settings_read_live(pipeline: PipelineRun) -> None:
    # A patient override published while the worker runs: the GlobalTable follows the topic.
    # This patient's sensor has a +-10 m/s^2 range (the simulator clips there).
    write(
        pipeline.kafka,
        pipeline.topics.alert_settings,
        settings_key(CLINIC, "p-sat"),
        encode("alert_settings", settings_record(CLINIC, "p-sat", updated_us=2, acc_full_scale_mps2=10.0)),
    )
    time.sleep(3.0)
    saturated = _run(
        pipeline,
        "p-sat",
        SimulatedSource(pattern_config("normal", trunk=False, duration_s=30.0, seed=1, acc_range_mps2=10.0)),
        "sat",
    )
    flat = _run(
        pipeline,
        "p-flat",
        FlatAxisSource(pattern_config("normal", trunk=False, duration_s=30.0, seed=2), from_s=8.0),
        "flat",
    )
    healthy = _run(pipeline, "p-ok", SimulatedSource(pattern_config("normal", duration_s=30.0, seed=3)), "ok")
    dropping = _run(
        pipeline,
        "p-drop",
        DroppingSource(pattern_config("normal", duration_s=45.0, seed=4), from_s=6.0, until_s=20.0),
        "drop",
    )
    _publish(pipeline, [saturated, flat, healthy, dropping])

    def both(rows):
        return len(_of(rows, "sensor_fault")) >= 2

    sat_rows = _wait_alerts(pipeline, saturated.session.session_id, both)
    flat_rows = _wait_alerts(pipeline, flat.session.session_id, both)
    for rows, fault, sensor in ((sat_rows, "saturation", "pelvis.acc"), (flat_rows, "flat_signal", "pelvis.gyr")):
        faults = [r for r in rows if r["kind"] == "sensor_fault"]
        assert sorted(r["state"] for r in faults) == ["open", "resolved"], faults
        assert {(r["fault"], r["sensor"]) for r in faults} == {(fault, sensor)}
        assert len({r["alert_id"] for r in faults}) == 1
        opened = next(r for r in faults if r["state"] == "open")
        assert opened["severity"] == "warning" and opened["dashboard_url"].startswith(DASHBOARD + "/d/")
    # 12.5 % lost from 6 s to 20 s: opens once 10 s of data hold >= 5 %, resolves by the rule
    # (<= 1 % in the last 10 s) before the session ends at 45 s.
    drop_rows = _wait_alerts(pipeline, dropping.session.session_id, both)
    drops = [r for r in drop_rows if r["kind"] == "sensor_fault"]
    assert [(r["state"], r["fault"]) for r in sorted(drops, key=lambda r: r["time"])] == [
        ("open", "dropped_frames"),
        ("resolved", "dropped_frames"),
    ], drops
    assert drops[0]["alert_id"] == drops[1]["alert_id"] and "healthy again" in next(
        r["message"] for r in drops if r["state"] == "resolved"
    )
    flat_open = next(r for r in flat_rows if r["kind"] == "sensor_fault" and r["state"] == "open")
    assert "axes y" in flat_open["message"]
    assert [r for r in _alerts(pipeline, healthy.session.session_id) if r["kind"] != "pelvic_drop_sustained"] == []


def test_worsening_against_previous_sessions_and_a_silent_station(pipeline: PipelineRun) -> None:
    # Two earlier normal sessions of the patient: their summaries make the baseline (~3 deg).
    for k in range(2):
        _publish(
            pipeline,
            [_run(pipeline, "p-w", SimulatedSource(pattern_config("normal", duration_s=40.0, seed=10 + k)), f"w{k}")],
        )
        _wait_history(pipeline, "p-w", k + 1)
    # Then markedly worse on the left (8 deg), while another station goes quiet mid-session.
    worse = _run(pipeline, "p-w", SimulatedSource(pattern_config("trendelenburg_left", duration_s=40.0, seed=12)), "w2")
    pausing = PausingSource(pattern_config("normal", duration_s=40.0, seed=13), at_s=20.0, pause_s=SILENCE_S)
    silent = _run(pipeline, "p-s", pausing, "silent")
    thread = threading.Thread(target=_publish, args=(pipeline, [silent]))
    thread.start()
    _publish(pipeline, [worse])
    thread.join()

    rows = _wait_alerts(pipeline, worse.session.session_id, lambda r: len(_of(r, "worsening")) >= 2)
    worsening = [r for r in rows if r["kind"] == "worsening"]
    assert sorted(r["state"] for r in worsening) == ["open", "resolved"], worsening
    opened = next(r for r in worsening if r["state"] == "open")
    assert opened["side"] == "left" and len({r["alert_id"] for r in worsening}) == 1
    assert opened["baseline"] == pytest.approx(3.0, abs=1.0) and opened["value"] >= opened["baseline"] + 2.0
    assert _history_sessions(pipeline, "p-w") >= 2

    rows = _wait_alerts(pipeline, silent.session.session_id, lambda r: len(_of(r, "station_silent")) >= 2)
    silence = [r for r in rows if r["kind"] == "station_silent"]
    assert sorted(r["state"] for r in silence) == ["open", "resolved"], silence
    assert len({r["alert_id"] for r in silence}) == 1
    opened = next(r for r in silence if r["state"] == "open")
    resolved = next(r for r in silence if r["state"] == "resolved")
    assert opened["severity"] == "critical" and resolved["message"] == "station sends data again"
    # InfluxDB returns RFC3339 times; the rule runs on the worker's clock, every 2 s, 10 s delay.
    from datetime import datetime

    def epoch(ts: str) -> float:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()

    opened_after_s = epoch(opened["time"]) - pausing.paused_at
    resolved_after_s = epoch(resolved["time"]) - pausing.resumed_at
    print(
        f"silence: opened {opened_after_s:.1f} s after the pause, resolved {resolved_after_s:.1f} s after data "
        f"came back"
    )
    assert 9.0 <= opened_after_s <= SILENCE_S and -1.0 <= resolved_after_s <= 10.0
    assert [r for r in rows if r["kind"] == "sensor_fault"] == []  # a pause is not a dropped frame


def test_corrupt_samples_cost_no_step_and_raise_a_sensor_fault_and_the_status_flags_a_walking_reference(
    pipeline: PipelineRun,
) -> None:
    """Issue 13, live: one 1e30 and one infinity in a session (before: 24 of 104 steps and no alert).
    The session has no quiet standing and a lean toward the right stance limb only, so its status
    says the lean is relative to the mean walking posture and flags its label."""
    from tests.e2e.reference import reference_steps

    config = pattern_config("compensated_right_unilateral", duration_s=60.0, standing_s=0.0, seed=31)

    def factory():
        return CorruptingSource(config, gyro_at_s=20.0, acc_at_s=25.0)

    run = _run(pipeline, "p-corrupt", factory(), "corrupt")
    _publish(pipeline, [run])
    expected = reference_steps(run, factory, FRAME_SAMPLES)
    clean = reference_steps(run, lambda: SimulatedSource(config), FRAME_SAMPLES)
    # the corruption costs at most the steps overlapping it (+-2 s), even in the in-process reference
    start_us = run.session.start_time_us
    outside = [
        s for s in clean if not (18.0e6 <= s["end_time_us"] - start_us and s["start_time_us"] - start_us <= 27.0e6)
    ]
    found = {(s["side"], s["start_time_us"]) for s in expected}
    assert all((s["side"], s["start_time_us"]) in found for s in outside)
    rows = pipeline.wait_for_steps({run.session.session_id: len(expected)}, timeout_s=90)[run.session.session_id]
    assert sorted(r["step_index"] for r in rows) == [s["step_index"] for s in expected]

    faults = _wait_alerts(
        pipeline, run.session.session_id, lambda r: len([x for x in r if x.get("fault") == "corrupt_samples"]) >= 4
    )
    corrupt = [r for r in faults if r.get("fault") == "corrupt_samples"]
    assert sorted((r["sensor"], r["state"]) for r in corrupt) == [
        ("pelvis.acc", "open"),
        ("pelvis.acc", "resolved"),
        ("pelvis.gyr", "open"),
        ("pelvis.gyr", "resolved"),
    ]
    from datetime import datetime

    for sensor, at_s in (("pelvis.gyr", 20.0), ("pelvis.acc", 25.0)):
        opened = next(r for r in corrupt if r["sensor"] == sensor and r["state"] == "open")
        opened_s = datetime.fromisoformat(opened["time"].replace("Z", "+00:00")).timestamp() - start_us / 1e6
        print(
            f"corrupt_samples {sensor}: opened at {opened_s:.2f} s of sample time, {opened_s - at_s:.2f} s after "
            f"the corrupt sample"
        )
        assert at_s <= opened_s <= at_s + 10.0, (sensor, opened_s)
    series = pipeline.influxql(
        f"SELECT last(classification_flags) AS flags, last(trunk_lean_reference) AS ref "
        f"FROM gait_status WHERE session = '{run.session.session_id}'"
    )
    (row,) = [dict(zip(series[0]["columns"], v, strict=True)) for v in series[0]["values"]]
    assert row["flags"] == "trunk_lean_reference_walking" and row["ref"] == "walking"


def test_a_station_clock_in_milliseconds_is_refused_alerted_and_counted_while_another_station_loses_nothing(
    pipeline: PipelineRun,
) -> None:
    """Issue 15: a station stamping its samples in milliseconds (before: 0 steps, 0 alerts, nothing
    to see). Every message of it is dead-lettered with the reason, a station_clock alert and a
    frames_refused alert open, the dead letters are counted in InfluxDB per station and reason
    (the overview's Refused tile), and a station streaming alongside loses no step."""
    from gaitstream.grafana import queries
    from tests.e2e.reference import reference_steps

    good_config = pattern_config("normal", duration_s=30.0, seed=41)
    good = _run(pipeline, "p-clock-good", SimulatedSource(good_config), "clock-good")
    bad_source = SimulatedSource(pattern_config("normal", duration_s=10.0, seed=42))
    bad_session = new_session(
        clinic_id=CLINIC,
        station_id=f"{pipeline.prefix}-clock-ms",
        patient_id="p-clock-ms",
        source=bad_source,
        start_time_us=time.time_ns() // 1_000_000,  # milliseconds where microseconds belong
    )
    bad = StationRun(session=bad_session, source=bad_source)
    _publish(pipeline, [good, bad])
    expected = reference_steps(good, lambda: SimulatedSource(good_config), FRAME_SAMPLES)
    rows = pipeline.wait_for_steps({good.session.session_id: len(expected)}, timeout_s=90)[good.session.session_id]
    assert sorted(r["step_index"] for r in rows) == [s["step_index"] for s in expected]

    alerts = _wait_alerts(
        pipeline, bad_session.session_id, lambda r: bool(_of(r, "station_clock")) and bool(_of(r, "frames_refused"))
    )
    (clock,) = [r for r in alerts if r["kind"] == "station_clock"]
    assert clock["state"] == "open" and clock["severity"] == "critical"
    assert "milliseconds, not microseconds" in clock["message"]
    assert [r["state"] for r in alerts if r["kind"] == "frames_refused"] == ["open"]
    messages = 2 + math.ceil(10.0 * 100 / FRAME_SAMPLES)  # start, frames, stop
    where = f"\"station\" = '{bad_session.station_id}'"
    deadline = time.monotonic() + 60
    while True:
        counted = pipeline.rows(
            f'SELECT sum("count") AS "refused" FROM "dead_letter" WHERE {where}', required=("refused",)
        )
        if (counted and counted[0]["refused"] >= messages) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert counted[0]["refused"] == messages
    reasons = pipeline.rows(f'SELECT "reason", "reason_kind" FROM "dead_letter" WHERE {where}', required=("reason",))
    assert len(reasons) == messages and {r["reason_kind"] for r in reasons} == {"station clock"}
    assert all("milliseconds" in r["reason"] for r in reasons)
    assert "dead_letter" in queries.OVERVIEW_REFUSED and pipeline.step_rows(bad_session.session_id) == []


def test_a_station_silent_across_a_worker_restart_is_noticed_by_the_new_worker(pipeline: PipelineRun) -> None:
    """Runs last: it replaces the module's worker. The station pauses, the worker is stopped and
    another starts while it is quiet: the new worker adopts the open session from the table."""
    import signal

    # The pause starts at a whole number of the session's checkpoint intervals of data (in whole
    # frames: a checkpoint falls at the frame that completes its interval): the last frame before
    # it completes a checkpoint, so every frame is acknowledged and nothing is re-delivered to the
    # new worker: only adopting the open session from the table lets it notice the silence.
    from gaitstream.pipelines.checkpoints import checkpoint_samples
    from gaitstream.pipelines.settings import PipelineSettings

    settings = PipelineSettings()
    longest_s = settings.checkpoint_interval_s * (1.0 + settings.checkpoint_spread) + FRAME_SAMPLES / 100.0
    pausing = PausingSource(
        pattern_config("normal", duration_s=16.0 + longest_s + 14.0, seed=21), at_s=math.inf, pause_s=60.0
    )
    quiet = _run(pipeline, "p-r", pausing, "restart")
    rate_hz = pausing.config.sampling_rate_hz
    threshold = checkpoint_samples(
        quiet.session.session_id,
        interval_s=settings.checkpoint_interval_s,
        spread=settings.checkpoint_spread,
        sampling_rate_hz=rate_hz,
    )
    period_samples = math.ceil(threshold / FRAME_SAMPLES) * FRAME_SAMPLES
    # Half a sample early: the frame that starts at the boundary pauses whatever the rounding of
    # k × period (6.9 s × 3 is 20.700000000000003 s, after the frame starting at 20.7 s).
    pausing.at_s = (period_samples * math.ceil(16.0 * rate_hz / period_samples) - 0.5) / rate_hz
    thread = threading.Thread(target=_publish, args=(pipeline, [quiet]))
    thread.start()
    deadline = time.monotonic() + 30
    while pausing.paused_at is None:
        assert time.monotonic() < deadline, "the station never reached its pause"
        time.sleep(0.2)
    time.sleep(2.0)
    proc, _ = pipeline.workers[0]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    pipeline.start_worker("b")
    ready_at = time.time()
    thread.join()
    rows = _wait_alerts(pipeline, quiet.session.session_id, lambda r: len(_of(r, "station_silent")) >= 2)
    silence = [r for r in rows if r["kind"] == "station_silent"]
    assert sorted(r["state"] for r in silence) == ["open", "resolved"], silence
    assert len({r["alert_id"] for r in silence}) == 1
    from datetime import datetime

    opened = next(r for r in silence if r["state"] == "open")
    opened_s = datetime.fromisoformat(opened["time"].replace("Z", "+00:00")).timestamp()
    print(
        f"restart: worker b ready {ready_at - pausing.paused_at:.1f} s into the pause, silence opened "
        f"{opened_s - ready_at:.1f} s after that"
    )
    assert opened_s > ready_at and "session_adopted station=" in pipeline.log(1)
