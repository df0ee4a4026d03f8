import numpy as np
import pytest

from gaitstream.gait.calibration import rotation_from_rpy_deg
from gaitstream.gait.signals import ChunkBuffer, TrunkLean, obliquity_deg, pack_array, unpack_array


def test_obliquity_sign_left_side_up_is_positive():
    # pelvis rolled about the forward axis by +5° raises its left side
    body_to_world = rotation_from_rpy_deg(5.0, 0.0, 0.0)
    up_in_body = body_to_world.T @ [0, 0, 1]
    assert obliquity_deg(up_in_body[None], np.eye(3))[0] == pytest.approx(5.0)


def test_trunk_lean_sign_and_heading_independence():
    for heading in (0.0, 90.0, -135.0):
        # trunk leaning 6° to its left (rotation about its forward axis by -6° tips z toward +y)
        world = rotation_from_rpy_deg(0.0, 0.0, heading) @ rotation_from_rpy_deg(-6.0, 0.0, 0.0)
        lean = TrunkLean(rotation=np.eye(3), sampling_rate_hz=100.0).update(np.tile(world, (50, 1, 1)))
        assert lean[-1] == pytest.approx(6.0, abs=1e-6)


def test_chunk_buffer_trim_and_state():
    buf = ChunkBuffer(2, start=10)
    for k in range(5):
        buf.append(np.full((4, 2), float(k)))
    buf.trim(22)
    assert buf.start == 22 and len(buf) == 8 and buf.end == 30
    again = ChunkBuffer.from_state(buf.state(), 2)
    assert again.start == 22 and np.array_equal(again.array(), buf.array())


def test_pack_round_trip_is_exact():
    values = np.random.default_rng(0).normal(size=(7, 3))
    values[2, 1] = np.nan
    out = unpack_array(pack_array(values), 3)
    assert np.array_equal(out, values, equal_nan=True)


def test_leak_correction_ignores_constant_and_tracks_stride_oscillation():
    from gaitstream.gait.signals import AccelerationLeakCorrection

    fs = 100.0
    t = np.arange(int(60 * fs)) / fs
    leak = AccelerationLeakCorrection(gain=0.5, time_constant_s=2.0, sampling_rate_hz=fs)
    constant = leak.correction(np.full(len(t), 3.0))
    assert abs(constant[-1]) < 0.05  # bias-like innovation: no correction left
    leak = AccelerationLeakCorrection(gain=0.5, time_constant_s=2.0, sampling_rate_hz=fs)
    omega = 2 * np.pi * 0.9
    out = leak.correction(np.cos(omega * t))
    expected = 0.5 * np.sin(omega * t) / omega  # gain × integral at the stride frequency
    tail = t > 40
    assert np.abs(out[tail] - expected[tail]).max() < 0.05 * np.abs(expected).max() + 0.02


def test_leak_correction_is_chunk_invariant():
    from gaitstream.gait.signals import AccelerationLeakCorrection

    x = np.random.default_rng(2).normal(size=1000)
    whole = AccelerationLeakCorrection(gain=0.5, time_constant_s=2.0, sampling_rate_hz=100.0).correction(x)
    parts = AccelerationLeakCorrection(gain=0.5, time_constant_s=2.0, sampling_rate_hz=100.0)
    pieces = np.concatenate([parts.correction(x[i : i + 7]) for i in range(0, 1000, 7)])
    assert np.allclose(whole, pieces, atol=1e-12)
