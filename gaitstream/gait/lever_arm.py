"""The acceleration of a sensor that sits away from its segment's pivot.

A trunk sensor sits on the sternum or between the shoulder blades, 0.3–0.5 m
above the lumbar pivot about which the trunk leans (GAIT_SPEC "Where sensors
sit"). Its accelerometer then feels, on top of gravity and the pivot's own
translation, the tangential and centripetal acceleration of its point,

    a_lever = ω̇ × r + ω × (ω × r),   r = h · z_segment,

the rigid-body acceleration of a point at ``r`` from a pivot (the transport
of acceleration between two points of one rigid body, e.g. Kane & Levinson,
*Dynamics: Theory and Applications*, 1985; the same term is removed from an
IMU's accelerations at a known lever arm in strapdown navigation, e.g.
Titterton & Weston, *Strapdown Inertial Navigation Technology*, 2nd ed., 2004).
For a 10° lean within half a stride at 0.45 m that is
1–3 m/s² sideways: an orientation filter that trusts the accelerometer as
"down" is pulled toward upright, and the principal horizontal axis that gives
the mounting yaw turns sideways (calibration.py, yaw_from_walking_deg).

Both are computed from the segment's own gyroscope, so the term can be removed
before the accelerometer corrects the tilt:

1. ω from the bias-corrected gyroscope (rad/s); ω̇ by the backward difference
   over one sample (causal: half a sample late, 2.7° of phase at 1.5 Hz and
   100 Hz, negligible against the filter's own low-pass).
2. ``z_segment`` in sensor coordinates is the segment's long axis: row 2 of the
   mounting rotation (sensor -> body), which does not depend on the mounting
   yaw, so it is known from standing (or the mean walking posture) before the
   yaw is.
3. The height ``h`` is estimated from the data, with the trunk's mounting yaw,
   against the pelvis sensor's acceleration (:func:`fit_on_pivot`), or set by
   the station's configuration.

Pure numpy; streaming state is the previous angular rate (3 floats), so the
output does not depend on how the stream is cut into frames.

Notes: on simulated walking (trunk sensor 0-0.6 m above the pivot, 60
sessions of 12 patterns with quiet standing) the lean's per-step MAE was
0.24-0.25° and the worst per-side median error 0.77-0.79° at every height,
where the engine without this compensation had 0.25° / 0.79° at 0 m but
0.53° / 5.7° at 0.45 m and 0.83° / 7.8° at 0.6 m
(``benchmarks/gait_accuracy.py --placements``). On two healthy adults walking
on a treadmill with optical markers (``benchmarks/trunk_real.py``) the fitted
height came out 0 (a negative fit, clipped; also against the pelvis), where the markers put the
sternum sensor about 0.25 m above L5: a healthy trunk barely leans, so its
pivot's own sway dominates the fit; stating 0, 0.25 or 0.4 m changed the
lean's error against the markers by at most 0.13°. No recording of a
compensated gait with a trunk sensor and markers was available to check the
fit where it matters.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import butter, sosfiltfilt

from gaitstream.gait.calibration import GRAVITY_MPS2, level_horizontal

DEG_TO_RAD = np.pi / 180.0
#: Heights beyond this are not a trunk sensor on a trunk (m).
MAX_LEVER_HEIGHT_M = 0.8
#: Below this RMS of the predicted lever acceleration per metre of height (in
#: the band, m/s² per m) the segment barely rotates and the fit is not trusted.
MIN_LEVER_SIGNAL_MPS2_PER_M = 0.3
#: Low-pass (Hz, zero phase) of the angular rate before it is differentiated for the
#: calibration's batch estimates: the trunk's rotation lives below it, while the
#: gyroscope's white noise, differentiated, grows with frequency (0.7 °/s of noise at
#: 200 Hz is 3.5 rad/s² of ω̇, 2 m/s² at 0.6 m; it turned the yaw 11° on a
#: simulated session, where the noiseless session moved it 2°).
BATCH_RATE_LOWPASS_HZ = 12.0
#: Walking needed for a fit (s): a few strides.
MIN_FIT_WALKING_S = 2.0
#: The first walking seconds are skipped in the fit: the gait is still ramping up.
FIT_SKIP_S = 0.5


@functools.lru_cache(maxsize=16)
def _lowpass_sos(sampling_rate_hz: float) -> np.ndarray:
    return butter(2, min(BATCH_RATE_LOWPASS_HZ, 0.45 * sampling_rate_hz), fs=sampling_rate_hz, output="sos")


def skew(v: np.ndarray) -> np.ndarray:
    """Matrix ``K`` with ``K @ w = v × w``."""
    x, y, z = np.asarray(v, dtype=float)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def lever_matrix(axis: np.ndarray, *, difference_hz: float = 1.0, rate_unit_rad_s: float = 1.0) -> np.ndarray:
    """(12, 3) ``K`` with ``[ω̇, ω ⊗ ω] @ K = ω̇ × z + ω × (ω × z)`` for ``z = axis``.

    Rows 0–2 take ω̇: ω̇ × z = −z × ω̇ is ω̇ times the skew matrix of z (row
    form). Rows 3–11 take the outer products ω_a ω_b (row 3 + 3a + b):
    component c of ω (ω·z) − z |ω|² is Σ_b ω_c ω_b z_b − z_c Σ_a ω_a².
    ``difference_hz`` scales rows 0–2 when they are given differences between
    samples rather than ω̇ (the sampling rate); ``rate_unit_rad_s`` folds the
    rates' unit in (π/180 for deg/s).
    """
    z = np.asarray(axis, dtype=float)
    u = float(rate_unit_rad_s)
    centripetal = np.zeros((9, 3))
    for a in range(3):
        centripetal[3 * a : 3 * a + 3, a] += z  # ω_a ω_b z_b, into component a
        centripetal[4 * a, :] -= z  # − z |ω|²: the squares ω_a ω_a
    return np.vstack([skew(z) * (u * difference_hz), centripetal * (u * u)])


def lever_features(rate: np.ndarray, rate_derivative: np.ndarray) -> np.ndarray:
    """(n, 12): ``[ω̇ (or its differences), ω ⊗ ω]`` per sample, the left factor of :func:`lever_matrix`."""
    n = len(rate)
    features = np.empty((n, 12))
    features[:, :3] = rate_derivative
    features[:, 3:] = (rate[:, :, None] * rate[:, None, :]).reshape(n, 9)
    return features


def backward_differences(rate: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Step 1: each sample's rate minus the one before (``previous`` before the first)."""
    out = np.empty_like(rate)
    out[0] = rate[0] - previous
    out[1:] = rate[1:] - rate[:-1]
    return out


