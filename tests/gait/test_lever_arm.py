"""The trunk sensor's lever arm: its acceleration, its height, and the lean that holds with it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gaitstream.gait.calibration import GRAVITY_MPS2, MountingCalibration, rotation_from_rpy_deg
from gaitstream.gait.config import GaitConfig
from gaitstream.gait.engine import StreamingGaitEngine
from gaitstream.gait.lever_arm import (
    LeverArmCompensation,
    fit_on_pivot,
    horizontal,
    lever_acceleration_per_m,
    smooth_lever_acceleration_per_m,
)
from gaitstream.gait.offline import analyze_recording
from gaitstream.gait.orientation import FusionOrientation
from tests.gait.conftest import recording_of, simulated

FS_HZ = 100.0
UP = np.array([0.0, 0.0, 1.0])


def test_constant_rate_gives_the_centripetal_acceleration():
    """A point 1 m up a segment turning at 2 rad/s about the forward axis: ω²·r toward the axis."""
    w = np.tile([2.0, 0.0, 0.0], (5, 1))
    acc = lever_acceleration_per_m(w, w[0], UP, FS_HZ)
    np.testing.assert_allclose(acc, np.tile([0.0, 0.0, -4.0], (5, 1)), atol=1e-12)


def test_angular_acceleration_gives_the_tangential_acceleration():
    """From rest, 3 rad/s² about the forward axis: the top of the segment accelerates to −y (right)."""
    w = np.outer(np.arange(1, 6) / FS_HZ * 3.0, [1.0, 0.0, 0.0])
    acc = lever_acceleration_per_m(w, np.zeros(3), UP, FS_HZ)
    # ω̇ × z = (3, 0, 0) × (0, 0, 1) = (0, −3, 0); the centripetal part is tiny here
    np.testing.assert_allclose(acc[:, 1], -3.0, atol=1e-12)
    np.testing.assert_allclose(acc[:, 2], -((np.arange(1, 6) / FS_HZ * 3.0) ** 2), atol=1e-12)


def test_matches_numpy_cross_products_for_any_axis():
    rng = np.random.default_rng(3)
    w, previous = rng.normal(size=(20, 3)), rng.normal(size=3)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    w_dot = np.diff(np.vstack([previous, w]), axis=0) * FS_HZ
    expected = np.cross(w_dot, axis) + np.cross(w, np.cross(w, axis))
    np.testing.assert_allclose(lever_acceleration_per_m(w, previous, axis, FS_HZ), expected, atol=1e-12)


def test_compensation_does_not_depend_on_the_frames():
    rng = np.random.default_rng(4)
    acc, gyr = rng.normal(size=(300, 3)), rng.normal(scale=30.0, size=(300, 3))
    whole = LeverArmCompensation(height_m=0.45, axis=UP, gyr_bias_dps=np.ones(3), sampling_rate_hz=FS_HZ)
    framed = LeverArmCompensation(height_m=0.45, axis=UP, gyr_bias_dps=np.ones(3), sampling_rate_hz=FS_HZ)
    out = [framed.correct(acc[lo : lo + 7], gyr[lo : lo + 7]) for lo in range(0, 300, 7)]
    np.testing.assert_allclose(np.concatenate(out), whole.correct(acc, gyr), atol=1e-12)
    restored = LeverArmCompensation.from_state(
        json.loads(json.dumps(whole.state())), gyr_bias_dps=np.ones(3), sampling_rate_hz=FS_HZ
    )
    np.testing.assert_allclose(restored.correct(acc[:5], gyr[:5]), framed.correct(acc[:5], gyr[:5]))


def test_zero_height_passes_the_acceleration_through():
    acc = np.arange(12.0).reshape(4, 3)
    lever = LeverArmCompensation(height_m=0.0, axis=UP, gyr_bias_dps=np.zeros(3), sampling_rate_hz=FS_HZ)
    assert lever.correct(acc, np.full((4, 3), 50.0)) is acc


def _trunk_columns(session):
    rec = recording_of(session)
    return rec.trunk_acc_mps2, rec.trunk_gyr_dps


@pytest.mark.parametrize("height_m", [0.0, 0.3, 0.45, 0.6])
def test_simulated_sensor_feels_its_lever_arm(height_m):
    """The simulator's trunk sensor at h minus the same sensor at the pivot is h·(ω̇ × z + ω × (ω × z)),
    computed here from the simulated gyroscope alone (an independent check of the simulator's second
    differences of positions)."""
    kwargs = dict(trunk=True, duration_s=14.0, mounting_deg=(0.0, 0.0, 0.0), acc_noise_mps2=0.0, gyr_noise_dps=0.0)
    at_pivot = _trunk_columns(simulated("compensated_left", trunk_sensor_height_m=0.0, **kwargs))
    acc, gyr = _trunk_columns(simulated("compensated_left", trunk_sensor_height_m=height_m, **kwargs))
    np.testing.assert_allclose(gyr, at_pivot[1], atol=1e-9)
    per_m = smooth_lever_acceleration_per_m(gyr, np.zeros(3), UP, FS_HZ)
    walking = slice(700, 1300)
    lever = (acc - at_pivot[0])[walking]
    residual = lever - height_m * per_m[walking]
    # the rate is smoothed before it is differentiated: the angular acceleration's small steps at
    # each IC (the step phase is C1) are rounded off, within a tenth of the lever term's RMS
    rms = lambda x: float(np.sqrt((x * x).mean()))  # noqa: E731
    assert rms(residual) <= 0.1 * rms(lever) + 1e-9
    if height_m >= 0.3:  # a 9° one-sided lean at 0.3 m or more: metres per second squared sideways
        assert np.percentile(np.abs(lever[:, 1]), 95) > 1.0


def _fit_inputs(session, standing_s: float = 4.5):
    """What the engine gives fit_on_pivot: the trunk's specific force, up, lever term per metre and
    yaw-0 forward axis, and the pelvis's horizontal acceleration in its body frame."""
    rec = recording_of(session)
    acc, gyr = rec.trunk_acc_mps2, rec.trunk_gyr_dps
    pelvis = MountingCalibration().calibrate(rec.acc_mps2, rec.gyr_dps, FS_HZ)
    pelvis_up = FusionOrientation(sampling_rate_hz=FS_HZ, gyr_bias_dps=pelvis.gyr_bias_dps_).update_up(
        rec.acc_mps2, rec.gyr_dps
    )
    pelvis.track_yaw(rec.acc_mps2, pelvis_up, FS_HZ)
    pivot = horizontal(rec.acc_mps2 - GRAVITY_MPS2 * pelvis_up, pelvis_up, pelvis.rotation_[0])
    standing = int(standing_s * FS_HZ)
    bias = gyr[:standing].mean(axis=0)
    up_mean = acc[:standing].mean(axis=0)
    axis = up_mean / np.linalg.norm(up_mean)  # the trunk's long axis from standing
    trunk = MountingCalibration().calibrate(acc, gyr, FS_HZ, standing_samples=standing)
    forward = rotation_from_rpy_deg(trunk.mounting_deg_["roll"], trunk.mounting_deg_["pitch"], 0.0)[0]
    up = FusionOrientation(sampling_rate_hz=FS_HZ, gyr_bias_dps=bias).update_up(acc, gyr)
    per_m = smooth_lever_acceleration_per_m(gyr, bias, axis, FS_HZ)
    return acc, up, per_m, pivot, forward


