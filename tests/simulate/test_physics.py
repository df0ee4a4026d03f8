"""Physical consistency of the simulated IMU signals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from gaitstream.simulate import pattern_config
from gaitstream.simulate.imu import GRAVITY_MPS2, to_body_frame
from gaitstream.simulate.render import SessionModel


def _quiet(**overrides):
    return pattern_config("trendelenburg_left", acc_noise_mps2=0.0, gyr_noise_dps=0.0, **overrides)


def _body(model: SessionModel, columns: dict, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    acc = np.column_stack([columns[f"{prefix}acc_{a}"] for a in "xyz"])
    gyr = np.column_stack([columns[f"{prefix}gyr_{a}"] for a in "xyz"])
    mounting = model.mounting if prefix == "" else model.trunk_mounting
    return to_body_frame(acc, mounting, model.axes_matrix), to_body_frame(gyr, mounting, model.axes_matrix)


def test_rest_with_postural_sway_stays_near_gravity_and_zero_rate():
    cfg = _quiet(duration_s=10.0, standing_s=5.0, sway_deg=0.5)
    cols = SessionModel(cfg).render(0, cfg.n_samples)
    rest = cols["time_s"] < 4.9
    acc = np.column_stack([cols[f"acc_{a}"] for a in "xyz"])[rest]
    gyr = np.column_stack([cols[f"gyr_{a}"] for a in "xyz"])[rest]
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), GRAVITY_MPS2, atol=1e-9)
    assert 0.0 < np.abs(gyr).max() < 2.0


def test_rest_reads_gravity_up_and_no_rotation():
    cfg = _quiet(duration_s=10.0, standing_s=5.0, mounting_deg=(12.0, 35.0, -18.0), sway_deg=0.0)
    model = SessionModel(cfg)
    cols = model.render(0, cfg.n_samples)
    rest = cols["time_s"] < 4.9
    for prefix in ("", "trunk_"):
        acc = np.column_stack([cols[f"{prefix}acc_{a}"] for a in "xyz"])[rest]
        gyr = np.column_stack([cols[f"{prefix}gyr_{a}"] for a in "xyz"])[rest]
        np.testing.assert_allclose(np.linalg.norm(acc, axis=1), GRAVITY_MPS2, atol=1e-9)
        np.testing.assert_allclose(gyr, 0.0, atol=1e-9)
    # Positive pitch tilts the sensor's forward axis down: acc_x < 0 at rest.
    assert cols["acc_x"][rest].mean() == pytest.approx(-GRAVITY_MPS2 * np.sin(np.radians(35.0)), abs=1e-9)


@pytest.mark.parametrize("sampling_rate_hz", [60.0, 100.0, 200.0])
def test_integrated_gyroscope_reproduces_orientation(sampling_rate_hz):
    """Chaining the gyro increments from the known start reproduces R(t) within 0.2 deg over 60 s."""
    cfg = _quiet(
        duration_s=65.0,
        standing_s=5.0,
        sampling_rate_hz=sampling_rate_hz,
        mounting_deg=(10.0, 30.0, -15.0),
        axes="x=up,y=right,z=forward",
        cadence_cv_pct=3.0,
    )
    model = SessionModel(cfg)
    cols = model.render(0, cfg.n_samples)
    for prefix, truth_at in (("", model.kinematics.pelvis_rotation), ("trunk_", model.kinematics.trunk_rotation)):
        _, gyr_body_dps = _body(model, cols, prefix)
        period_s = 1.0 / sampling_rate_hz
        increments = Rotation.from_rotvec(np.radians(gyr_body_dps) * period_s)
        # Each sample's rate spans [t - T/2, t + T/2]; the session starts at rest.
        orientation = truth_at(np.array([cols["time_s"][0]]))[0]
        worst_deg = 0.0
        for n in range(len(increments)):
            orientation = orientation * increments[n]
            if n % 25 == 0 or n == len(increments) - 1:
                expected = truth_at(np.array([cols["time_s"][n] + period_s / 2.0]))[0]
                worst_deg = max(worst_deg, np.degrees((expected.inv() * orientation).magnitude()))
        assert worst_deg < 0.2


def test_instantaneous_rate_matches_euler_derivative():
    """The gyro equals the body rate from the Euler-angle derivatives (ZYX kinematics)."""
    cfg = _quiet(duration_s=20.0, standing_s=2.0, heel_strike_acc_mps2=0.0)
    model = SessionModel(cfg)
    from gaitstream.simulate.imu import body_signals

    t = np.linspace(4.0, 18.0, 400)
    _, gyr = body_signals(model.kinematics.pelvis_rotation, model.kinematics.pelvis_acc_world_mps2, t)
    h = 1e-5
    e = np.radians(model.kinematics.pelvis_euler_deg(t))
    de = (
        np.radians(model.kinematics.pelvis_euler_deg(t + h)) - np.radians(model.kinematics.pelvis_euler_deg(t - h))
    ) / (2 * h)
    yaw, pitch, roll = e.T
    dyaw, dpitch, droll = de.T
    expected = np.column_stack(
        [
            droll - np.sin(pitch) * dyaw,
            np.cos(roll) * dpitch + np.sin(roll) * np.cos(pitch) * dyaw,
            -np.sin(roll) * dpitch + np.cos(roll) * np.cos(pitch) * dyaw,
        ]
    )
    np.testing.assert_allclose(np.radians(gyr), expected, atol=1e-4)


def test_specific_force_is_rotated_acceleration_minus_gravity():
    cfg = _quiet(duration_s=30.0, standing_s=3.0, mounting_deg=(-8.0, 25.0, 12.0), sampling_rate_hz=200.0)
    model = SessionModel(cfg)
    cols = model.render(0, cfg.n_samples)
    t = cols["time_s"]
    for prefix, rotation_at, acc_at in (
        ("", model.kinematics.pelvis_rotation, model.kinematics.pelvis_acc_world_mps2),
        ("trunk_", model.kinematics.trunk_rotation, model.kinematics.trunk_acc_world_mps2),
    ):
        acc_body, _ = _body(model, cols, prefix)
        acc_world = rotation_at(t).apply(acc_body) - np.array([0.0, 0.0, GRAVITY_MPS2])
        np.testing.assert_allclose(acc_world, acc_at(t), atol=1e-9)


def test_walking_signals_have_realistic_ranges():
    """Shapes like the shared lower-back recordings: vertical double bump, sway, yaw rate."""
    cfg = pattern_config("normal", acc_noise_mps2=0.0, gyr_noise_dps=0.0, duration_s=40.0)
    model = SessionModel(cfg)
    cols = model.render(0, cfg.n_samples)
    walking = cols["time_s"] > 10.0
    acc_z = cols["acc_z"][walking] - GRAVITY_MPS2
    assert 3.0 < np.percentile(acc_z, 99) < 8.0 and -4.0 < np.percentile(acc_z, 1) < -1.5
    assert 0.5 < np.std(cols["acc_y"][walking]) < 2.0
    assert 15.0 < np.percentile(np.abs(cols["gyr_z"][walking]), 99) < 45.0
    # Two vertical peaks per stride: dominant vertical frequency = step frequency.
    spectrum = np.abs(np.fft.rfft(acc_z - acc_z.mean()))
    freqs = np.fft.rfftfreq(acc_z.size, 1.0 / cfg.sampling_rate_hz)
    assert freqs[np.argmax(spectrum)] == pytest.approx(cfg.cadence_spm / 60.0, rel=0.05)
    # Yaw rate at stride frequency (half the step frequency).
    spectrum = np.abs(np.fft.rfft(cols["gyr_z"][walking]))
    assert freqs[np.argmax(spectrum)] == pytest.approx(cfg.cadence_spm / 120.0, rel=0.05)
