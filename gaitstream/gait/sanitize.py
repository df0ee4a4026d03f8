"""Corrupted samples become missing samples before any filter sees them (pure, streaming).

One flipped bit in a float32 makes a value like 1e30; fed to the orientation
filter it leaves NaN or an absurd attitude behind, and every later step is lost
(one such value at 20 s of a 100 s walk once cost 76 of 98 steps). Rows
(one sample of every sensor) are screened in order; a row with a bad value is
removed, so the conditioner fills it like a lost packet (short gaps) or ends the
walking bout (long ones). Reasons, counted per row:

1. ``non_finite``: NaN or ±inf anywhere.
2. ``out_of_range``: |acceleration| above ``ACC_LIMIT_MPS2`` or |angular rate|
   above ``GYR_LIMIT_DPS``, twice the widest full scales of body-worn IMUs in
   common use (±16 g, ±2000 °/s): no sensor reports them.
3. ``gyro_impulse``: a gyroscope value whose second difference exceeds
   ``IMPULSE_LIMIT_DPS`` (°/s, at ≥ 100 Hz): a rate that jumps and jumps back
   within a sample, which no body segment does. The largest second difference
   in the shared real recordings (100 Hz, 129 lower-back recordings with
   U-turns, sitting down and one sensor knock) is 804 °/s; simulated walking
   stays under 72 °/s. The row that trips the limit, the one before it (the
   second difference weighs it twice) and every row until ``IMPULSE_HOLD_S``
   after the last trip are removed: a burst of noise trips it on most of its
   samples (±2000 °/s uniform noise on one axis: ~60 % of them). Below
   100 Hz the limit grows with (100 / rate)², as a smooth signal's second
   difference does.
4. ``stuck_axis``: one axis repeating exactly the same value for at least
   ``STUCK_MIN_S`` while the other axes of its sensor type keep changing and
   the sensor turns faster than ``MOVING_GYR_DPS`` (walking): a live MEMS axis
   always carries a few LSB of noise. Removed until the axis changes again.
   At rest a quantised axis may legitimately repeat, so rest is not judged.

Notes: plausible values that are wrong yet smooth cannot be told from motion;
what gets past these rules is bounded by them (at most one sample of an
impulse, ``STUCK_MIN_S`` of a stuck axis). Counts are cumulative
(:attr:`SampleGate.rejected`).
"""

from __future__ import annotations

import math

import numpy as np

#: Twice the widest common full scales (±16 g, ±2000 °/s).
ACC_LIMIT_MPS2 = 32 * 9.80665
GYR_LIMIT_DPS = 4000.0
#: Second difference of a gyro axis no body motion reaches (°/s, at >= 100 Hz; see rule 3).
IMPULSE_LIMIT_DPS = 1500.0
IMPULSE_REFERENCE_RATE_HZ = 100.0
#: Rows removed after the last impulse (a noise burst trips the limit on most, not all, samples).
IMPULSE_HOLD_S = 0.2
#: Stuck axis: exact repeats for this long while the sensor moves.
STUCK_MIN_S = 0.25
MOVING_GYR_DPS = 10.0
REASONS = ("non_finite", "out_of_range", "gyro_impulse", "stuck_axis")