@pytest.mark.parametrize("height_m", [0.15, 0.3, 0.45, 0.6])
@pytest.mark.parametrize("pattern", ["compensated_left", "compensated_right"])
def test_height_is_fitted_from_walking(pattern, height_m):
    session = simulated(pattern, trunk=True, duration_s=16.0, trunk_sensor_height_m=height_m)
    acc, up, per_m, pivot, forward = _fit_inputs(session)
    found, yaw_deg = fit_on_pivot(
        acc, up, per_m, pivot, forward_axis=forward, sampling_rate_hz=FS_HZ, walking_start=int(5.0 * FS_HZ)
    )
    assert found == pytest.approx(height_m, abs=0.06)
    assert yaw_deg is not None


def test_height_needs_walking_and_rotation():
    still = np.tile([0.0, 0.0, 9.81], (500, 1))
    up = np.tile(UP, (500, 1))
    no_rotation = np.zeros((500, 3))
    pivot = np.zeros(500, dtype=complex)
    forward = np.array([1.0, 0.0, 0.0])

    def fit(n: int):
        return fit_on_pivot(
            still[:n], up[:n], no_rotation[:n], pivot[:n], forward_axis=forward, sampling_rate_hz=FS_HZ, walking_start=0
        )

    assert fit(500)[0] is None  # walking enough, but nothing rotates
    assert fit(200) == (None, None)  # too little walking


