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


# imu_frame v2's packed sensor block: rows of acc xyz (m/s^2) then gyr xyz (deg/s), float32 LE.
PACKED_DTYPE = np.dtype("<f4")
PACKED_COLUMNS = 6


def _block_matrix(block: dict) -> np.ndarray:
    """The block's samples as an (n, 6) float array, from the packed bytes or the six arrays."""
    packed = block.get("samples_f32le")
    if packed is not None:
        if any(len(block[name]) for name in WIRE_FIELDS):
            raise FrameError(f"{block['location']} has both samples_f32le and sample arrays")
        row_bytes = PACKED_COLUMNS * PACKED_DTYPE.itemsize
        if len(packed) % row_bytes:
            raise FrameError(f"{block['location']}.samples_f32le has {len(packed)} bytes, "
                             f"not a multiple of {row_bytes} (6 float32 per sample)")
        return np.frombuffer(packed, dtype=PACKED_DTYPE).reshape(-1, PACKED_COLUMNS).astype(float)
    columns = [block[name] for name in WIRE_FIELDS]
    n = len(columns[0])
    for name, values in zip(WIRE_FIELDS, columns, strict=True):
        if len(values) != n:
            raise FrameError(f"{block['location']}.{name} has {len(values)} samples, expected {n}")
    return np.asarray(columns, dtype=float).T


def _block_arrays(block: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    data = _block_matrix(block)
    if len(data) != n:
        raise FrameError(f"{block['location']} has {len(data)} samples, expected {n}")
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
    pelvis = blocks["pelvis"]
    packed = pelvis.get("samples_f32le")
    n = len(packed) // (PACKED_COLUMNS * PACKED_DTYPE.itemsize) if packed is not None else len(pelvis["acc_x_mps2"])
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