def lever_acceleration_per_m(
    gyr_rad_s: np.ndarray, previous_rad_s: np.ndarray, axis: np.ndarray, sampling_rate_hz: float
) -> np.ndarray:
    """(n, 3) ω̇ × z + ω × (ω × z) for a point one metre along ``axis`` (sensor coordinates), live.

    ``gyr_rad_s`` (n, 3) bias-corrected rates; ``previous_rad_s`` the rate of the
    sample before the first (steps 1–2 of the module docstring). One matrix
    product (:func:`lever_matrix`): numpy's ``cross`` costs more than a
    10-sample frame's budget.
    """
    features = lever_features(gyr_rad_s, backward_differences(gyr_rad_s, previous_rad_s))
    return features @ lever_matrix(axis, difference_hz=sampling_rate_hz)


def smooth_lever_acceleration_per_m(
    gyr_dps: np.ndarray, gyr_bias_dps: np.ndarray, axis: np.ndarray, sampling_rate_hz: float
) -> np.ndarray:
    """Batch (non-causal) form of :func:`lever_acceleration_per_m` for calibration windows.

    The rate is low-passed at ``BATCH_RATE_LOWPASS_HZ`` with zero phase and
    differentiated centrally, so neither noise nor delay enters the estimates
    made from a whole window (the height, the mounting yaw).
    """
    fs = float(sampling_rate_hz)
    w = (np.asarray(gyr_dps, dtype=float) - gyr_bias_dps) * DEG_TO_RAD
    if len(w) > 12:
        w = sosfiltfilt(_lowpass_sos(fs), w, axis=0)
    w_dot = np.gradient(w, 1.0 / fs, axis=0) if len(w) > 1 else np.zeros_like(w)
    return lever_features(w, w_dot) @ lever_matrix(axis)


