import json
import math

import numpy as np
import pytest

from gaitstream.gait.config import GaitConfig
from gaitstream.gait.engine import StepMetrics, StreamingGaitEngine
from tests.gait.conftest import recording_of, simulated


def _feed(engine, rec, chunk, start=0, stop=None):
    stop = len(rec.time_s) if stop is None else stop
    steps = []
    trunk = rec.trunk_acc_mps2 is not None
    for lo in range(start, stop, chunk):
        hi = min(stop, lo + chunk)
        steps += engine.push(
            rec.time_s[lo:hi],
            rec.acc_mps2[lo:hi],
            rec.gyr_dps[lo:hi],
            rec.trunk_acc_mps2[lo:hi] if trunk else None,
            rec.trunk_gyr_dps[lo:hi] if trunk else None,
        )
    return steps


def _same_steps(a: list[StepMetrics], b: list[StepMetrics], tol_deg=0.05):
    assert len(a) == len(b) and len(a) > 10
    for x, y in zip(a, b, strict=True):
        assert (x.index, x.side) == (y.index, y.side)
        assert x.start_s == pytest.approx(y.start_s, abs=1e-9) and x.end_s == pytest.approx(y.end_s, abs=1e-9)
        assert x.pelvic_drop_deg == pytest.approx(y.pelvic_drop_deg, abs=tol_deg)
        if x.trunk_lean_deg is not None:
            assert x.trunk_lean_deg == pytest.approx(y.trunk_lean_deg, abs=tol_deg)


@pytest.fixture(scope="module")
def trunk_rec():
    return recording_of(simulated("trendelenburg_left", trunk=True, duration_s=25.0))


@pytest.fixture(scope="module")
def all_at_once(trunk_rec):
    return _feed(StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True), trunk_rec, len(trunk_rec.time_s))


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_chunking_invariance(trunk_rec, all_at_once, chunk):
    steps = _feed(StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True), trunk_rec, chunk)
    _same_steps(steps, all_at_once)


def test_snapshot_restore_mid_stream(trunk_rec, all_at_once):
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    first = _feed(engine, trunk_rec, 10, 0, 1503)
    snap = json.loads(json.dumps(engine.snapshot()))  # must survive JSON
    restored = StreamingGaitEngine.restore(snap)
    rest = _feed(restored, trunk_rec, 10, 1503)
    _same_steps(first + rest, all_at_once)
    assert [s.index for s in first + rest] == list(range(len(all_at_once)))


def test_snapshot_during_calibration(trunk_rec, all_at_once):
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    first = _feed(engine, trunk_rec, 10, 0, 300)  # still standing
    assert first == [] and engine.calibration is None
    restored = StreamingGaitEngine.restore(json.loads(json.dumps(engine.snapshot())))
    _same_steps(first + _feed(restored, trunk_rec, 10, 300), all_at_once)


def _delays_s(engine, rec, chunk=10):
    """Data time between each step's end IC and the push that returned it."""
    delays = []
    for lo in range(0, len(rec.time_s), chunk):
        hi = min(lo + chunk, len(rec.time_s))
        for step in engine.push(
            rec.time_s[lo:hi],
            rec.acc_mps2[lo:hi],
            rec.gyr_dps[lo:hi],
            rec.trunk_acc_mps2[lo:hi],
            rec.trunk_gyr_dps[lo:hi],
        ):
            delays.append((step.start_s, rec.time_s[hi - 1] - step.end_s))
    return delays


def test_steps_are_out_within_half_a_second(trunk_rec):
    """Standing start: every step, the first ones included (provisional yaw), is out within 0.5 s."""
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    delays = _delays_s(engine, trunk_rec)
    assert len(delays) > 20 and max(d for _, d in delays) <= 0.5
    assert delays[0][0] < 6.5  # the first step after 5 s of standing
    assert engine.calibration["provisional_yaw"] is False  # refined after 8 s of walking
    assert engine.calibration["mounting_deg"]["yaw"] == pytest.approx(8.0, abs=3.0)


def test_without_fast_start_steps_wait_for_calibration(trunk_rec):
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True, config=GaitConfig(standing_fast_start=False))
    delays = _delays_s(engine, trunk_rec)
    assert max(d for _, d in delays) > 5.0
    assert max(d for start, d in delays if start > 16.0) <= 0.5


