"""Initial contacts (heel strikes) from the vertical acceleration of a lower-back IMU.

At heel strike the trunk's vertical acceleration swings from its minimum
(body falling onto the leading leg) to its maximum within ~100 ms; the
steepest rise marks the IC. This is the event McCamley et al. find by
integrating the vertical acceleration and differentiating it with a Gaussian
wavelet (McCamley 2012, doi:10.1016/j.gaitpost.2012.02.019); a Gaussian-
derivative filter applied to the acceleration itself is the same smoothed
derivative in one step, and a symmetric FIR kernel keeps it zero-phase with a
fixed, short look-ahead, so it runs live.
"""

from __future__ import annotations

import numpy as np

# An IC's jerk must exceed this fraction of the recent typical IC jerk: rejects
# the smaller secondary rises of the same step (toe-off, mid-stance ripples).
RELATIVE_JERK_THRESHOLD = 0.3
# Weight of a new IC in the running typical IC jerk (exponential average).
TYPICAL_JERK_UPDATE = 0.2


def gaussian_derivative_kernel(sigma_s: float, sampling_rate_hz: float) -> np.ndarray:
    """Convolution kernel of d/dt of a unit-area Gaussian (1/s), truncated at ±3σ."""
    half = max(1, int(np.ceil(3.0 * sigma_s * sampling_rate_hz)))
    t_s = np.arange(-half, half + 1) / sampling_rate_hz
    gauss = np.exp(-0.5 * (t_s / sigma_s) ** 2)
    gauss /= gauss.sum()
    kernel = -t_s / sigma_s**2 * gauss
    # exact unit gain on a ramp despite truncation and sampling
    return kernel / -(kernel * t_s).sum()


