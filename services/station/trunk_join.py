"""Live joining of the trunk sensor's samples onto the pelvis's frames (pure: no LSL, no clock).

The two sensors are separate devices: their timestamps, even after LSL's time correction, can
differ by tens of milliseconds and drift apart. ``TrunkJoiner`` measures the trunk clock's lag in
windows of ``window_s`` as the data comes (``trunk_align.estimate_lag_s``), keeps a line through
the lags (offset and drift), and gives each pelvis frame the trunk's samples interpolated at the
pelvis sample times with that correction.

1. A pelvis frame leaves when the corrected trunk data covers its last sample. Until the first
   window has been measured, frames wait (at most ``window_s`` plus the lag bound, once per
   session); if that window could not be measured (standing still), the trunk is taken as on
   time until one can.
2. A trunk that falls silent: once the pelvis runs ``wait_s`` past a frame the trunk does not
   cover, the frame leaves with the uncovered trunk samples missing (NaN) and they are counted
   (``trunk_missing``). Trunk samples further apart than ``max_trunk_gap_s`` are not bridged.
3. Times are seconds on one clock (the host's epoch), columns in the contract's units.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from gaitstream.services.station.frames import PELVIS_COLUMNS
from gaitstream.services.station.trunk_align import MAX_LAG_S, MIN_CORRELATION, WINDOW_S, ClockFit, estimate_lag_s

# Trunk stamps this far behind the last ones kept: the sensor restarted on a new clock.
RESTART_BACK_S = 1.0
TRUNK_COLUMNS = tuple("trunk_" + c for c in PELVIS_COLUMNS)


@dataclass
class TrunkClock:
    """The trunk clock's lag measured window by window; ``fit()`` is the line through them."""

    t0_s: float | None = None
    centres_s: list[float] = field(default_factory=list)
    lags_s: list[float] = field(default_factory=list)

    def add(self, centre_s: float, lag_s: float) -> None:
        if self.t0_s is None:
            self.t0_s = centre_s
        self.centres_s.append(centre_s)
        self.lags_s.append(lag_s)

    def fit(self) -> ClockFit | None:
        if not self.lags_s:
            return None
        if len(self.lags_s) == 1:
            return ClockFit(self.lags_s[0], 0.0, self.centres_s[0], 1)
        drift, offset = np.polyfit(np.asarray(self.centres_s) - self.t0_s, np.asarray(self.lags_s), 1)
        return ClockFit(float(offset), float(drift), self.t0_s, len(self.lags_s))


