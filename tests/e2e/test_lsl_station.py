"""A recording played through real LSL outlets (bursts, lost samples, a trunk on its own clock),
read by the station, through the broker and a real worker into InfluxDB: the steps equal
``gaitstream analyze`` of the same recording."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest

from gaitstream.services.station.frames import PELVIS_COLUMNS
from gaitstream.services.station.lsl_source import LslSource, LslStreamQuery
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.simulate import pattern_config, simulate_session
from tests.e2e.harness import REPO, PipelineRun

RATE_HZ = 100.0
SPEED = 4.0  # the outlets play the recording four times faster than it was taken; stamps stay its own
TRUNK_COLUMNS = tuple("trunk_" + c for c in PELVIS_COLUMNS)


@pytest.fixture()
def pipeline(kafka_settings, influx_settings, tmp_path):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    yield run
    run.stop()


def _recording(tmp_path, *, pattern: str, seed: int, lost: np.ndarray, trunk: bool):
    """The recording as the station will receive it (lost samples left out), written as the CSV
    contract and read back: what the outlets send is exactly what ``analyze`` reads."""
    columns = simulate_session(pattern_config(pattern, duration_s=50.0, seed=seed)).recording_columns
    names = ["time_s", *PELVIS_COLUMNS, *(TRUNK_COLUMNS if trunk else ())]
    keep = np.ones(len(columns["time_s"]), dtype=bool)
    keep[lost] = False
    table = np.column_stack([columns[n][keep] for n in names])
    path = tmp_path / f"{pattern}.csv"
    np.savetxt(path, table, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
    return path, np.loadtxt(path, delimiter=",", skiprows=1)


def _play(name: str, times_s: np.ndarray, rows: np.ndarray, clock, ready: threading.Event, start) -> None:
    """An LSL outlet sending ``rows`` stamped ``clock(base + times_s)``, in bursts of 2-3 samples;
    ``start``: a barrier all outlets pass once the station reads them all (one ``base`` for all)."""
    import pylsl

    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "IMU", 6, RATE_HZ, "float32", f"src-{name}"))
    ready.set()
    while not outlet.have_consumers():
        time.sleep(0.01)
    start.wait(30)
    base = start.base[0]
    wall0 = time.monotonic()
    rng = np.random.default_rng(7)
    i = 0
    while i < len(times_s):
        n = int(rng.integers(2, 4))
        burst = slice(i, min(i + n, len(times_s)))
        due = wall0 + times_s[burst.stop - 1] / SPEED
        time.sleep(max(0.0, due - time.monotonic()))
        outlet.push_chunk(rows[burst].tolist(), clock(base + times_s[burst]).tolist())
        i = burst.stop
    time.sleep(1.0)


def _station(pipeline: PipelineRun, names: tuple[str, str | None], duration_s: float) -> tuple[str, LslSource]:
    """The station (``gaitstream station --source lsl``'s code) for one session; its id."""
    pelvis, trunk = names
    start_s = time.time()
    source = LslSource(
        LslStreamQuery("name", pelvis),
        trunk_query=None if trunk is None else LslStreamQuery("name", trunk),
        session_start_s=start_s,
        duration_s=duration_s,
    )
    session = new_session(
        clinic_id="clinic-lsl",
        station_id=f"{pipeline.prefix}-lsl",
        patient_id="p-lsl",
        source=source,
        start_time_us=round(start_s * 1e6),
    )
    publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings())
    try:
        run_stations([StationRun(session=session, source=source)], publisher, frame_samples=10, speed=0.0)
    finally:
        publisher.close()
        source.close()
    return session.session_id, source


def _analyze(path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "gaitstream", "analyze", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)["steps"]