@pytest.mark.parametrize("height_m", [0.0, 0.45, 0.6])
@pytest.mark.parametrize("pattern", ["compensated_left", "compensated_right"])
def test_lean_holds_with_the_sensor_above_the_pivot(pattern, height_m):
    """One-sided compensation of about 9° is read within a degree per side, and classified, at any height;
    the engine reports the height it fitted."""
    session = simulated(pattern, trunk=True, duration_s=45.0, trunk_sensor_height_m=height_m)
    found = analyze_recording(recording_of(session))
    truth = session.truth
    assert found["calibration"]["trunk_lever_arm_method"] == "fitted"
    assert found["calibration"]["trunk_lever_arm_m"] == pytest.approx(height_m, abs=0.1)
    assert found["summary"]["classification"] == truth["summary"]["classification"]
    for side in ("left", "right"):
        true_median = truth["summary"][side]["trunk_lean_deg_median"]
        assert found["summary"][side]["trunk_lean_deg_median"] == pytest.approx(true_median, abs=1.0)


def test_engine_reports_the_fitted_height_and_a_configured_one():
    session = simulated("compensated_left", trunk=True, duration_s=25.0, trunk_sensor_height_m=0.45)
    rec = recording_of(session)
    fitted = StreamingGaitEngine(sampling_rate_hz=FS_HZ, trunk=True)
    fitted.push(rec.time_s, rec.acc_mps2, rec.gyr_dps, rec.trunk_acc_mps2, rec.trunk_gyr_dps)
    assert fitted.calibration["trunk_lever_arm_method"] == "fitted"
    assert fitted.calibration["trunk_lever_arm_m"] == pytest.approx(0.45, abs=0.06)
    fixed = StreamingGaitEngine(sampling_rate_hz=FS_HZ, trunk=True, config=GaitConfig(trunk_sensor_height_m=0.3))
    fixed.push(rec.time_s, rec.acc_mps2, rec.gyr_dps, rec.trunk_acc_mps2, rec.trunk_gyr_dps)
    assert (fixed.calibration["trunk_lever_arm_method"], fixed.calibration["trunk_lever_arm_m"]) == ("configured", 0.3)


def test_without_the_compensation_the_lean_is_read_short():
    """What the compensation does once the yaw is right: the same session read as if the sensor sat
    on the pivot loses about two thirds of a degree of a one-sided lean (the filter pulled upright)."""
    session = simulated("compensated_left_unilateral", trunk=True, duration_s=45.0, trunk_sensor_height_m=0.6)
    truth = session.truth["summary"]["left"]["trunk_lean_deg_median"]
    blind = analyze_recording(recording_of(session), GaitConfig(trunk_sensor_height_m=0.0))
    seen = analyze_recording(recording_of(session))
    assert truth - blind["summary"]["left"]["trunk_lean_deg_median"] > 0.5
    assert abs(seen["summary"]["left"]["trunk_lean_deg_median"] - truth) < 0.2


@pytest.mark.parametrize("cadence_spm", [80.0, 125.0, 155.0])
@pytest.mark.parametrize("pattern", ["normal", "trendelenburg_right", "compensated_left_unilateral"])
def test_height_and_yaw_hold_at_any_cadence(pattern, cadence_spm):
    """Fitted against the pelvis (the pivot's own acceleration in the model), the height and the
    trunk's mounting yaw do not drift with the cadence: a height-only fit read 0.5-0.6 m for 0.3 m
    at brisk walking and turned the yaw by up to 89°."""
    session = simulated(
        pattern,
        trunk=True,
        duration_s=30.0,
        cadence_spm=cadence_spm,
        trunk_sensor_height_m=0.3,
        trunk_mounting_deg=(-4.0, 8.0, -15.0),
    )
    rec = recording_of(session)
    engine = StreamingGaitEngine(sampling_rate_hz=FS_HZ, trunk=True)
    engine.push(rec.time_s, rec.acc_mps2, rec.gyr_dps, rec.trunk_acc_mps2, rec.trunk_gyr_dps)
    # the trunk's yaw is fitted in the pelvis's frame (true pelvis yaw 8°, trunk −15°): what the
    # pelvis's own yaw estimate misses (4° at 155 steps/min) the trunk shares, and the lean with it
    pelvis_yaw = engine.calibration["mounting_deg"]["yaw"]
    assert engine.calibration["trunk_mounting_deg"]["yaw"] - pelvis_yaw == pytest.approx(-15.0 - 8.0, abs=2.0)
    assert engine.calibration["trunk_lever_arm_m"] == pytest.approx(0.3, abs=0.17)
    found = analyze_recording(rec)["summary"]
    truth = session.truth["summary"]
    for side in ("left", "right"):
        assert found[side]["trunk_lean_deg_median"] == pytest.approx(truth[side]["trunk_lean_deg_median"], abs=0.7)
