import numpy as np
import pytest

from gaitstream.gait.calibration import GRAVITY_MPS2, rotation_from_rpy_deg
from gaitstream.gait.orientation import FusionOrientation, matrix_to_quaternion, quaternions_to_matrices, up_in_sensor


def test_quaternion_matrix_round_trip():
    for angles in [(0, 0, 0), (10, 30, -20), (170, 5, 90), (0, 0, 180)]:
        m = rotation_from_rpy_deg(*angles)
        assert np.allclose(quaternions_to_matrices(matrix_to_quaternion(m)[None])[0], m, atol=1e-9)


def test_static_tilt_gives_up_vector():
    rotation = rotation_from_rpy_deg(8.0, 30.0, 0.0)
    acc = np.tile(rotation.T @ [0, 0, GRAVITY_MPS2], (200, 1))
    up = up_in_sensor(FusionOrientation(sampling_rate_hz=100.0).update(acc, np.zeros((200, 3))))
    assert np.allclose(up[-1], rotation.T @ [0, 0, 1], atol=1e-4)


def test_pure_yaw_rotation_keeps_vertical():
    acc = np.tile([0, 0, GRAVITY_MPS2], (300, 1))
    gyr = np.tile([0, 0, 90.0], (300, 1))
    up = up_in_sensor(FusionOrientation(sampling_rate_hz=100.0).update(acc, gyr))
    assert np.allclose(up, [0, 0, 1], atol=1e-4)


def test_roll_rate_integrates_to_angle():
    # 10 deg/s about x for 1 s with the accelerometer agreeing -> about 10° of roll
    fs = 200.0
    n = int(fs)
    angles = np.radians(10.0 * np.arange(1, n + 1) / fs)
    acc = GRAVITY_MPS2 * np.column_stack([np.zeros(n), np.sin(angles), np.cos(angles)])
    up = up_in_sensor(FusionOrientation(sampling_rate_hz=fs).update(acc, np.tile([10.0, 0, 0], (n, 1))))
    assert np.degrees(np.arcsin(up[-1, 1])) == pytest.approx(10.0, abs=0.2)


def test_state_round_trip_continues():
    rng = np.random.default_rng(1)
    acc = np.tile([0.5, 0.2, GRAVITY_MPS2], (400, 1)) + rng.normal(0, 0.3, (400, 3))
    gyr = rng.normal(0, 20, (400, 3))
    a = FusionOrientation(sampling_rate_hz=100.0)
    a.update(acc[:200], gyr[:200])
    b = FusionOrientation.from_state(a.state(), sampling_rate_hz=100.0, gain=0.5, acc_rejection_deg=0.0)
    assert np.allclose(a.update(acc[200:], gyr[200:]), b.update(acc[200:], gyr[200:]), atol=1e-6)


def test_short_and_long_matrix_paths_agree():
    rng = np.random.default_rng(4)
    acc = np.tile([0.3, -0.2, GRAVITY_MPS2], (200, 1)) + rng.normal(0, 0.5, (200, 3))
    gyr = rng.normal(0, 30, (200, 3))
    short = FusionOrientation(sampling_rate_hz=100.0)
    pieces = np.concatenate([short.update_matrices(acc[i : i + 10], gyr[i : i + 10]) for i in range(0, 200, 10)])
    whole = FusionOrientation(sampling_rate_hz=100.0).update_matrices(acc, gyr)
    assert np.allclose(pieces, whole, atol=1e-6)