@pytest.fixture(scope="module")
def walking_rec():
    """No quiet standing: walking from the first sample."""
    return recording_of(simulated("trendelenburg_right", trunk=True, duration_s=25.0, standing_s=0.0))


@pytest.fixture(scope="module")
def walking_all_at_once(walking_rec):
    return _feed(StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True), walking_rec, len(walking_rec.time_s))


def test_without_standing_steps_are_out_within_half_a_second(walking_rec):
    """Provisional walking calibration: the first steps are out within 0.5 s too, refined after 8 s."""
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    delays = _delays_s(engine, walking_rec, chunk=1)
    assert len(delays) > 20 and max(d for _, d in delays) <= 0.5
    assert delays[0][0] < 1.5
    assert engine.calibration["method"] == "walking" and engine.calibration["provisional_yaw"] is False


def test_without_standing_provisional_steps_are_accurate(walking_rec):
    """Steps measured before the refinement (stride reference) agree with the truth like later ones."""
    session = simulated("trendelenburg_right", trunk=True, duration_s=25.0, standing_s=0.0)
    truth = {round(s["start_s"], 2): s for s in session.truth["steps"]}
    steps = _feed(StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True), walking_rec, 10)
    early = [s for s in steps if s.end_s < 8.0]
    assert len(early) >= 8
    errors = []
    for step in early:
        true = min(truth.values(), key=lambda t: abs(t["start_s"] - step.start_s))
        if abs(true["start_s"] - step.start_s) < 0.06 and true["side"] == step.side:
            errors += [step.pelvic_drop_deg - true["pelvic_drop_deg"], step.trunk_lean_deg - true["trunk_lean_deg"]]
    assert len(errors) >= 12 and float(np.mean(np.abs(errors))) < 0.7


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_without_standing_chunking_invariance(walking_rec, walking_all_at_once, chunk):
    _same_steps(_feed(StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True), walking_rec, chunk), walking_all_at_once)


@pytest.mark.parametrize("cut", [30, 203, 555])
def test_without_standing_snapshot_restore(walking_rec, walking_all_at_once, cut):
    """Restore before, during and after the provisional walking calibration."""
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    first = _feed(engine, walking_rec, 10, 0, cut)
    restored = StreamingGaitEngine.restore(json.loads(json.dumps(engine.snapshot())))
    _same_steps(first + _feed(restored, walking_rec, 10, cut), walking_all_at_once)


def test_snapshot_restore_before_yaw_refinement(trunk_rec, all_at_once):
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    first = _feed(engine, trunk_rec, 10, 0, 903)  # 5 s standing + ~4 s walking
    assert engine.calibration["provisional_yaw"] is True and first
    restored = StreamingGaitEngine.restore(json.loads(json.dumps(engine.snapshot())))
    _same_steps(first + _feed(restored, trunk_rec, 10, 903), all_at_once)


def test_bounded_state():
    rec = recording_of(simulated("normal", duration_s=120.0))
    engine = StreamingGaitEngine(sampling_rate_hz=100.0)
    sizes = []
    for lo in range(0, len(rec.time_s), 1000):
        _feed(engine, rec, 100, lo, min(lo + 1000, len(rec.time_s)))
        engine.drain_trace()  # output, held until drained
        sizes.append(len(json.dumps(engine.snapshot())))
    assert max(sizes[3:]) < 1.5 * min(sizes[3:])


def test_trace_is_drained_once(trunk_rec):
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    _feed(engine, trunk_rec, 500, 0, 2000)
    t, phi, lean = engine.drain_trace()
    assert len(t) == len(phi) == len(lean) == 2000 and t[0] == trunk_rec.time_s[0]
    assert len(engine.drain_trace()[0]) == 0
    assert engine.calibration["method"] == "standing"
    assert set(engine.calibration["mounting_deg"]) == {"roll", "pitch", "yaw"}


def test_standing_only_gives_no_steps():
    t = np.arange(2000) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (2000, 1)) + np.random.default_rng(0).normal(0, 0.03, (2000, 3))
    engine = StreamingGaitEngine()
    assert engine.push(t, acc, np.zeros((2000, 3))) == []
    with pytest.warns(UserWarning, match="yaw"):
        assert engine.finish() == []


