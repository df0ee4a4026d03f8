"""Left/right of each stance step from the pelvis's mediolateral acceleration after its ICs.

In single support the trunk moves like an inverted pendulum over the stance
foot (Zijlstra & Hof 2003, doi:10.1016/S0966-6362(02)00190-X): after a left
heel strike the body travels toward the left foot and is braked, i.e. its
mediolateral acceleration points to the right (negative y) in the following
0.15–0.40 s; after a right heel strike it points to the left. Comparing this
feature between consecutive ICs cancels slow offsets (mounting, turning), and
consecutive steps of a bout vote since sides alternate.

Notes: McCamley et al. (2012, doi:10.1016/j.gaitpost.2012.02.019) and mobgap's
LrcMcCamley use the sign of the band-passed yaw (and roll) rate at the IC. On
the shared real recordings the yaw-rate sign was inverted for several
subjects of ipol-L5 (side correct 0.74 over 110 trials, vs 0.98 with this
feature) while both were equal on mobgap-HA001.
"""

from __future__ import annotations

import numpy as np

from gaitstream.gait.signals import ChunkBuffer

# Share of the previous step's evidence carried (with opposite sign) into the next step.
ALTERNATION_WEIGHT = 0.5


class StreamingSideDetector:
    """Side of stance steps from the mediolateral acceleration (m/s², gravity removed, + = left).

    Processing steps:
    1. Feature of an IC at sample k: mean ML acceleration over
       [k + ``start_s``, k + ``end_s``).
    2. Step from IC a to IC b: evidence D = f_a − f_b, minus
       ``ALTERNATION_WEIGHT`` · D of the previous step when contiguous.
    3. Left step when D < 0.

    Data requirements: uniformly sampled; the feature of an IC is ready
    ``end_s`` after it (``look_ahead_samples``).
    """

    def __init__(self, *, sampling_rate_hz: float, start_s: float = 0.15, end_s: float = 0.40) -> None:
        if not 0 <= start_s < end_s:
            raise ValueError(f"need 0 <= start_s < end_s, got start_s={start_s}, end_s={end_s}")
        self.sampling_rate_hz = sampling_rate_hz
        self.start_s = start_s
        self.end_s = end_s
        self._start = int(round(start_s * sampling_rate_hz))
        self._end = max(self._start + 1, int(round(end_s * sampling_rate_hz)))
        self._acc = ChunkBuffer()
        self._evidence = 0.0

    @property
    def look_ahead_samples(self) -> int:
        return self._end

    def append(self, acc_ml_mps2: np.ndarray) -> None:
        self._acc.append(acc_ml_mps2)

    def trim(self, oldest_ic_index: int) -> None:
        """Forget samples no IC at or after ``oldest_ic_index`` will need (bounded state)."""
        self._acc.trim(oldest_ic_index)

    def rewrite(self, acc_ml_mps2: np.ndarray, start: int = 0) -> None:
        """Replace the held samples that ``acc_ml_mps2`` covers (its first value is global sample ``start``)."""
        held = self._acc.array()
        lo, hi = max(start, self._acc.start), min(start + len(acc_ml_mps2), self._acc.end)
        if hi > lo:
            held[lo - self._acc.start : hi - self._acc.start] = acc_ml_mps2[lo - start : hi - start]

    def feature(self, ic_index: int) -> float:
        """1. Mean ML acceleration after the IC at global sample ``ic_index``."""
        k = ic_index - self._acc.start
        if k < 0 or k + self._end > len(self._acc):
            raise ValueError("feature requested outside the held samples")
        return float(self._acc.array()[k + self._start : k + self._end].mean())

    def side_of_step(self, start_feature: float, end_feature: float, *, contiguous: bool) -> str:
        """2.–3. Side of the step between two ICs with these features."""
        evidence = start_feature - end_feature
        if contiguous:
            evidence -= ALTERNATION_WEIGHT * self._evidence
        self._evidence = evidence
        return "left" if evidence < 0 else "right"

    def state(self) -> dict:
        return {"acc": self._acc.state(), "evidence": self._evidence}

    def load_state(self, state: dict) -> None:
        self._acc = ChunkBuffer.from_state(state["acc"])
        self._evidence = float(state["evidence"])