class SampleGate:
    """Screens rows of (n, 6 | 12) values: acc xyz, gyr xyz per sensor (m/s², deg/s, body units).

    :meth:`screen` returns the mask of rows to keep; state carries the context
    of the previous rows so the result does not depend on how the stream is cut.
    """

    def __init__(self, *, sampling_rate_hz: float, width: int) -> None:
        if width not in (6, 12):
            raise ValueError(f"width must be 6 or 12 (one or two sensors), got {width}")
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.width = width
        scale = max(1.0, (IMPULSE_REFERENCE_RATE_HZ / self.sampling_rate_hz) ** 2)
        self.impulse_limit_dps = IMPULSE_LIMIT_DPS * scale
        self._gyr_cols = [3, 4, 5] + ([9, 10, 11] if width == 12 else [])
        acc_cols = [0, 1, 2] + ([6, 7, 8] if width == 12 else [])
        self._limits = np.empty(width)
        self._limits[acc_cols] = ACC_LIMIT_MPS2
        self._limits[self._gyr_cols] = GYR_LIMIT_DPS
        self.rejected = dict.fromkeys(REASONS, 0)
        # context: the last two in-range gyro rows, the hold end, the last row and its run starts
        self._gyr_context = np.zeros((0, len(self._gyr_cols)))
        self._hold_until_s = -math.inf
        self._last_row: np.ndarray | None = None
        self._run_start_s = np.zeros(width)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def screen(self, time_s: np.ndarray, values: np.ndarray) -> np.ndarray | None:
        """Boolean mask of rows to keep, or None when every row is kept (the common case)."""
        n = len(time_s)
        if n == 0:
            return None
        # 1.-2. non-finite and out-of-range rows (one sum and one max when all is well)
        keep = None
        total = values.sum()
        if not math.isfinite(total) or np.abs(values).max() > ACC_LIMIT_MPS2:
            finite = np.isfinite(values).all(axis=1)
            in_range = finite & (np.abs(np.where(np.isfinite(values), values, 0.0)) <= self._limits).all(axis=1)
            self.rejected["non_finite"] += int((~finite).sum())
            self.rejected["out_of_range"] += int((finite & ~in_range).sum())
            if not in_range.all():
                keep = in_range
        rows = values if keep is None else values[keep]
        times = time_s if keep is None else time_s[keep]
        if not len(rows):
            return keep
        # 3. gyro impulses, 4. stuck axes (on the rows still in)
        bad = self._impulses(times, rows)
        stuck = self._stuck(times, rows)
        if stuck is not None:
            self.rejected["stuck_axis"] += int((stuck if bad is None else stuck & ~bad).sum())
            bad = stuck if bad is None else bad | stuck
        if bad is None:
            return keep
        if keep is None:
            return ~bad
        keep[np.flatnonzero(keep)[bad]] = False
        return keep

    def _impulses(self, times: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        gyr = rows[:, self._gyr_cols]
        context = len(self._gyr_context)
        series = np.concatenate([self._gyr_context, gyr]) if context else gyr
        self._gyr_context = series[-2:].copy()
        carried = self._hold_until_s
        d2 = np.abs(series[2:] - 2.0 * series[1:-1] + series[:-2]) if len(series) >= 3 else np.zeros((0, 1))
        tripped = np.flatnonzero((d2 > self.impulse_limit_dps).any(axis=1)) + 2 - context  # rows of this push
        if not len(tripped) and times[0] >= carried:
            return None
        ends = np.full(len(rows), -math.inf)
        ends[tripped] = times[tripped] + IMPULSE_HOLD_S
        bad = times < np.maximum.accumulate(np.maximum(ends, carried))
        bad[np.maximum(tripped - 1, 0)] = True  # the second difference weighs the row before twice
        self._hold_until_s = max(carried, float(ends.max()))
        self.rejected["gyro_impulse"] += int(bad.sum())
        return bad

    def _stuck(self, times: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        previous = self._last_row
        self._last_row = rows[-1].copy()
        if previous is None:
            self._run_start_s[:] = times[0]
            previous = rows[0]
        same = np.empty(rows.shape, dtype=bool)
        same[0] = rows[0] == previous
        same[1:] = rows[1:] == rows[:-1]
        if not same.any():  # walking: every axis moves every sample
            self._run_start_s[:] = times[-1]
            return None
        # start time of the run each value belongs to (carried from the previous push)
        index = np.where(same, 0, np.arange(1, len(rows) + 1)[:, None])
        start = np.maximum.accumulate(index, axis=0)  # 0: run continues from before
        starts = np.where(start == 0, self._run_start_s[None, :], times[np.maximum(start - 1, 0)])
        self._run_start_s = starts[-1].copy()
        duration = times[:, None] - starts
        long_run = duration >= STUCK_MIN_S
        if not long_run.any():
            return None
        bad = np.zeros(len(rows), dtype=bool)
        for first in range(0, self.width, 6):
            runs = long_run[:, first : first + 6]
            moving = (np.abs(rows[:, first + 3 : first + 6]) >= MOVING_GYR_DPS).any(axis=1)
            frozen = runs.all(axis=1)  # the whole sensor repeats itself
            for group in (runs[:, 0:3], runs[:, 3:6]):
                frozen |= group.any(axis=1) & ((~group).sum(axis=1) >= 2)  # one axis stuck, two alive
            bad |= frozen & moving
        return bad if bad.any() else None

    def state(self) -> dict:
        return {
            "rejected": dict(self.rejected),
            "gyr_context": self._gyr_context.tolist(),
            "hold_until_s": None if self._hold_until_s == -math.inf else self._hold_until_s,
            "last_row": None if self._last_row is None else self._last_row.tolist(),
            "run_start_s": self._run_start_s.tolist(),
        }

    def load_state(self, state: dict | None) -> None:
        if not state:
            return
        self.rejected = {**dict.fromkeys(REASONS, 0), **state["rejected"]}
        self._gyr_context = np.array(state["gyr_context"], dtype=float).reshape(-1, len(self._gyr_cols))
        self._hold_until_s = -math.inf if state["hold_until_s"] is None else float(state["hold_until_s"])
        self._last_row = None if state["last_row"] is None else np.array(state["last_row"], dtype=float)
        self._run_start_s = np.array(state["run_start_s"], dtype=float)


def corrupt_rows(rows: np.ndarray, sampling_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows of one sensor's (n, 6) samples (acc xyz, gyr xyz) that rules 1-3 remove, judged within
    these rows alone: (acc rows bad, gyr rows bad) as boolean masks. What the live sensor checks
    count for the ``corrupt_samples`` fault; the engine's :class:`SampleGate` also carries context
    between frames and finds stuck axes (the ``flat_signal`` fault covers those live)."""
    finite = np.isfinite(rows)
    magnitude = np.abs(np.where(finite, rows, 0.0))
    acc_bad = ~finite[:, :3].all(axis=1) | (magnitude[:, :3] > ACC_LIMIT_MPS2).any(axis=1)
    gyr_bad = ~finite[:, 3:].all(axis=1) | (magnitude[:, 3:] > GYR_LIMIT_DPS).any(axis=1)
    ok = ~(acc_bad | gyr_bad)
    gyr = rows[ok][:, 3:]
    if len(gyr) >= 3:
        limit = IMPULSE_LIMIT_DPS * max(1.0, (IMPULSE_REFERENCE_RATE_HZ / float(sampling_rate_hz)) ** 2)
        tripped = (np.abs(gyr[2:] - 2.0 * gyr[1:-1] + gyr[:-2]) > limit).any(axis=1)
        if tripped.any():
            index = np.flatnonzero(ok)
            gyr_bad[index[np.flatnonzero(tripped) + 2]] = True
            gyr_bad[index[np.flatnonzero(tripped) + 1]] = True
    return acc_bad, gyr_bad
