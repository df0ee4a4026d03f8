"""Validation of decoded IMU frames into engine input (pure; reasons go to the dead-letter topic)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.station.frames import WIRE_FIELDS

MIN_RATE_HZ, MAX_RATE_HZ = 20.0, 1000.0
# Frames longer than this are refused: a station buffering minutes would defeat live feedback.
MAX_FRAME_SAMPLES = 2000


class FrameError(ValueError):
    """A frame the pipeline refuses; ``reason`` is the dead-letter reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EngineInput:
    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray
    trunk_acc_mps2: np.ndarray | None
    trunk_gyr_dps: np.ndarray | None


def _block_arrays(block: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    columns = []
    for name in WIRE_FIELDS:
        values = block[name]
        if len(values) != n:
            raise FrameError(f"{block['location']}.{name} has {len(values)} samples, expected {n}")
        columns.append(values)
    data = np.asarray(columns, dtype=float).T
    if np.isinf(data).any():
        raise FrameError(f"{block['location']} contains infinite values")
    return data[:, :3], data[:, 3:]


def engine_input(frame: dict, *, session_start_us: int, sampling_rate_hz: float, trunk: bool) -> EngineInput:
    """Check a frame against its session and return the engine's arrays (time from session start)."""
    rate = frame["sampling_rate_hz"]
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise FrameError(f"sampling_rate_hz {rate} outside {MIN_RATE_HZ}..{MAX_RATE_HZ}")
    if abs(rate - sampling_rate_hz) > 1e-3 * sampling_rate_hz:
        raise FrameError(f"sampling_rate_hz {rate} differs from the session's {sampling_rate_hz}")
    blocks = {}
    for block in frame["sensors"]:
        if block["location"] in blocks:
            raise FrameError(f"sensor location {block['location']} appears twice")
        blocks[block["location"]] = block
    if "pelvis" not in blocks:
        raise FrameError("frame has no pelvis sensor block")
    if trunk and "trunk" not in blocks:
        raise FrameError("session declared a trunk sensor but the frame has no trunk block")
    n = len(blocks["pelvis"]["acc_x_mps2"])
    if not 1 <= n <= MAX_FRAME_SAMPLES:
        raise FrameError(f"frame has {n} samples; allowed 1..{MAX_FRAME_SAMPLES}")
    if frame["first_sample_time_us"] < session_start_us:
        raise FrameError("first_sample_time_us is before the session start")
    acc, gyr = _block_arrays(blocks["pelvis"], n)
    trunk_acc = trunk_gyr = None
    if trunk:
        trunk_acc, trunk_gyr = _block_arrays(blocks["trunk"], n)
    t0_s = (frame["first_sample_time_us"] - session_start_us) / 1e6
    time_s = t0_s + np.arange(n) / rate
    return EngineInput(time_s, acc, gyr, trunk_acc, trunk_gyr)
