"""Corrupted samples are gaps, not poison (issue 13): the sample gate, re-levelling and the analyzer."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from benchmarks.gait_corruption import analyse, cases, score
from gaitstream.gait.engine import StreamingGaitEngine
from gaitstream.gait.orientation import FusionOrientation, up_in_sensor
from gaitstream.gait.sanitize import IMPULSE_HOLD_S, SampleGate
from gaitstream.simulate import pattern_config, simulate_session

AT_S = 20.0


@pytest.fixture(scope="module")
def walk():
    """A 45 s walk with a trunk sensor, its columns and its clean analysis."""
    session = simulate_session(
        pattern_config(
            "compensated_left_unilateral",
            duration_s=45.0,
            standing_s=5.0,
            seed=7,
            mounting_deg=(5.0, 25.0, -5.0),
            gyr_bias_dps=0.5,
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        clean = analyse(session.recording_columns, Path(tmp))
    return session.recording_columns, clean


CASES = [
    "spike gyr_y 1.0e+30",
    "spike acc_z 3.4e+38",
    "spike gyr_x 1.0e+03",
    "spike trunk_gyr_z -1.0e+30",
    "nan burst pelvis 2 s",
    "+inf burst pelvis 0.5 s",
    "stuck gyr_x 10 s",
    "gyro noise ±2000 pelvis 1 s",
    "gyro noise ±2000 trunk 1 s",
    "duplicated rows 1 s",
    "backwards times (10 rows -0.5 s)",
    "one time 1000 s ahead",
    "time jump +5 s",
]


@pytest.mark.parametrize("name", CASES)
def test_corruption_costs_only_the_steps_around_it(walk, name):
    columns, clean = walk
    corrupt = cases(trunk=True)[name]
    bad, lo, hi = corrupt(columns, int(np.searchsorted(columns["time_s"], AT_S)), 100.0, np.random.default_rng(5))
    with tempfile.TemporaryDirectory() as tmp:
        found = analyse(bad, Path(tmp))
    scored = score(clean, found, (lo, hi), AT_S if name.startswith("time jump") else None)
    assert scored["steps_lost"] == 0, scored
    assert scored["median_change_deg"] <= 0.3, scored
    assert scored["finite"], scored
    # the filters recovered: 2-4 s after the span the obliquity is back near the clean run's
    assert scored["obliquity_error_after_deg"] <= 2.5, scored
    if not name.startswith("time jump"):
        assert found["recording"]["rejected_samples"] >= 1
        assert sum(found["recording"]["rejected_by_reason"].values()) == found["recording"]["rejected_samples"]


def test_the_issues_case_one_flipped_bit_in_a_100_s_walk_loses_nothing():
    """Issue 13: 1e30 at 20 s of a 100 s walk had left 22 of 98 steps."""
    session = simulate_session(pattern_config("normal", trunk=False, duration_s=100.0, standing_s=5.0, seed=3))
    columns = session.recording_columns
    with tempfile.TemporaryDirectory() as tmp:
        clean = analyse(columns, Path(tmp))
        bad = {k: v.copy() for k, v in columns.items()}
        bad["gyr_z"][int(np.searchsorted(columns["time_s"], AT_S))] = 1e30
        found = analyse(bad, Path(tmp))
    assert len(found["steps"]) == len(clean["steps"]) > 150
    assert found["recording"]["rejected_by_reason"] == {"out_of_range": 1}


def test_random_float32_bit_patterns_never_make_a_non_finite_output():
    rng = np.random.default_rng(0)
    session = simulate_session(pattern_config("trendelenburg_right", duration_s=30.0, standing_s=3.0, seed=1))
    c = session.recording_columns
    acc = np.column_stack([c["acc_x"], c["acc_y"], c["acc_z"]])
    gyr = np.column_stack([c["gyr_x"], c["gyr_y"], c["gyr_z"]])
    tacc = np.column_stack([c["trunk_acc_x"], c["trunk_acc_y"], c["trunk_acc_z"]])
    tgyr = np.column_stack([c["trunk_gyr_x"], c["trunk_gyr_y"], c["trunk_gyr_z"]])
    arrays = [acc, gyr, tacc, tgyr]
    hit = rng.choice(len(c["time_s"]), 300, replace=False)  # 1 % of rows, any column
    for row in hit:  # float32 NaN patterns included
        bits = np.array([rng.integers(0, 2**32)], dtype=np.uint32)
        arrays[rng.integers(4)][row, rng.integers(3)] = float(bits.view(np.float32)[0])
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    steps = []
    for lo in range(0, len(c["time_s"]), 10):
        sl = slice(lo, lo + 10)
        steps += engine.push(c["time_s"][sl], acc[sl], gyr[sl], tacc[sl], tgyr[sl])
        _, phi, lean = engine.drain_trace()
        assert np.isfinite(phi).all() and np.isfinite(lean).all()
    steps += engine.finish()
    assert len(steps) > 30
    assert all(math.isfinite(s.pelvic_drop_deg) and math.isfinite(s.trunk_lean_deg) for s in steps)
    assert engine.rejected_samples["non_finite"] + engine.rejected_samples["out_of_range"] > 0


# ------------------------------------------------------------------- sample gate
def _walking_rows(n: int, fs: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / fs
    rows = np.column_stack(
        [
            np.sin(2 * np.pi * 1.7 * t),
            0.5 * np.cos(2 * np.pi * 0.9 * t),
            9.8 + np.sin(2 * np.pi * 1.8 * t),
            30 * np.sin(2 * np.pi * 0.9 * t),
            20 * np.cos(2 * np.pi * 1.8 * t),
            25 * np.sin(2 * np.pi * 0.9 * t + 1),
        ]
    )
    return t, rows


def test_gate_removes_an_impulse_and_its_hold_and_nothing_else():
    t, rows = _walking_rows(200)
    rows[100, 4] = 1000.0  # within a +-2000 deg/s sensor's range, not a motion
    gate = SampleGate(sampling_rate_hz=100.0, width=6)
    keep = gate.screen(t, rows)
    removed = np.flatnonzero(~keep)
    assert removed[0] == 100 and t[removed[-1]] < t[100] + IMPULSE_HOLD_S + 0.011
    assert gate.rejected["gyro_impulse"] == len(removed) and gate.rejected_total == len(removed)
    assert SampleGate(sampling_rate_hz=100.0, width=6).screen(*_walking_rows(200)) is None  # clean walking


def test_gate_is_the_same_whatever_the_frames():
    t, rows = _walking_rows(600)
    rows[100, 4] = 1000.0
    rows[300:400, 3] = rows[300, 3]  # stuck while walking
    rows[450, 0] = np.nan
    whole = SampleGate(sampling_rate_hz=100.0, width=6).screen(t, rows)
    gate = SampleGate(sampling_rate_hz=100.0, width=6)
    parts = []
    for lo in range(0, 600, 7):
        mask = gate.screen(t[lo : lo + 7], rows[lo : lo + 7])
        parts.append(np.ones(len(t[lo : lo + 7]), dtype=bool) if mask is None else mask)
    framed = np.concatenate(parts)
    # the row before an impulse is caught in the same push only: allow that one row
    assert (framed != whole).sum() <= 1
    # stuck from row 300: judged once it has lasted STUCK_MIN_S (row 325), while the sensor turns
    assert whole[300:325].all() and (~whole[325:400]).mean() > 0.9 and whole[400:449].all()


def test_stuck_axis_at_rest_is_not_judged():
    t = np.arange(300) / 100.0
    rows = np.tile([0.0, 0.0, 9.81, 0.1, -0.2, 0.0], (300, 1))
    rows[:, 5] += np.random.default_rng(1).normal(0, 0.05, 300)  # one axis with noise, the others repeat
    assert SampleGate(sampling_rate_hz=100.0, width=6).screen(t, rows) is None


def test_gate_state_round_trip():
    t, rows = _walking_rows(300)
    rows[150, 3] = -1500.0
    a = SampleGate(sampling_rate_hz=100.0, width=6)
    a.screen(t[:151], rows[:151])
    b = SampleGate(sampling_rate_hz=100.0, width=6)
    b.load_state(a.state())
    ka, kb = a.screen(t[151:], rows[151:]), b.screen(t[151:], rows[151:])
    assert (ka is None and kb is None) or np.array_equal(ka, kb)
    assert a.rejected == b.rejected


# ------------------------------------------------------------------- re-levelling
def test_settle_recovers_a_stale_orientation_from_a_second_of_walking():
    session = simulate_session(pattern_config("trendelenburg_left", trunk=False, duration_s=30.0, seed=3))
    c = session.recording_columns
    acc = np.column_stack([c["acc_x"], c["acc_y"], c["acc_z"]])
    gyr = np.column_stack([c["gyr_x"], c["gyr_y"], c["gyr_z"]])
    f = FusionOrientation(sampling_rate_hz=100.0)
    q = f.update(acc, gyr)
    k = 2000
    w, x, y, z = q[k - 1]
    off = Rotation.from_quat([x, y, z, w]) * Rotation.from_euler("x", 10.0, degrees=True)  # 10 deg off
    x, y, z, w = off.as_quat()
    stale = np.array([w, x, y, z])
    true_up, settled = (
        up_in_sensor(q[k - 1 : k])[0],
        f.settle(acc[k : k + 100], gyr[k : k + 100], passes=4, start=stale),
    )
    angle = math.degrees(math.acos(min(1.0, float(true_up @ up_in_sensor(settled[None])[0]))))
    stale_angle = math.degrees(math.acos(min(1.0, float(true_up @ up_in_sensor(stale[None])[0]))))
    assert stale_angle > 9.0 and angle < 2.0


def test_a_gap_is_relevelled_the_same_whatever_the_frames_and_across_a_snapshot():
    session = simulate_session(pattern_config("trendelenburg_left", duration_s=40.0, seed=4))
    c = session.recording_columns
    keep = ~((c["time_s"] > 20.0) & (c["time_s"] < 20.6))  # 0.6 s lost: a break, then re-levelled
    cols = {k: v[keep] for k, v in c.items()}
    stack = lambda p: np.column_stack([cols[p + "_x"], cols[p + "_y"], cols[p + "_z"]])  # noqa: E731
    data = [cols["time_s"], stack("acc"), stack("gyr"), stack("trunk_acc"), stack("trunk_gyr")]

    def run(frame: int, cut: int | None = None) -> list:
        engine, steps = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True), []
        for lo in range(0, len(data[0]), frame):
            if cut is not None and lo == cut:
                engine = StreamingGaitEngine.restore(engine.snapshot())
            steps += engine.push(*(d[lo : lo + frame] for d in data))
        return steps + engine.finish()

    whole, framed = run(len(data[0])), run(10)
    restored = run(10, cut=2030)  # inside the re-levelling window after the gap
    for other in (framed, restored):
        assert [(s.side, round(s.start_s, 3)) for s in other] == [(s.side, round(s.start_s, 3)) for s in whole]
        assert max(abs(a.pelvic_drop_deg - b.pelvic_drop_deg) for a, b in zip(other, whole, strict=True)) < 1e-6
