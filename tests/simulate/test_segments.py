"""Segments and lever arms of the simulator: where the sensors sit changes what they feel, exactly
as a point on a rotating rigid body does; the trunk's lean is smooth to its angular acceleration."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.simulate import SimulationConfig, pattern_config
from gaitstream.simulate.imu import body_signals
from gaitstream.simulate.render import SessionModel
from gaitstream.simulate.waveforms import NOMINAL_SACRUM_OFFSET_M, smooth_bump


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


@pytest.mark.parametrize("offset_m", [0.05, 0.15])
def test_a_sacral_sensor_off_the_nominal_point_adds_its_lever_term(offset_m):
    """Moving the sacral sensor along the pelvis's x axis adds R·(ω̇ × Δr + ω × (ω × Δr)), Δr the move,
    computed here from the pelvis's own instantaneous rate (an independent check of the simulator's
    second differences of positions)."""
    cfg = pattern_config("trendelenburg_left", duration_s=12.0, acc_noise_mps2=0.0, gyr_noise_dps=0.0)
    nominal = SessionModel(cfg)
    moved = SessionModel(cfg.replace(sacrum_offset_m=offset_m))
    t = np.linspace(7.0, 11.0, 400)
    kin = moved.kinematics
    difference = kin.pelvis_acc_world_mps2(t) - nominal.kinematics.pelvis_acc_world_mps2(t)
    # body rate (rad/s) and its derivative from the orientation alone
    dt = 1e-4
    _, w_now = body_signals(kin.pelvis_rotation, kin.pelvis_acc_world_mps2, t)
    _, w_after = body_signals(kin.pelvis_rotation, kin.pelvis_acc_world_mps2, t + dt)
    _, w_before = body_signals(kin.pelvis_rotation, kin.pelvis_acc_world_mps2, t - dt)
    w, w_dot = np.radians(w_now), np.radians(w_after - w_before) / (2 * dt)
    delta = np.array([-(offset_m - NOMINAL_SACRUM_OFFSET_M), 0.0, 0.0])
    body = np.array([_skew(wd) @ delta + _skew(wi) @ (_skew(wi) @ delta) for wd, wi in zip(w_dot, w, strict=True)])
    expected = kin.pelvis_rotation(t).apply(body)
    # the same to within 10 % RMS: the simulator's 1 ms second differences round off the onset of each
    # heel strike's pitch jolt (its envelope starts with a kink), a few samples per step
    residual = difference - expected
    assert np.sqrt((residual**2).mean()) <= 0.1 * np.sqrt((expected**2).mean())
    assert np.median(np.abs(residual)) <= 1e-3
    assert np.abs(difference).max() > 0.05  # the pelvis's yaw and pitch move a point behind the hips


def test_the_sacral_sensor_at_the_nominal_point_feels_the_fitted_shapes_unchanged():
    cfg = pattern_config("normal", duration_s=10.0)
    model = SessionModel(cfg)
    t = np.linspace(6.0, 9.0, 100)
    smooth, transient = model.kinematics._com_acc(t)
    np.testing.assert_array_equal(model.kinematics.pelvis_acc_world_mps2(t), smooth + transient)


def test_the_lean_bump_is_smooth_to_its_second_derivative():
    u = np.linspace(-0.5, 2.0, 250_001)
    y = smooth_bump(u, 0.0, 0.5, 1.5)
    assert y.max() == pytest.approx(1.0) and y[np.abs(u - 0.5) < 1e-9].item() == pytest.approx(1.0)
    assert np.all(y[(u < 0.0) | (u > 1.5)] == 0.0)
    second = np.diff(y, 2) / (u[1] - u[0]) ** 2
    # no jump: neighbouring second differences stay close everywhere (a C1 bump jumps by ~20 at its ends)
    assert np.abs(np.diff(second)).max() < 0.01


@pytest.mark.parametrize(("field", "value"), [("trunk_sensor_height_m", 0.75), ("sacrum_offset_m", -0.01)])
def test_placements_out_of_range_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        SimulationConfig(**{field: value})