class LeverArmCompensation:
    """Remove a segment's lever-arm acceleration from its sensor's specific force.

    ``height_m`` along ``axis`` (the segment's long axis in sensor coordinates,
    from the mounting); ``gyr_bias_dps`` as the orientation filter's. A height
    of 0 passes the acceleration through unchanged.
    """

    def __init__(self, *, height_m: float, axis: np.ndarray, gyr_bias_dps: np.ndarray, sampling_rate_hz: float) -> None:
        self.height_m = float(height_m)
        self.axis = np.asarray(axis, dtype=float)
        self.gyr_bias_dps = np.asarray(gyr_bias_dps, dtype=float)
        self.sampling_rate_hz = float(sampling_rate_hz)
        # height × K for rates in deg/s and differences between samples: the frame's cost is a
        # few array operations and one matrix product
        self._matrix = self.height_m * lever_matrix(
            self.axis, difference_hz=self.sampling_rate_hz, rate_unit_rad_s=DEG_TO_RAD
        )
        self._previous: np.ndarray | None = None  # bias-corrected rate (deg/s) of the last sample seen

    def correct(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> np.ndarray:
        """Specific force (n, 3) minus ``height_m`` × the lever acceleration per metre."""
        if not len(acc_mps2):
            return acc_mps2
        rate = gyr_dps - self.gyr_bias_dps
        previous = rate[0] if self._previous is None else self._previous
        self._previous = rate[-1]  # (rate is this call's own array)
        if self.height_m == 0.0:
            return acc_mps2
        return acc_mps2 - lever_features(rate, backward_differences(rate, previous)) @ self._matrix

    def state(self) -> dict:
        return {
            "height_m": self.height_m,
            "axis": self.axis.tolist(),
            "previous": None if self._previous is None else self._previous.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict, *, gyr_bias_dps: np.ndarray, sampling_rate_hz: float) -> "LeverArmCompensation":
        obj = cls(
            height_m=state["height_m"],
            axis=np.array(state["axis"]),
            gyr_bias_dps=gyr_bias_dps,
            sampling_rate_hz=sampling_rate_hz,
        )
        obj._previous = None if state["previous"] is None else np.array(state["previous"], dtype=float)
        return obj


#: Band (Hz, 4th-order Butterworth, zero phase) of the fit against the pivot's acceleration: the
#: stride and step frequencies and their harmonics. With the pivot's own acceleration in the model
#: its correlation with the segment's rotation does not bias the height, whatever the cadence (a
#: fit of the height alone, with the pivot as noise, had to keep its band above the step frequency,
#: which brisk walking moves into it: at 110-155 steps/min it read 0.5-0.8 m for 0.3 m).
PIVOT_FIT_BAND_HZ = (0.6, 8.0)
#: The trunk and the pelvis share the walking's horizontal acceleration: a gain between them far
#: from 1 means the fit did not find it (the yaw is then not taken from it).
PIVOT_GAIN_RANGE = (0.5, 2.0)


@functools.lru_cache(maxsize=16)
def _pivot_sos(sampling_rate_hz: float) -> np.ndarray:
    high = min(PIVOT_FIT_BAND_HZ[1], 0.45 * sampling_rate_hz)
    return butter(4, (PIVOT_FIT_BAND_HZ[0], high), btype="band", fs=sampling_rate_hz, output="sos")


def horizontal(vectors: np.ndarray, up: np.ndarray, forward_axis: np.ndarray) -> np.ndarray:
    """(n,) complex ``forward + i·left`` of sensor-frame ``vectors`` (calibration.level_horizontal)."""
    levelled = level_horizontal(vectors, up, forward_axis)
    return levelled[:, 0] + 1j * levelled[:, 1]


def fit_on_pivot(
    acc_mps2: np.ndarray,
    up_sensor: np.ndarray,
    lever_per_m: np.ndarray,
    pivot_horizontal: np.ndarray,
    *,
    forward_axis: np.ndarray,
    sampling_rate_hz: float,
    walking_start: int,
    height_m: float | None = None,
) -> tuple[float | None, float | None]:
    """(height m, mounting yaw deg) of a trunk sensor, fitted against the pelvis's acceleration.

    The trunk and the pelvis sensor ride the same body: in the horizontal plane the trunk
    sensor's linear acceleration is the pivot's (which the pelvis sensor measures, rotated by
    the trunk's unknown mounting yaw ψ) plus the lever term:

        T(t) = α · P(t) + h · L(t),   α = g·e^(−iψ),

    with T and L the trunk's linear acceleration and lever term per metre levelled in the frame
    of its yaw-0 mounting (``forward_axis``, complex forward + i·left), P the pelvis sensor's in
    its body frame (``pivot_horizontal``). Linear least squares for (Re α, Im α, h) over the
    walking after ``FIT_SKIP_S``, all band-passed (``PIVOT_FIT_BAND_HZ``); with ``height_m``
    given, α alone. The yaw is −arg α.

    Returns None for the height when it is not observable (too little rotation, see
    ``MIN_LEVER_SIGNAL_MPS2_PER_M``) and for the yaw when the fit found no shared walking
    acceleration (|α| outside ``PIVOT_GAIN_RANGE``), or either when there is too little walking.

    Notes: the pivot (L3–L5) is not where the pelvis sensor is; the pelvis's own rotations
    between the two are left in the residual. On simulated walking (trunk sensor 0.3 and 0.6 m,
    4 patterns, 80–155 steps/min, mountings up to 15° of yaw) the height came out 0.02–0.15 m
    low and the yaw within 1.2° of the truth at every cadence, where the height-only fit in a
    fixed band read 0.5–0.8 m for 0.3 m at 110–155 steps/min and turned the yaw by up to 89°.
    """
    fs = float(sampling_rate_hz)
    start = walking_start + int(FIT_SKIP_S * fs)
    if len(acc_mps2) - start < MIN_FIT_WALKING_S * fs:
        return None, None
    sos = _pivot_sos(fs)

    def band(values: np.ndarray) -> np.ndarray:
        out = sosfiltfilt(sos, np.stack([values.real, values.imag], axis=1), axis=0)
        return out[:, 0] + 1j * out[:, 1]

    up = up_sensor[start:]
    trunk = band(horizontal(acc_mps2[start:] - GRAVITY_MPS2 * up, up, forward_axis))
    lever = band(horizontal(lever_per_m[start:], up, forward_axis))
    pivot = band(np.asarray(pivot_horizontal)[start:])
    observable = float(np.sqrt(np.mean(np.abs(lever) ** 2))) >= MIN_LEVER_SIGNAL_MPS2_PER_M
    if height_m is not None or not observable:
        target = trunk - (height_m or 0.0) * lever
        columns = [pivot, 1j * pivot]
    else:
        target = trunk
        columns = [pivot, 1j * pivot, lever]
    design = np.stack([np.concatenate([c.real, c.imag]) for c in columns], axis=1)
    solution, *_ = np.linalg.lstsq(design, np.concatenate([target.real, target.imag]), rcond=None)
    alpha = solution[0] + 1j * solution[1]
    yaw_deg = float(-np.degrees(np.angle(alpha))) if PIVOT_GAIN_RANGE[0] <= abs(alpha) <= PIVOT_GAIN_RANGE[1] else None
    fitted = None
    if height_m is None and observable:
        fitted = float(np.clip(solution[2], 0.0, MAX_LEVER_HEIGHT_M))
    return fitted, yaw_deg