def _outlets(tmp_path, table: np.ndarray, trunk_clock=None) -> tuple[tuple[str, str | None], list[threading.Thread]]:
    tag = uuid.uuid4().hex[:6]
    names = (f"gs-e2e-pelvis-{tag}", None if trunk_clock is None else f"gs-e2e-trunk-{tag}")
    import pylsl

    threads = []
    start = threading.Barrier(
        1 if trunk_clock is None else 2, action=lambda: start.base.append(pylsl.local_clock() + 0.5)
    )
    start.base = []
    for name, cols, clock in (
        (names[0], slice(1, 7), lambda t: t),
        (names[1], slice(7, 13), trunk_clock),
    ):
        if name is None:
            continue
        ready = threading.Event()
        thread = threading.Thread(
            target=_play, args=(name, table[:, 0], table[:, cols], clock, ready, start), daemon=True
        )
        thread.start()
        ready.wait(5)
        threads.append(thread)
    return names, threads


def test_a_recording_sent_in_bursts_with_lost_samples_gives_the_steps_analyze_gives(pipeline, tmp_path) -> None:
    pipeline.start_worker("a")
    lost = np.r_[np.arange(700, 703), np.arange(1850, 1852), 2400, np.arange(3333, 3337)]  # 4 gaps, 10 samples
    path, table = _recording(tmp_path, pattern="trendelenburg_left", seed=21, lost=lost, trunk=False)
    names, threads = _outlets(tmp_path, table)
    session_id, source = _station(pipeline, names, duration_s=50.0 / SPEED + 4.0)
    for thread in threads:
        thread.join(10)
    assert (source.dropped, source.gaps) == (10, 4)
    expected = _analyze(path)
    rows = pipeline.wait_for_steps({session_id: len(expected)}, timeout_s=60)[session_id]
    got = sorted(rows, key=lambda r: r["step_index"])
    assert [(r["step_index"], r["side"]) for r in got] == [(i, s["side"]) for i, s in enumerate(expected)]
    worst = max(abs(r["pelvic_drop_deg"] - s["pelvic_drop_deg"]) for r, s in zip(got, expected, strict=True))
    print(f"lsl_e2e steps={len(expected)} worst_pelvic_drop_diff_deg={worst:.3f}")
    assert worst <= 0.05, worst


def test_a_trunk_30_ms_late_and_drifting_50_ppm_gives_the_lean_of_the_aligned_recording(pipeline, tmp_path) -> None:
    pipeline.start_worker("a")
    path, table = _recording(tmp_path, pattern="compensated_right", seed=22, lost=np.array([], dtype=int), trunk=True)
    t0 = [None]

    def trunk_clock(t):  # the trunk device: 30 ms late, its clock 50 ppm fast
        t0[0] = t[0] if t0[0] is None else t0[0]
        return t + 0.030 + 50e-6 * (t - t0[0])

    names, threads = _outlets(tmp_path, table, trunk_clock)
    session_id, source = _station(pipeline, names, duration_s=50.0 / SPEED + 4.0)
    for thread in threads:
        thread.join(10)
    metadata = source.session_metadata()
    assert metadata["trunk_clock_offset_ms"] == pytest.approx(30.0, abs=3.0)
    expected = _analyze(path)
    rows = pipeline.wait_for_steps({session_id: len(expected)}, timeout_s=60)[session_id]
    got = sorted(rows, key=lambda r: r["step_index"])
    assert [(r["step_index"], r["side"]) for r in got] == [(i, s["side"]) for i, s in enumerate(expected)]
    leans = [(r["trunk_lean_deg"], s["trunk_lean_deg"]) for r, s in zip(got, expected, strict=True)]
    measured = [(a, b) for a, b in leans if a is not None and b is not None]
    assert len(measured) >= 0.9 * len(expected)
    worst = max(abs(a - b) for a, b in measured)
    print(f"lsl_e2e_trunk steps={len(expected)} leans={len(measured)} worst_lean_diff_deg={worst:.3f} clock={metadata}")
    assert worst <= 0.2, worst
    # and the stop event carried the measurements into InfluxDB's session record
    sessions = pipeline.rows(
        f"SELECT trunk_clock_offset_ms, trunk_clock_drift_ppm FROM gait_session WHERE session = '{session_id}'",
        required=("trunk_clock_offset_ms",),
    )
    assert sessions and sessions[-1]["trunk_clock_offset_ms"] == pytest.approx(30.0, abs=3.0)