def test_a_few_steps():
    rec = recording_of(simulated("normal", duration_s=8.0, standing_s=3.0))
    engine = StreamingGaitEngine()
    steps = _feed(engine, rec, 50) + engine.finish()
    assert 4 <= len(steps) <= 9


def test_gaps_and_nans_are_tolerated():
    rec = recording_of(simulated("normal", duration_s=30.0))
    keep = np.ones(len(rec.time_s), dtype=bool)
    rng = np.random.default_rng(3)
    for start in rng.integers(600, 2900, 40):
        keep[start : start + rng.integers(1, 5)] = False  # lost packets of 1–4 samples
    acc = rec.acc_mps2.copy()
    acc[rng.integers(600, 2900, 30)] = np.nan
    engine = StreamingGaitEngine()
    steps = engine.push(rec.time_s[keep], acc[keep], rec.gyr_dps[keep])
    reference = StreamingGaitEngine().push(rec.time_s, rec.acc_mps2, rec.gyr_dps)
    assert abs(len(steps) - len(reference)) <= 2
    assert np.median([s.pelvic_drop_deg for s in steps]) == pytest.approx(
        np.median([s.pelvic_drop_deg for s in reference]), abs=0.3
    )


def test_long_gap_ends_the_bout():
    rec = recording_of(simulated("normal", duration_s=30.0))
    cut = (rec.time_s < 15.0) | (rec.time_s > 17.0)
    steps = StreamingGaitEngine().push(rec.time_s[cut], rec.acc_mps2[cut], rec.gyr_dps[cut])
    assert not any(s.start_s < 15.0 < s.end_s for s in steps)


def test_clipped_accelerometer_still_works():
    rec = recording_of(simulated("normal", duration_s=30.0))
    acc = np.clip(rec.acc_mps2, -12.0, 12.0)
    steps = StreamingGaitEngine().push(rec.time_s, acc, rec.gyr_dps)
    assert len(steps) > 30 and all(math.isfinite(s.pelvic_drop_deg) for s in steps)


@pytest.mark.parametrize("fs", [60.0, 200.0])
def test_other_sampling_rates(fs):
    rec = recording_of(simulated("normal", duration_s=25.0, sampling_rate_hz=fs))
    steps = StreamingGaitEngine(sampling_rate_hz=fs).push(rec.time_s, rec.acc_mps2, rec.gyr_dps)
    assert len(steps) > 25
    assert {s.side for s in steps} == {"left", "right"}


def test_axes_and_units_of_raw_input():
    rec = recording_of(simulated("normal", duration_s=20.0))
    body = StreamingGaitEngine().push(rec.time_s, rec.acc_mps2, rec.gyr_dps)
    # the same data from a sensor with x=up, y=right, z=forward, in g and rad/s
    to_sensor = np.array([[0, 0, 1], [0, -1, 0], [1, 0, 0]], dtype=float)  # rows: sensor axes in body
    cfg = GaitConfig(axes="x=up,y=right,z=forward", acc_unit="g", gyr_unit="rads")
    raw = StreamingGaitEngine(config=cfg).push(
        rec.time_s, rec.acc_mps2 @ to_sensor.T / 9.80665, np.radians(rec.gyr_dps @ to_sensor.T)
    )
    _same_steps(raw, body, tol_deg=1e-6)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        StreamingGaitEngine(sampling_rate_hz=5.0)
    with pytest.raises(ValueError):
        StreamingGaitEngine(axes="x=up,y=up,z=left")
    engine = StreamingGaitEngine(trunk=True)
    with pytest.raises(ValueError, match="trunk"):
        engine.push([0.0], [[0, 0, 9.8]], [[0, 0, 0]])
    engine = StreamingGaitEngine()
    engine.push([1.0], [[0, 0, 9.8]], [[0, 0, 0]])
    assert engine.push([0.5], [[0, 0, 9.8]], [[0, 0, 0]]) == []  # dropped, counted
    assert engine.rejected_samples["time_not_increasing"] == 1 and engine.last_time_s == 1.0


def test_restore_rejects_unknown_version(trunk_rec):
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    snap = engine.snapshot()
    snap["version"] = 1
    with pytest.raises(ValueError, match="version"):
        StreamingGaitEngine.restore(snap)


def test_empty_push_is_a_no_op():
    engine = StreamingGaitEngine()
    assert engine.push(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))) == []


