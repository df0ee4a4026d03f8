"""Device samples -> frames (pure): bursts, lost samples, units, a sensor restart."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.services.station.lsl_frames import STANDARD_GRAVITY_MPS2, ChannelMap, FrameAssembler


def _chunked(samples, times, sizes):
    start = 0
    for size in sizes:
        yield samples[start : start + size], times[start : start + size]
        start += size


def test_bursts_become_frames_on_the_device_clock() -> None:
    rate = 100.0
    times = 5000.0 + np.arange(95) / rate
    samples = np.tile(np.arange(95, dtype=float)[:, None], (1, 6))
    assembler = FrameAssembler(sampling_rate_hz=rate, frame_samples=10)
    for chunk, ts in _chunked(samples, times, [2, 3, 2, 3] * 12):  # Bluetooth bursts of 2-3 samples
        assembler.push(chunk, ts, offset_s=1_700_000_000.0)
    assembler.flush()
    frames = assembler.take()
    assert [len(f[1]["time_s"]) for f in frames] == [10] * 9 + [5]
    assert frames[1][0] == pytest.approx(1_700_000_000.0 + 5000.0 + 0.1)
    assert np.concatenate([f[1]["acc_x"] for f in frames]).tolist() == list(range(95))
    assert assembler.dropped == 0 and assembler.gaps == 0


def test_lost_samples_end_the_frame_and_are_counted() -> None:
    rate = 100.0
    keep = np.r_[0:23, 30:60, 61:80]  # 7 lost, then 1 lost
    times = np.arange(80)[keep] / rate
    samples = np.zeros((len(keep), 6))
    assembler = FrameAssembler(sampling_rate_hz=rate, frame_samples=10)
    assembler.push(samples, times, offset_s=0.0)
    assembler.flush()
    frames = assembler.take()
    assert (assembler.dropped, assembler.gaps) == (8, 2)
    assert [round(f[0] * rate) for f in frames] == [0, 10, 20, 30, 40, 50, 61, 71]
    # No frame spans a gap: within a frame the samples are one period apart.
    for _first, block in frames:
        assert np.allclose(np.diff(block["time_s"]), 1 / rate)


def test_units_and_channels_become_the_contract() -> None:
    mapping = ChannelMap(channels=(3, 4, 5, 0, 1, 2), acc_unit="g", gyr_unit="rads")
    assembler = FrameAssembler(sampling_rate_hz=50.0, frame_samples=1, mapping=mapping)
    assembler.push(np.array([[np.pi, 0, 0, 0, 0, 1.0]]), np.array([1.0]), offset_s=0.0)
    ((_, block),) = assembler.take()
    assert block["acc_z"][0] == pytest.approx(STANDARD_GRAVITY_MPS2)
    assert block["gyr_x"][0] == pytest.approx(180.0)


def test_a_sensor_restart_with_a_new_clock_starts_a_new_frame() -> None:
    assembler = FrameAssembler(sampling_rate_hz=100.0, frame_samples=10)
    assembler.push(np.zeros((5, 6)), 100.0 + np.arange(5) / 100, offset_s=0.0)
    assembler.push(np.zeros((5, 6)), 3.0 + np.arange(5) / 100, offset_s=0.0)  # clock back at 3 s
    assembler.flush()
    frames = assembler.take()
    assert assembler.restarts == 1 and [len(f[1]["time_s"]) for f in frames] == [5, 5]


def test_a_channel_map_needs_six_channels_and_known_units() -> None:
    with pytest.raises(ValueError):
        ChannelMap(channels=(0, 1, 2))
    with pytest.raises(ValueError):
        ChannelMap(acc_unit="ft/s2")


def test_the_frame_size_changes_from_the_next_frame_on() -> None:
    # a session with a patient screen starts while a frame fills: that frame ends with the next
    # sample (it already holds more than the new size), the frames after it are 5 samples
    assembler = FrameAssembler(sampling_rate_hz=100.0, frame_samples=10)
    times = np.arange(40) / 100.0
    assembler.push(np.zeros((18, 6)), times[:18], offset_s=0.0)
    assembler.frame_samples = 5
    assembler.push(np.zeros((22, 6)), times[18:], offset_s=0.0)
    assembler.flush()
    assert [len(block["time_s"]) for _, block in assembler.take()] == [10, 9, 5, 5, 5, 5, 1]
