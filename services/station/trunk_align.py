"""The trunk sensor on the pelvis sensor's clock (pure). Two IMUs on one walking body feel the same
heel strikes: the lag between them is where the cross-correlation of their acceleration
magnitudes peaks. Measured in windows along the session, the lags give the trunk clock's offset
and drift against the pelvis (a line fit), and the trunk's samples are interpolated onto the
pelvis's sample times with that correction.

1. Both magnitudes are resampled on a common grid at the pelvis rate, mean removed.
2. Normalised cross-correlation over lags of at most ``max_lag_s``; the peak refined by a parabola
   through its neighbours (sub-sample lag).
3. Lags of windows whose peak correlation is weak (``min_correlation``: standing still) are left
   out of the fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_S = 10.0
MAX_LAG_S = 0.25
MIN_CORRELATION = 0.5


def estimate_lag_s(
    ref_t_s: np.ndarray,
    ref_acc: np.ndarray,
    other_t_s: np.ndarray,
    other_acc: np.ndarray,
    *,
    rate_hz: float,
    max_lag_s: float = MAX_LAG_S,
) -> tuple[float, float]:
    """(lag in s by which ``other``'s clock runs late against ``ref``'s, peak correlation)."""
    start, stop = max(ref_t_s[0], other_t_s[0]), min(ref_t_s[-1], other_t_s[-1])
    if stop - start < 4 * max_lag_s:
        return float("nan"), 0.0
    grid = np.arange(start, stop, 1.0 / rate_hz)
    a = np.interp(grid, ref_t_s, np.linalg.norm(ref_acc, axis=1))
    b = np.interp(grid, other_t_s, np.linalg.norm(other_acc, axis=1))
    a, b = a - a.mean(), b - b.mean()
    max_lag = int(round(max_lag_s * rate_hz))
    scores = []
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[: len(a) - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[: len(b) + lag])
        denominator = np.sqrt((x * x).sum() * (y * y).sum())
        scores.append(float((x * y).sum() / denominator) if denominator > 0 else 0.0)
    scores_arr = np.asarray(scores)
    peak = int(np.argmax(scores_arr))
    refine = 0.0
    if 0 < peak < len(scores_arr) - 1:
        left, mid, right = scores_arr[peak - 1 : peak + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            refine = 0.5 * (left - right) / curvature
    return (peak - max_lag + refine) / rate_hz, float(scores_arr[peak])


@dataclass(frozen=True)
class ClockFit:
    """``lag(t) = offset_s + drift * (t - t0_s)``: how late the trunk clock runs at time ``t``."""

    offset_s: float
    drift: float
    t0_s: float
    windows: int

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    def lag_s(self, t_s: np.ndarray) -> np.ndarray:
        return self.offset_s + self.drift * (np.asarray(t_s) - self.t0_s)


def fit_clock(
    pelvis_t_s: np.ndarray,
    pelvis_acc: np.ndarray,
    trunk_t_s: np.ndarray,
    trunk_acc: np.ndarray,
    *,
    rate_hz: float,
    window_s: float = WINDOW_S,
    min_correlation: float = MIN_CORRELATION,
) -> ClockFit:
    """Lags in windows along the session, fitted with a line (one window: no drift)."""
    centres, lags = [], []
    for start in np.arange(pelvis_t_s[0], pelvis_t_s[-1] - window_s / 2, window_s):
        p = (pelvis_t_s >= start) & (pelvis_t_s < start + window_s)
        t = (trunk_t_s >= start - MAX_LAG_S) & (trunk_t_s < start + window_s + MAX_LAG_S)
        if p.sum() < 10 or t.sum() < 10:
            continue
        lag, score = estimate_lag_s(pelvis_t_s[p], pelvis_acc[p], trunk_t_s[t], trunk_acc[t], rate_hz=rate_hz)
        if np.isfinite(lag) and score >= min_correlation:
            centres.append(start + window_s / 2)
            lags.append(lag)
    if not lags:
        raise ValueError("no window where pelvis and trunk move together: cannot align the trunk clock")
    t0 = float(pelvis_t_s[0])
    if len(lags) == 1:
        return ClockFit(lags[0], 0.0, t0, 1)
    drift, offset = np.polyfit(np.asarray(centres) - t0, np.asarray(lags), 1)
    return ClockFit(float(offset), float(drift), t0, len(lags))


def align(pelvis_t_s: np.ndarray, trunk_t_s: np.ndarray, trunk_rows: np.ndarray, fit: ClockFit) -> np.ndarray:
    """The trunk's rows (n, k) at the pelvis sample times, its clock corrected by ``fit``."""
    corrected = np.asarray(trunk_t_s) - fit.lag_s(trunk_t_s)
    return np.column_stack([np.interp(pelvis_t_s, corrected, trunk_rows[:, i]) for i in range(trunk_rows.shape[1])])
