"""Left/right of each initial contact from the pelvis yaw rate.

After a left heel strike the pelvis turns toward the right (negative rate about
the vertical axis, z up) as the left leg takes the load, after a right heel
strike toward the left. McCamley et al. (2012, doi:10.1016/j.gaitpost.2012.02.019)
use the sign of the band-passed yaw rate at the IC; we use the mean rate over
the first ``window_s`` after the IC, minus the mean over the preceding
``baseline_s`` (which removes turning and gyro bias causally), and let
consecutive ICs of one bout vote, since sides alternate.
"""

from __future__ import annotations

import numpy as np

# Share of the previous evidence carried (with opposite sign) into the next IC.
ALTERNATION_WEIGHT = 0.7


class StreamingSideDetector:
    """Assign "left"/"right" to ICs from the vertical angular rate (deg/s).

    Processing steps:
    1. Feature of an IC at sample k: mean yaw rate over [k, k + ``window_s``)
       minus the mean over [k − ``baseline_s``, k).
    2. Evidence E_k = feature_k − ``ALTERNATION_WEIGHT`` · E_{k−1} within a bout
       (previous IC at most ``max_step_s`` earlier), else E_k = feature_k.
    3. Left when E_k < 0.

    Data requirements: yaw rate about the world vertical, uniformly sampled;
    the side of an IC is ready ``window_s`` after it.
    """

    def __init__(self, *, sampling_rate_hz: float, window_s: float = 0.15, baseline_s: float = 2.0,
                 max_step_s: float = 1.5) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.window_s = window_s
        self.baseline_s = baseline_s
        self.max_step_s = max_step_s
        self._window = max(1, int(round(window_s * sampling_rate_hz)))
        self._baseline = max(1, int(round(baseline_s * sampling_rate_hz)))
        self._rate = np.zeros(0)
        self._rate_start = 0
        self._evidence = 0.0
        self._last_ic = -(10**9)

    @property
    def look_ahead_samples(self) -> int:
        return self._window

    def append(self, yaw_rate_dps: np.ndarray) -> None:
        self._rate = np.concatenate([self._rate, yaw_rate_dps])

    def trim(self, oldest_ic_index: int) -> None:
        """Forget samples no IC at or after ``oldest_ic_index`` will need (bounded state)."""
        cut = oldest_ic_index - self._baseline - self._rate_start
        if cut > len(self._rate) // 2:
            self._rate_start += cut
            self._rate = self._rate[cut:]

    def available_until(self) -> int:
        return self._rate_start + len(self._rate)

    def classify(self, ic_index: int) -> str:
        """Side of the IC at global sample ``ic_index`` (needs ``look_ahead_samples`` after it)."""
        k = ic_index - self._rate_start
        if k + self._window > len(self._rate):
            raise ValueError("side requested before the look-ahead samples arrived")
        # 1. feature
        after = self._rate[max(k, 0):k + self._window].mean()
        before = self._rate[max(k - self._baseline, 0):max(k, 1)].mean()
        feature = float(after - before)
        # 2. evidence with alternation
        if ic_index - self._last_ic <= self.max_step_s * self.sampling_rate_hz:
            self._evidence = feature - ALTERNATION_WEIGHT * self._evidence
        else:
            self._evidence = feature
        self._last_ic = ic_index
        # 3. sign
        return "left" if self._evidence < 0 else "right"

    def state(self) -> dict:
        return {"rate": self._rate.tolist(), "rate_start": self._rate_start,
                "evidence": self._evidence, "last_ic": self._last_ic}

    def load_state(self, state: dict) -> None:
        self._rate = np.array(state["rate"], dtype=float)
        self._rate_start = int(state["rate_start"])
        self._evidence = float(state["evidence"])
        self._last_ic = int(state["last_ic"])
