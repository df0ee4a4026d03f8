"""Validation of decoded IMU frames into engine input (pure; reasons go to the dead-letter topic)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaitstream.schemas.imu import PACKED_COLUMNS, PACKED_DTYPE, PACKED_ROW_BYTES, WIRE_FIELDS

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
    """A frame's samples: (n, 6) rows per sensor, acc xyz (m/s^2) then gyr xyz (deg/s)."""

    time_s: np.ndarray
    pelvis_rows: np.ndarray
    trunk_rows: np.ndarray | None

    @property
    def acc_mps2(self) -> np.ndarray:
        return self.pelvis_rows[:, :3]

    @property
    def gyr_dps(self) -> np.ndarray:
        return self.pelvis_rows[:, 3:]

    @property
    def trunk_acc_mps2(self) -> np.ndarray | None:
        return None if self.trunk_rows is None else self.trunk_rows[:, :3]

    @property
    def trunk_gyr_dps(self) -> np.ndarray | None:
        return None if self.trunk_rows is None else self.trunk_rows[:, 3:]

    def by_location(self) -> dict[str, np.ndarray]:
        """The rows per sensor location (what the sensor-fault checks read)."""
        rows = {"pelvis": self.pelvis_rows}
        if self.trunk_rows is not None:
            rows["trunk"] = self.trunk_rows
        return rows


def _block_matrix(block: dict) -> np.ndarray:
    """The block's samples as an (n, 6) float array, from the packed bytes or the six arrays."""
    packed = block.get("samples_f32le")
    if packed is not None:
        if any(len(block[name]) for name in WIRE_FIELDS):
            raise FrameError(f"{block['location']} has both samples_f32le and sample arrays")
        if len(packed) % PACKED_ROW_BYTES:
            raise FrameError(
                f"{block['location']}.samples_f32le has {len(packed)} bytes, "
                f"not a multiple of {PACKED_ROW_BYTES} (6 float32 per sample)"
            )
        return np.frombuffer(packed, dtype=PACKED_DTYPE).reshape(-1, PACKED_COLUMNS).astype(float)
    columns = [block[name] for name in WIRE_FIELDS]
    n = len(columns[0])
    for name, values in zip(WIRE_FIELDS, columns, strict=True):
        if len(values) != n:
            raise FrameError(f"{block['location']}.{name} has {len(values)} samples, expected {n}")
    return np.asarray(columns, dtype=float).T


def sensor_matrix(block: dict) -> np.ndarray:
    """A sensor block's samples as an (n, 6) float array (acc x, y, z in m/s², gyr x, y, z in deg/s)."""
    return _block_matrix(block)


def _block_rows(block: dict, n: int) -> np.ndarray:
    """The block's (n, 6) rows. Corrupt values (NaN, infinities, far beyond any sensor's range)
    stay: the engine treats their samples as missing and counts them, and the sensor checks raise
    ``corrupt_samples``; refusing the frame would lose its good samples as well."""
    data = _block_matrix(block)
    if len(data) != n:
        raise FrameError(f"{block['location']} has {len(data)} samples, expected {n}")
    return data


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
    n = len(packed) // PACKED_ROW_BYTES if packed is not None else len(pelvis["acc_x_mps2"])
    if not 1 <= n <= MAX_FRAME_SAMPLES:
        raise FrameError(f"frame has {n} samples; allowed 1..{MAX_FRAME_SAMPLES}")
    if frame["first_sample_time_us"] < session_start_us:
        raise FrameError("first_sample_time_us is before the session start")
    pelvis_rows = _block_rows(blocks["pelvis"], n)
    trunk_rows = _block_rows(blocks["trunk"], n) if trunk else None
    t0_s = (frame["first_sample_time_us"] - session_start_us) / 1e6
    time_s = t0_s + np.arange(n) / rate
    return EngineInput(time_s, pelvis_rows, trunk_rows)


def concatenate_inputs(inputs: list[EngineInput]) -> EngineInput:
    """Consecutive frames of one station as one engine input (the engine is frame-length invariant)."""
    if len(inputs) == 1:
        return inputs[0]
    trunk = None if inputs[0].trunk_rows is None else np.concatenate([i.trunk_rows for i in inputs])
    return EngineInput(
        np.concatenate([i.time_s for i in inputs]), np.concatenate([i.pelvis_rows for i in inputs]), trunk
    )