class StreamingIcDetector:
    """Live IC detector over a stream of vertical acceleration samples.

    Processing steps:
    1. Jerk: convolve the vertical acceleration (m/s², gravity removed) with a
       Gaussian-derivative kernel (σ = ``smoothing_s``; look-ahead 3σ).
    2. Candidates: samples whose jerk is the maximum within ±``min_interval_s``
       (look-ahead ``min_interval_s``) and above ``min_jerk_mps3``.
    3. Accept a candidate when its jerk is above ``RELATIVE_JERK_THRESHOLD`` of
       the running typical IC jerk and it is at least ``min_interval_s`` after the
       previous IC.

    Data requirements: uniformly sampled; any chunk length; bounded state.
    Output of :meth:`process`: global sample indices of ICs decided by the new
    data (each at most ``3σ + min_interval_s`` after the IC).

    Notes: McCamley (2012) and mobgap's detectors filter whole recordings with
    zero-phase IIR filters; here every filter is a finite symmetric kernel so
    the live result equals the offline result sample for sample.
    """

    def __init__(self, *, sampling_rate_hz: float, smoothing_s: float = 0.03,
                 min_interval_s: float = 0.3, min_jerk_mps3: float = 8.0) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.smoothing_s = smoothing_s
        self.min_interval_s = min_interval_s
        self.min_jerk_mps3 = min_jerk_mps3
        self._kernel = gaussian_derivative_kernel(smoothing_s, sampling_rate_hz)
        self._half_kernel = len(self._kernel) // 2
        self._half_window = max(1, int(round(min_interval_s * sampling_rate_hz)))
        self._acc = np.zeros(0)        # vertical acc, global index _acc_start ...
        self._acc_start = 0
        self._jerk = np.zeros(0)       # jerk, global index _jerk_start ...
        self._jerk_start = self._half_kernel
        self._typical_jerk = 0.0
        self._last_ic = -(10**9)
        self.look_ahead_samples = self._half_kernel + self._half_window

    def reset(self, next_index: int) -> None:
        """Forget the past (e.g. after a long gap); the next sample has global index ``next_index``."""
        self._acc = np.zeros(0)
        self._acc_start = next_index
        self._jerk = np.zeros(0)
        self._jerk_start = next_index + self._half_kernel

    def process(self, acc_is_mps2: np.ndarray) -> list[int]:
        self._acc = np.concatenate([self._acc, acc_is_mps2])
        # 1. jerk where the whole kernel is available
        if len(self._acc) >= len(self._kernel):
            new_jerk = np.convolve(self._acc, self._kernel, mode="valid")
            done = self._jerk_start + len(self._jerk) - (self._acc_start + self._half_kernel)
            self._jerk = np.concatenate([self._jerk, new_jerk[done:]])
        # 2. candidates where the whole ±window is available
        ics: list[int] = []
        w = self._half_window
        if len(self._jerk) >= 2 * w + 1:
            jerk = self._jerk
            centre = jerk[w:len(jerk) - w]
            # cheap pre-selection: above the floor and not below either neighbour
            candidates = np.flatnonzero((centre > self.min_jerk_mps3)
                                        & (centre >= jerk[w - 1:len(jerk) - w - 1])
                                        & (centre >= jerk[w + 1:len(jerk) - w + 1]))
            for pos in candidates.tolist():
                value = float(centre[pos])
                if value < jerk[pos:pos + 2 * w + 1].max():
                    continue            # not the maximum of its ±window
                # 3. relative threshold and minimum interval, in order
                index = self._jerk_start + w + pos
                if value < RELATIVE_JERK_THRESHOLD * self._typical_jerk:
                    continue
                if index - self._last_ic < w:
                    continue
                self._typical_jerk = (value if self._typical_jerk == 0.0 else
                                      (1 - TYPICAL_JERK_UPDATE) * self._typical_jerk
                                      + TYPICAL_JERK_UPDATE * value)
                self._last_ic = index
                ics.append(index)
            # keep the 2w samples still needed as left context of future candidates
            keep = 2 * w
            self._jerk_start += len(jerk) - keep
            self._jerk = jerk[-keep:]
        keep_acc = len(self._kernel) - 1
        if len(self._acc) > keep_acc:
            self._acc_start += len(self._acc) - keep_acc
            self._acc = self._acc[-keep_acc:]
        return ics

    def state(self) -> dict:
        return {"acc": self._acc.tolist(), "acc_start": self._acc_start, "jerk": self._jerk.tolist(),
                "jerk_start": self._jerk_start, "typical_jerk": self._typical_jerk,
                "last_ic": self._last_ic}

    def load_state(self, state: dict) -> None:
        self._acc = np.array(state["acc"], dtype=float)
        self._acc_start = int(state["acc_start"])
        self._jerk = np.array(state["jerk"], dtype=float)
        self._jerk_start = int(state["jerk_start"])
        self._typical_jerk = float(state["typical_jerk"])
        self._last_ic = int(state["last_ic"])


class IcdVerticalJerk:
    """Offline form of :class:`StreamingIcDetector` (same result, whole array at once).

    ``detect(acc_is_mps2, sampling_rate_hz=...)`` sets ``ic_list_`` (sample
    indices, int array) and returns self.
    """

    def __init__(self, *, smoothing_s: float = 0.03, min_interval_s: float = 0.3,
                 min_jerk_mps3: float = 8.0) -> None:
        self.smoothing_s = smoothing_s
        self.min_interval_s = min_interval_s
        self.min_jerk_mps3 = min_jerk_mps3

    def detect(self, acc_is_mps2: np.ndarray, *, sampling_rate_hz: float) -> "IcdVerticalJerk":
        detector = StreamingIcDetector(sampling_rate_hz=sampling_rate_hz, smoothing_s=self.smoothing_s,
                                       min_interval_s=self.min_interval_s, min_jerk_mps3=self.min_jerk_mps3)
        self.ic_list_ = np.array(detector.process(np.asarray(acc_is_mps2, dtype=float)), dtype=int)
        return self
