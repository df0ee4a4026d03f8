"""Left/right of each stance step from the pelvis yaw rate around its initial contacts.

Around a left heel strike the pelvis turns toward the right (negative rate about
the vertical axis, z up), around a right heel strike toward the left. McCamley
et al. (2012, doi:10.1016/j.gaitpost.2012.02.019) take the sign of the
band-passed yaw rate at the IC. Here the mean yaw rate in a short window around
each IC is compared with that of the next IC (the difference cancels turning
and gyro bias without a long filter) and consecutive steps of a bout vote,
since sides alternate.
"""

from __future__ import annotations

import numpy as np

# Share of the previous step's evidence carried (with opposite sign) into the next step.
ALTERNATION_WEIGHT = 0.5


class StreamingSideDetector:
    """Side of stance steps from the vertical angular rate (deg/s).

    Processing steps:
    1. Feature of an IC at sample k: mean yaw rate over
       [k − ``before_s``, k + ``after_s``) (the rate's lobe around the IC).
    2. Step from IC a to IC b: evidence D = f_a − f_b, minus
       ``ALTERNATION_WEIGHT`` · D of the previous step when contiguous.
    3. Left step when D < 0.

    Data requirements: yaw rate about the world vertical, uniformly sampled; the
    feature of an IC is ready ``after_s`` after it (``look_ahead_samples``).

    Notes: McCamley uses a 0.5–2 Hz zero-phase band-pass and one IC at a time;
    the pairwise difference gives the same turning rejection causally and with
    0.15 s look-ahead instead of seconds.
    """

    def __init__(self, *, sampling_rate_hz: float, before_s: float = 0.1, after_s: float = 0.15) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.before_s = before_s
        self.after_s = after_s
        self._before = max(0, int(round(before_s * sampling_rate_hz)))
        self._after = max(1, int(round(after_s * sampling_rate_hz)))
        self._rate = np.zeros(0)
        self._rate_start = 0
        self._evidence = 0.0

    @property
    def look_ahead_samples(self) -> int:
        return self._after

    def append(self, yaw_rate_dps: np.ndarray) -> None:
        self._rate = np.concatenate([self._rate, yaw_rate_dps])

    def trim(self, oldest_ic_index: int) -> None:
        """Forget samples no IC at or after ``oldest_ic_index`` will need (bounded state)."""
        cut = oldest_ic_index - self._before - self._rate_start
        if cut > len(self._rate) // 2:
            self._rate_start += cut
            self._rate = self._rate[cut:]

    def feature(self, ic_index: int) -> float:
        """1. Mean yaw rate around the IC at global sample ``ic_index``."""
        k = ic_index - self._rate_start
        if k + self._after > len(self._rate):
            raise ValueError("feature requested before the look-ahead samples arrived")
        return float(self._rate[max(k - self._before, 0):k + self._after].mean())

    def side_of_step(self, start_feature: float, end_feature: float, *, contiguous: bool) -> str:
        """2.–3. Side of the step between two ICs with these features."""
        evidence = start_feature - end_feature
        if contiguous:
            evidence -= ALTERNATION_WEIGHT * self._evidence
        self._evidence = evidence
        return "left" if evidence < 0 else "right"

    def state(self) -> dict:
        return {"rate": self._rate.tolist(), "rate_start": self._rate_start, "evidence": self._evidence}

    def load_state(self, state: dict) -> None:
        self._rate = np.array(state["rate"], dtype=float)
        self._rate_start = int(state["rate_start"])
        self._evidence = float(state["evidence"])
