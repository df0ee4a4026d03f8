"""Input conditioning of the live engine: axes and units, missing samples, uniform grid.

Every later stage assumes uniformly sampled body-frame data in m/s² and deg/s.
Rows with a NaN are dropped, a repeated timestamp (a duplicated radio packet)
keeps its first copy, gaps of up to ``max_fill_gap_s`` are filled by linear
interpolation and a longer gap is a "break" that ends the walking bout.
"""

from __future__ import annotations

import math

import numpy as np

from gaitstream.gait.calibration import GRAVITY_MPS2
from gaitstream.gait.recording import parse_axes

def regrid(time_s: np.ndarray, values: np.ndarray, last_time_s: float | None, last_values: np.ndarray | None,
           sampling_rate_hz: float, max_fill_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform-grid samples from (time, values) continuing after (last_time, last_values).

    Returns grid times, grid values and a boolean "break before this sample"
    flag. A gap of m sample periods (m ≤ ``max_fill_samples``) is filled with
    m − 1 linearly interpolated samples; a longer gap is a break.
    """
    if last_time_s is None:
        brk = np.zeros(len(time_s), dtype=bool)
        if len(time_s):
            brk[0] = True
        rest_t, rest_v, rest_b = regrid(time_s[1:], values[1:], time_s[0], values[0], sampling_rate_hz,
                                        max_fill_samples) if len(time_s) else (time_s, values, brk)
        return (np.concatenate([time_s[:1], rest_t]), np.concatenate([values[:1], rest_v]),
                np.concatenate([brk[:1], rest_b]))
    if len(time_s) == 0:
        return time_s, values, np.zeros(0, dtype=bool)
    all_t = np.concatenate([[last_time_s], time_s])
    dt_s = all_t[1:] - all_t[:-1]
    if dt_s.max() * sampling_rate_hz < 1.5:       # no gap (the common case): nothing to fill
        return time_s, values, np.zeros(len(time_s), dtype=bool)
    periods = np.maximum(np.rint(dt_s * sampling_rate_hz).astype(int), 1)
    breaks = periods > max_fill_samples
    periods[breaks] = 1
    all_v = np.concatenate([last_values[None, :], values])
    total = int(periods.sum())
    interval = np.repeat(np.arange(len(periods)), periods)
    step = np.arange(total) - np.repeat(np.cumsum(periods) - periods, periods) + 1
    frac = step / periods[interval]
    grid_t = all_t[interval] + frac * dt_s[interval]
    grid_v = all_v[interval] + frac[:, None] * (all_v[interval + 1] - all_v[interval])
    grid_b = np.zeros(total, dtype=bool)
    grid_b[np.cumsum(periods)[breaks] - 1] = True
    return grid_t, grid_v, grid_b



class InputConditioner:
    """Frames in, uniform-grid body-frame samples out (with a break flag per sample).

    ``condition`` returns (time_s, values (n, 6|12), breaks or None when no
    sample starts a new segment); state is the last sample (for gaps).
    """

    def __init__(self, *, sampling_rate_hz: float, trunk: bool, axes: str, acc_unit: str, gyr_unit: str,
                 max_fill_gap_s: float) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.width = 12 if trunk else 6
        matrix = parse_axes(axes)
        acc_scale = GRAVITY_MPS2 if acc_unit == "g" else 1.0
        gyr_scale = math.degrees(1.0) if gyr_unit == "rads" else 1.0
        scale = np.repeat([acc_scale, gyr_scale] * (2 if trunk else 1), 3)
        identity = np.array_equal(matrix, np.eye(3)) and (scale == 1.0).all()
        self._matrix = None if identity else matrix      # None: already body frame, m/s², deg/s
        self._scale = scale
        self._max_fill = max(1, int(round(max_fill_gap_s * sampling_rate_hz)))
        self.last_time: float | None = None
        self.last_values: np.ndarray | None = None

    def condition(self, time_s: np.ndarray, parts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        n = len(time_s)
        values = np.empty((n, self.width))
        try:
            for i, part in enumerate(parts):
                values[:, 3 * i:3 * i + 3] = part
        except ValueError as exc:
            raise ValueError(f"sensor arrays must have shape ({n}, 3) like time_s") from exc
        # 1. axes and units
        if self._matrix is not None:
            values = (values.reshape(n, -1, 3) @ self._matrix.T).reshape(n, -1) * self._scale
        # 2. missing and repeated samples
        if not (math.isfinite(values.sum()) and math.isfinite(time_s.sum())):
            keep = np.isfinite(values).all(axis=1) & np.isfinite(time_s)
            time_s, values = time_s[keep], values[keep]
            if len(time_s) == 0:
                return None
        dt_s = np.empty(len(time_s))
        dt_s[0] = math.inf if self.last_time is None else time_s[0] - self.last_time
        dt_s[1:] = time_s[1:] - time_s[:-1]
        if (dt_s <= 0).any():
            if (dt_s < 0).any():
                raise ValueError("time_s must not decrease (within or across pushes)")
            repeated = dt_s == 0            # a repeated packet: keep the first copy
            time_s, values = time_s[~repeated], values[~repeated]
            if len(time_s) == 0:
                return None
        # 3. uniform grid
        if self.last_time is not None and dt_s.max() * self.sampling_rate_hz < 1.5:
            out = (time_s, values, None)          # no gap: the common case
        else:
            out = regrid(time_s, values, self.last_time, self.last_values, self.sampling_rate_hz, self._max_fill)
        self.last_time, self.last_values = float(time_s[-1]), values[-1].copy()
        return out

    def state(self) -> dict:
        return {"last_time": self.last_time,
                "last_values": None if self.last_values is None else self.last_values.tolist()}

    def load_state(self, state: dict) -> None:
        self.last_time = state["last_time"]
        self.last_values = None if state["last_values"] is None else np.array(state["last_values"], dtype=float)
