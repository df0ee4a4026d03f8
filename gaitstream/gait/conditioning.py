"""Input conditioning of the live engine: axes and units, corrupt samples, uniform grid.

Every later stage assumes uniformly sampled body-frame data in m/s² and deg/s.
Corrupt samples are removed before anything else sees them and counted by
reason (:attr:`InputConditioner.rejected`):

- time: a non-finite time (``time_invalid``); a time not after the last
  accepted one (``time_repeated``: a duplicated radio packet keeps its first
  copy; ``time_not_increasing``); a single time far ahead of its neighbours
  (``time_outlier``: a sample after a jump longer than ``max_fill_gap_s`` is
  confirmed only once the next sample continues from it, and dropped when the
  next one continues from before it; a real jump, e.g. a clock step, is kept);
- values: see :mod:`gaitstream.gait.sanitize` (non-finite, out of range, gyro
  impulses, stuck axes).

Gaps of up to ``max_fill_gap_s`` (lost or removed samples) are filled by linear
interpolation and a longer gap is a "break" that ends the walking bout. The
first sample after a gap longer than ``RELEVEL_GAP_S`` is marked ``relevel``:
the orientation the filters carried across the gap is stale (interpolated
rates miss the gait's oscillations: 0.5 s of NaN left 7.6° of obliquity
error, 5.7° still 2 s later), and the engine re-estimates it from the samples
that follow (engine.py, ``_finish_relevel``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gaitstream.gait.axes import parse_axes
from gaitstream.gait.calibration import GRAVITY_MPS2
from gaitstream.gait.sanitize import SampleGate

TIME_REASONS = ("time_invalid", "time_repeated", "time_not_increasing", "time_outlier")
#: Gaps longer than this (lost or removed samples) mark the next sample for re-levelling; the
#: lost-packet gaps of the real recordings stay under it (ipol-L5: at most 0.12 s; 13 of its
#: 110 trials have one of 0.10-0.12 s), where interpolation costs less than a restart (~1°).
RELEVEL_GAP_S = 0.15


#: Marks of grid samples (``Conditioned.marks``): a gap longer than ``RELEVEL_GAP_S`` ends before
#: the sample (re-level the orientation); a gap longer than ``max_fill_gap_s`` ends before it
#: (also a break: the walking bout ends).
MARK_RELEVEL = 1
MARK_BREAK = 2


class Conditioned(NamedTuple):
    """Grid samples: times, values (n, 6|12) and their marks (int8 ``MARK_*``, or None: none)."""

    time_s: np.ndarray
    values: np.ndarray
    marks: np.ndarray | None


def regrid(
    time_s: np.ndarray,
    values: np.ndarray,
    last_time_s: float | None,
    last_values: np.ndarray | None,
    sampling_rate_hz: float,
    max_fill_samples: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform-grid samples from (time, values) continuing after (last_time, last_values).

    Returns grid times, grid values and a boolean "break before this sample"
    flag. A gap of m sample periods (m ≤ ``max_fill_samples``) is filled with
    m − 1 linearly interpolated samples; a longer gap is a break.
    """
    if last_time_s is None:
        brk = np.zeros(len(time_s), dtype=bool)
        if len(time_s):
            brk[0] = True
        rest_t, rest_v, rest_b = (
            regrid(time_s[1:], values[1:], time_s[0], values[0], sampling_rate_hz, max_fill_samples)
            if len(time_s)
            else (time_s, values, brk)
        )
        return (
            np.concatenate([time_s[:1], rest_t]),
            np.concatenate([values[:1], rest_v]),
            np.concatenate([brk[:1], rest_b]),
        )
    if len(time_s) == 0:
        return time_s, values, np.zeros(0, dtype=bool)
    all_t = np.concatenate([[last_time_s], time_s])
    dt_s = all_t[1:] - all_t[:-1]
    if dt_s.max() * sampling_rate_hz < 1.5:  # no gap (the common case): nothing to fill
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

    ``condition`` returns :class:`Conditioned` grid samples, or None when
    nothing is left; state is the
    last sample (for gaps), a sample held after a time jump, the sample gate's
    context and the rejection counts.
    """

    def __init__(
        self, *, sampling_rate_hz: float, trunk: bool, axes: str, acc_unit: str, gyr_unit: str, max_fill_gap_s: float
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.width = 12 if trunk else 6
        matrix = parse_axes(axes)
        acc_scale = GRAVITY_MPS2 if acc_unit == "g" else 1.0
        gyr_scale = math.degrees(1.0) if gyr_unit == "rads" else 1.0
        scale = np.repeat([acc_scale, gyr_scale] * (2 if trunk else 1), 3)
        identity = np.array_equal(matrix, np.eye(3)) and (scale == 1.0).all()
        self._matrix = None if identity else matrix  # None: already body frame, m/s², deg/s
        self._scale = scale
        self._max_fill = max(1, int(round(max_fill_gap_s * sampling_rate_hz)))
        # a gap longer than this is a jump: its first sample waits for the next one to confirm it
        self._jump_s = (self._max_fill + 0.5) / sampling_rate_hz
        self.gate = SampleGate(sampling_rate_hz=sampling_rate_hz, width=self.width)
        self.time_rejected = dict.fromkeys(TIME_REASONS, 0)
        self.last_time: float | None = None
        self.last_values: np.ndarray | None = None
        self._pending: tuple[float, np.ndarray] | None = None

    @property
    def rejected(self) -> dict[str, int]:
        """Samples removed so far, by reason (time and value rules)."""
        return {**self.time_rejected, **self.gate.rejected}

    def condition(self, time_s: np.ndarray, parts: list) -> Conditioned | None:
        n = len(time_s)
        values = np.empty((n, self.width))
        try:
            for i, part in enumerate(parts):
                values[:, 3 * i : 3 * i + 3] = part
        except ValueError as exc:
            raise ValueError(f"sensor arrays must have shape ({n}, 3) like time_s") from exc
        # 1. axes and units
        if self._matrix is not None:
            values = (values.reshape(n, -1, 3) @ self._matrix.T).reshape(n, -1) * self._scale
        if self._pending is not None:  # the sample held after a jump gets its successor
            time_s = np.concatenate([[self._pending[0]], time_s])
            values = np.concatenate([self._pending[1][None, :], values])
            self._pending = None
        # 2. corrupt times, then corrupt values
        keep, held = self._screen_times(time_s)
        if held is not None:
            self._pending = (float(time_s[held]), values[held].copy())
        if keep is not None:
            time_s, values = time_s[keep], values[keep]
        if len(time_s) == 0:
            return None
        keep = self.gate.screen(time_s, values)
        if keep is not None:
            time_s, values = time_s[keep], values[keep]
            if len(time_s) == 0:
                return None
        # 3. uniform grid
        first_dt_s = math.inf if self.last_time is None else time_s[0] - self.last_time
        if (
            self.last_time is not None
            and first_dt_s * self.sampling_rate_hz < 1.5
            and (len(time_s) < 2 or (time_s[1:] - time_s[:-1]).max() * self.sampling_rate_hz < 1.5)
        ):
            out = Conditioned(time_s, values, None)  # no gap: the common case
        else:
            grid_t, grid_v, grid_b = regrid(
                time_s, values, self.last_time, self.last_values, self.sampling_rate_hz, self._max_fill
            )
            marks = self._relevel_marks(time_s, grid_t)
            marks[grid_b] = MARK_BREAK
            out = Conditioned(grid_t, grid_v, marks)
        self.last_time, self.last_values = float(time_s[-1]), values[-1].copy()
        return out

    def _relevel_marks(self, time_s: np.ndarray, grid_t: np.ndarray) -> np.ndarray:
        """Grid marks: ``MARK_RELEVEL`` on the real samples that follow a gap longer than ``RELEVEL_GAP_S``."""
        marks = np.zeros(len(grid_t), dtype=np.int8)
        gaps = np.diff(time_s, prepend=time_s[0] if self.last_time is None else self.last_time) > RELEVEL_GAP_S
        if gaps.any():
            # the grid holds every real time (up to rounding) after its interpolated predecessors
            marks[np.minimum(np.searchsorted(grid_t, time_s[gaps] - 1e-9), len(grid_t) - 1)] = MARK_RELEVEL
        return marks

    def _screen_times(self, time_s: np.ndarray) -> tuple[np.ndarray | None, int | None]:
        """Mask of the samples whose time is usable (None: all) and the index of a sample to hold
        until the next push (after a jump at the end of this one), see the module docstring."""
        last = self.last_time
        if math.isfinite(time_s.sum()):
            dt_s = time_s[1:] - time_s[:-1]
            first_ok = last is None or 0.0 < time_s[0] - last <= self._jump_s
            if first_ok and (not len(dt_s) or (dt_s.min() > 0.0 and dt_s.max() <= self._jump_s)):
                return None, None  # increasing, no jump: the common case
        keep = np.zeros(len(time_s), dtype=bool)
        finite = np.isfinite(time_s)
        held = None
        for i, t in enumerate(time_s.tolist()):
            if not finite[i]:
                self.time_rejected["time_invalid"] += 1
                continue
            if last is not None and t <= last:
                self.time_rejected["time_repeated" if t == last else "time_not_increasing"] += 1
                continue
            if last is not None and t - last > self._jump_s:
                later = time_s[i + 1 :][finite[i + 1 :]]
                later = later[later > last]
                if not len(later):  # the next sample will confirm the jump or not
                    held = i
                    continue
                if later[0] < t:  # the next sample continues from before: an outlier
                    self.time_rejected["time_outlier"] += 1
                    continue
            keep[i] = True
            last = t
        return keep, held

    def state(self) -> dict:
        return {
            "last_time": self.last_time,
            "last_values": None if self.last_values is None else self.last_values.tolist(),
            "pending": None if self._pending is None else [self._pending[0], self._pending[1].tolist()],
            "time_rejected": dict(self.time_rejected),
            "gate": self.gate.state(),
        }

    def load_state(self, state: dict) -> None:
        self.last_time = state["last_time"]
        self.last_values = None if state["last_values"] is None else np.array(state["last_values"], dtype=float)
        pending = state.get("pending")
        self._pending = None if pending is None else (float(pending[0]), np.array(pending[1], dtype=float))
        self.time_rejected = {**dict.fromkeys(TIME_REASONS, 0), **state.get("time_rejected", {})}
        self.gate.load_state(state.get("gate"))