@dataclass
class TrunkJoiner:
    sampling_rate_hz: float
    window_s: float = WINDOW_S
    wait_s: float = 1.0
    max_trunk_gap_s: float = 0.1
    min_correlation: float = MIN_CORRELATION
    clock: TrunkClock = field(default_factory=TrunkClock)
    windows_tried: int = 0
    trunk_missing: int = 0
    trunk_restarts: int = 0
    _frames: deque = field(default_factory=deque)
    _pelvis_t: list[np.ndarray] = field(default_factory=list)
    _pelvis_acc: list[np.ndarray] = field(default_factory=list)
    _trunk_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    _trunk_rows: np.ndarray = field(default_factory=lambda: np.empty((0, 6)))
    _next_window_s: float | None = None

    # ------------------------------------------------------------------ input
    def push_pelvis(self, first_s: float, block: dict[str, np.ndarray]) -> None:
        """A pelvis frame as the assembler made it (``time_s`` and the pelvis columns)."""
        self._frames.append((first_s, block))
        self._pelvis_t.append(np.asarray(block["time_s"], dtype=float))
        self._pelvis_acc.append(np.column_stack([block[c] for c in PELVIS_COLUMNS[:3]]))
        if self._next_window_s is None:
            self._next_window_s = float(block["time_s"][0])
        self._measure()

    def push_trunk(self, times_s: np.ndarray, rows: np.ndarray) -> None:
        """Trunk samples (n, 6: acc xyz, gyr xyz) on the trunk device's clock; later than the last
        ones kept (earlier ones, e.g. from a restarted sensor, are refused)."""
        times_s, rows = np.asarray(times_s, dtype=float), np.asarray(rows, dtype=float).reshape(-1, 6)
        if len(self._trunk_t) and len(times_s) and times_s[0] < self._trunk_t[-1] - RESTART_BACK_S:
            # the trunk sensor started over on a new clock: measure it again from here
            self.trunk_restarts += 1
            self._trunk_t, self._trunk_rows, self.clock = np.empty(0), np.empty((0, 6)), TrunkClock()
        if len(self._trunk_t):
            keep = times_s > self._trunk_t[-1]
            times_s, rows = times_s[keep], rows[keep]
        self._trunk_t = np.concatenate([self._trunk_t, times_s])
        self._trunk_rows = np.vstack([self._trunk_rows, rows])
        self._measure()

    # ------------------------------------------------------------------ clock
    @property
    def fit(self) -> ClockFit | None:
        return self.clock.fit()

    def _measure(self) -> None:
        """Measure every window both sensors now cover."""
        while self._next_window_s is not None:
            start, stop = self._next_window_s, self._next_window_s + self.window_s
            pelvis_t = np.concatenate(self._pelvis_t) if self._pelvis_t else np.empty(0)
            if not len(pelvis_t) or pelvis_t[-1] < stop:
                return
            trunk_covers = len(self._trunk_t) and self._trunk_t[-1] >= stop + MAX_LAG_S
            if not trunk_covers and pelvis_t[-1] < stop + MAX_LAG_S + self.wait_s:
                return  # the trunk may still come
            pelvis_acc = np.vstack(self._pelvis_acc)
            p = (pelvis_t >= start) & (pelvis_t < stop)
            t = (self._trunk_t >= start - MAX_LAG_S) & (self._trunk_t < stop + MAX_LAG_S)
            self.windows_tried += 1
            if p.sum() >= 10 and t.sum() >= 10:
                lag, score = estimate_lag_s(
                    pelvis_t[p],
                    pelvis_acc[p],
                    self._trunk_t[t],
                    self._trunk_rows[t, :3],
                    rate_hz=self.sampling_rate_hz,
                )
                if np.isfinite(lag) and score >= self.min_correlation:
                    self.clock.add(start + self.window_s / 2, lag)
            self._next_window_s = stop
            keep = pelvis_t >= stop  # the pelvis history is only needed for the next window
            self._pelvis_t, self._pelvis_acc = [pelvis_t[keep]], [pelvis_acc[keep]]

    # ------------------------------------------------------------------ output
    def take(self) -> list[tuple[float, dict[str, np.ndarray]]]:
        """The frames ready to leave, with their ``trunk_*`` columns, in order."""
        out = []
        fit = self.fit
        if fit is None and self.windows_tried == 0:
            return out  # the first window is not measured yet
        lag = fit.lag_s if fit is not None else (lambda t: np.zeros_like(np.asarray(t, dtype=float)))
        corrected = self._trunk_t - lag(self._trunk_t)
        newest_pelvis_s = float(self._frames[-1][1]["time_s"][-1]) if self._frames else None
        while self._frames:
            first_s, block = self._frames[0]
            end_s = float(block["time_s"][-1])
            covered = len(corrected) and corrected[-1] >= end_s
            if not covered and newest_pelvis_s - end_s < self.wait_s:
                break
            self._frames.popleft()
            trunk = self._interpolate(np.asarray(block["time_s"], dtype=float), corrected)
            self.trunk_missing += int(np.isnan(trunk[:, 0]).sum())
            out.append((first_s, {**block, **{name: trunk[:, i] for i, name in enumerate(TRUNK_COLUMNS)}}))
        self._prune(corrected)
        return out

    def flush(self) -> list[tuple[float, dict[str, np.ndarray]]]:
        """Everything still held (the stream ended): with what trunk data there is."""
        if self.fit is None and self.windows_tried == 0:
            self.windows_tried = 1  # never measured: the trunk is taken as on time
        wait_s, self.wait_s = self.wait_s, -np.inf
        try:
            return self.take()
        finally:
            self.wait_s = wait_s

    def _interpolate(self, pelvis_t: np.ndarray, corrected: np.ndarray) -> np.ndarray:
        out = np.full((len(pelvis_t), 6), np.nan)
        if len(corrected) < 2:
            return out
        right = np.searchsorted(corrected, pelvis_t)
        inside = (right > 0) & (right < len(corrected))
        exact = (right < len(corrected)) & (corrected[np.minimum(right, len(corrected) - 1)] == pelvis_t)
        left = np.maximum(right - 1, 0)
        span = corrected[np.minimum(right, len(corrected) - 1)] - corrected[left]
        usable = (inside & (span <= self.max_trunk_gap_s)) | exact
        for i in range(6):
            out[usable, i] = np.interp(pelvis_t[usable], corrected, self._trunk_rows[:, i])
        return out

    def _prune(self, corrected: np.ndarray) -> None:
        """Forget trunk samples neither a held frame nor the next window needs."""
        needed = [self._next_window_s - MAX_LAG_S] if self._next_window_s is not None else []
        if self._frames:
            needed.append(float(self._frames[0][1]["time_s"][0]))
        if not needed or not len(corrected):
            return
        cut = int(np.searchsorted(corrected, min(needed) - 2 * self.max_trunk_gap_s))
        cut = min(cut, int(np.searchsorted(self._trunk_t, min(needed) - MAX_LAG_S - 2 * self.max_trunk_gap_s)))
        if cut > 0:
            self._trunk_t, self._trunk_rows = self._trunk_t[cut:], self._trunk_rows[cut:]
