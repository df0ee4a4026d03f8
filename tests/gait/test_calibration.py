import numpy as np
import pytest

from gaitstream.gait.calibration import (
    GRAVITY_MPS2,
    MountingCalibration,
    rotation_from_rpy_deg,
    tilt_from_up_vector,
    yaw_from_walking_deg,
)


@pytest.mark.parametrize("roll,pitch", [(0, 0), (10, 30), (-20, 40), (15, -10)])
def test_tilt_recovers_roll_and_pitch(roll, pitch):
    rotation = rotation_from_rpy_deg(roll, pitch, 17.0)
    up_sensor = rotation.T @ [0, 0, 1]  # what a still sensor measures (direction)
    assert tilt_from_up_vector(up_sensor * GRAVITY_MPS2) == pytest.approx((roll, pitch), abs=1e-9)


def test_rotation_is_proper():
    r = rotation_from_rpy_deg(12, 33, -18)
    assert np.allclose(r @ r.T, np.eye(3)) and np.linalg.det(r) == pytest.approx(1.0)
    # positive pitch tips the sensor's x axis down
    assert (rotation_from_rpy_deg(0, 30, 0) @ [1, 0, 0])[2] < 0


def _walking_body_acc(fs, seconds=8.0):
    t = np.arange(int(seconds * fs)) / fs
    ap = 1.5 * np.sin(2 * np.pi * 1.8 * t)  # step frequency
    ml = 0.8 * np.sin(2 * np.pi * 0.9 * t)  # stride frequency
    vert = GRAVITY_MPS2 + 2.0 * np.sin(2 * np.pi * 1.8 * t + 1.0)
    return np.column_stack([ap, ml, vert])


@pytest.mark.parametrize("yaw", [-20.0, -5.0, 0.0, 12.0, 20.0])
def test_yaw_from_walking(yaw):
    fs = 100.0
    rotation = rotation_from_rpy_deg(5.0, 30.0, yaw)
    acc_sensor = _walking_body_acc(fs) @ rotation  # body -> sensor is R.T, rows: v @ R
    assert yaw_from_walking_deg(acc_sensor, 5.0, 30.0, fs) == pytest.approx(yaw, abs=1.0)


def test_standing_then_walking_calibration():
    fs = 100.0
    rotation = rotation_from_rpy_deg(-8.0, 35.0, 10.0)
    standing = np.tile([0, 0, GRAVITY_MPS2], (300, 1))
    acc_body = np.vstack([standing, _walking_body_acc(fs)])
    gyr_sensor = np.zeros_like(acc_body) + [0.5, -0.2, 0.1]
    gyr_sensor[300:] += 30 * np.sin(np.arange(len(acc_body) - 300) / 10.0)[:, None]
    cal = MountingCalibration().calibrate(acc_body @ rotation, gyr_sensor, fs)
    assert cal.method_ == "standing"
    assert cal.mounting_deg_["roll"] == pytest.approx(-8.0, abs=0.1)
    assert cal.mounting_deg_["pitch"] == pytest.approx(35.0, abs=0.1)
    assert cal.mounting_deg_["yaw"] == pytest.approx(10.0, abs=1.5)
    assert cal.gyr_bias_dps_ == pytest.approx([0.5, -0.2, 0.1])


def test_walking_only_calibration_uses_mean_posture():
    fs = 100.0
    rotation = rotation_from_rpy_deg(3.0, 25.0, -6.0)
    acc = _walking_body_acc(fs) @ rotation
    gyr = 30 * np.ones_like(acc)
    cal = MountingCalibration().calibrate(acc, gyr, fs)
    assert cal.method_ == "walking"
    assert cal.mounting_deg_["pitch"] == pytest.approx(25.0, abs=1.0)
    assert np.array_equal(cal.gyr_bias_dps_, np.zeros(3))


def test_standing_only_warns_and_assumes_zero_yaw():
    acc = np.tile([0, 0, GRAVITY_MPS2], (500, 1))
    with pytest.warns(UserWarning, match="yaw"):
        cal = MountingCalibration().calibrate(acc, np.zeros((500, 3)), 100.0)
    assert cal.mounting_deg_["yaw"] == 0.0 and cal.method_ == "standing"


def test_sitting_start_is_not_standing():
    fs = 100.0
    rotation = rotation_from_rpy_deg(0.0, 20.0, 0.0)
    sitting = np.tile(rotation_from_rpy_deg(0.0, -25.0, 0.0).T @ [0, 0, GRAVITY_MPS2], (300, 1))  # pelvis tilted back
    acc_body = np.vstack([sitting, _walking_body_acc(fs)])
    gyr = np.zeros_like(acc_body)
    gyr[300:] = 30.0
    with pytest.warns(UserWarning, match="sitting"):
        cal = MountingCalibration().calibrate(acc_body @ rotation, gyr, fs)
    assert cal.method_ == "walking"
    assert cal.mounting_deg_["pitch"] == pytest.approx(20.0, abs=1.0)