def test_initial_contacts_cover_the_steps(trunk_rec):
    assert StreamingGaitEngine().drain_initial_contacts() == []  # off by default (live)
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True, keep_initial_contacts=True)
    steps = _feed(engine, trunk_rec, 50) + engine.finish()
    ics = engine.drain_initial_contacts()
    assert engine.drain_initial_contacts() == []
    times = [t for t, _ in ics]
    assert times == sorted(times) and len(ics) >= len(steps) + 1
    by_time = dict(ics)
    for step in steps:
        assert by_time[step.start_s] == step.side
        assert by_time[step.end_s] == ("right" if step.side == "left" else "left")


def test_initial_contacts_survive_snapshot(trunk_rec):
    whole = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True, keep_initial_contacts=True)
    _feed(whole, trunk_rec, 100)
    whole.finish()
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True, keep_initial_contacts=True)
    _feed(engine, trunk_rec, 10, 0, 1507)
    restored = StreamingGaitEngine.restore(json.loads(json.dumps(engine.snapshot())))
    _feed(restored, trunk_rec, 10, 1507)
    restored.finish()
    assert restored.drain_initial_contacts() == whole.drain_initial_contacts()


@pytest.mark.parametrize("cut", [30, 400, 1503])
def test_restore_upgrades_version_3(walking_rec, walking_all_at_once, cut):
    """A version-3 snapshot (no IC before the last one) resumes; held samples are not lost."""
    engine = StreamingGaitEngine(
        sampling_rate_hz=100.0, trunk=True, config=GaitConfig(walking_fast_start=False)
    )  # what version 3 did
    first = _feed(engine, walking_rec, 10, 0, cut)
    snap = json.loads(json.dumps(engine.snapshot()))
    del snap["ic_before_last"]
    del snap["config"]["walking_fast_start"], snap["config"]["provisional_walking_s"]
    snap["version"] = 3
    restored = StreamingGaitEngine.restore(snap)
    assert restored.config.walking_fast_start is True  # the new default
    rest = _feed(restored, walking_rec, 10, cut)
    steps = first + rest
    assert [s.index for s in steps] == list(range(len(steps)))
    assert len(steps) >= len(walking_all_at_once) - 2
    late = {round(s.start_s, 2): s for s in walking_all_at_once if s.start_s > 12.0}
    for step in steps:
        if round(step.start_s, 2) in late:
            assert step.pelvic_drop_deg == pytest.approx(late[round(step.start_s, 2)].pelvic_drop_deg, abs=0.05)


def test_restore_upgrades_version_2(trunk_rec, all_at_once):
    """A worker restarted on this version resumes from a version-2 snapshot (no rhythm/IC-log state)."""
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    first = _feed(engine, trunk_rec, 10, 0, 1503)
    snap = json.loads(json.dumps(engine.snapshot()))
    for key in ("refine_at", "keep_initial_contacts", "ic_log", "feature_mean"):
        del snap[key]
    del snap["ic"]["typical_interval"]
    del snap["calibration"]["provisional_yaw"]
    snap["version"] = 2
    rest = _feed(StreamingGaitEngine.restore(snap), trunk_rec, 10, 1503)
    assert len(first + rest) >= len(all_at_once) - 2
    assert [s.index for s in first + rest] == list(range(len(first + rest)))


def test_restore_upgrades_version_5(trunk_rec, all_at_once):
    """A version-5 snapshot (no lever-arm compensation) resumes; its trunk lean goes on without one."""
    engine = StreamingGaitEngine(sampling_rate_hz=100.0, trunk=True)
    first = _feed(engine, trunk_rec, 10, 0, 1503)
    snap = json.loads(json.dumps(engine.snapshot()))
    for key in ("trunk_lever", "trunk_lever_method"):
        del snap[key]
    for key in ("trunk_lever_arm_m", "trunk_lever_arm_method"):
        del snap["calibration"][key]
    snap["version"] = 5
    restored = StreamingGaitEngine.restore(snap)
    assert restored._trunk_lever.height_m == 0.0
    rest = _feed(restored, trunk_rec, 10, 1503)
    steps = first + rest
    assert [s.index for s in steps] == list(range(len(steps)))
    assert len(steps) >= len(all_at_once) - 2
    assert all(s.trunk_lean_deg is not None for s in rest)
