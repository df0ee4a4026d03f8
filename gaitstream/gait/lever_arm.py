"""The acceleration of a sensor that sits away from its segment's pivot.

A trunk sensor sits on the sternum or between the shoulder blades, 0.3–0.5 m
above the lumbar pivot about which the trunk leans (GAIT_SPEC "Where sensors
sit"). Its accelerometer then feels, on top of gravity and the pivot's own
translation, the tangential and centripetal acceleration of its point,

    a_lever = ω̇ × r + ω × (ω × r),   r = h · z_segment,

the rigid-body acceleration of a point at ``r`` from a pivot (e.g. Kane &
Levinson, *Dynamics: Theory and Applications*, 1985, eq. 2.7.2; the same
term is removed from IMU accelerations at a known lever arm in strapdown
navigation: Titterton & Weston, *Strapdown Inertial Navigation Technology*,
2nd ed. 2004, §3.5). For a 10° lean within half a stride at 0.45 m that is
1–3 m/s² sideways: an orientation filter that trusts the accelerometer as
"down" is pulled toward upright, and the principal horizontal axis that gives
the mounting yaw turns sideways (calibration.py, yaw_from_walking_deg).

Both are computed from the segment's own gyroscope, so the term can be removed
before the accelerometer corrects the tilt:

1. ω from the bias-corrected gyroscope (rad/s); ω̇ by the backward difference
   over one sample (causal: half a sample late, 1.6° of phase at 1.5 Hz and
   100 Hz, negligible against the filter's own low-pass).
2. ``z_segment`` in sensor coordinates is the segment's long axis: row 2 of the
   mounting rotation (sensor -> body), which does not depend on the mounting
   yaw, so it is known from standing (or the mean walking posture) before the
   yaw is.
3. The height ``h`` is estimated from the data (:func:`estimate_lever_height_m`)
   or set by the station's configuration.

Pure numpy; streaming state is the previous angular rate (3 floats), so the
output does not depend on how the stream is cut into frames.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import butter, sosfiltfilt

from gaitstream.gait.calibration import GRAVITY_MPS2

DEG_TO_RAD = np.pi / 180.0
#: Band (Hz, 4th-order Butterworth) in which the height is fitted: the step
#: frequency's harmonics above the fundamental. Lower, the pivot's own
#: acceleration correlates with the segment's rotation and is read as lever
#: arm: at the stride frequency the centre of mass sways over the stance foot in
#: phase with an alternating lean (it doubled the estimate), and at the step
#: frequency the fore-aft braking and propulsion keep pace with the trunk's
#: pitch. Chosen on simulated compensated sessions, heights 0.15-0.6 m: fitted
#: heights +0.07-0.08 m high with 1.2-6 Hz (2nd or 4th order), +0.04-0.05 m
#: with 1.5-6 Hz (2nd order) or 1.6-8 Hz (4th).
LEVER_BAND_HZ = (1.6, 8.0)
LEVER_BAND_ORDER = 4
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


@functools.lru_cache(maxsize=16)
def _band_sos(sampling_rate_hz: float) -> np.ndarray:
    high = min(LEVER_BAND_HZ[1], 0.45 * sampling_rate_hz)
    return butter(LEVER_BAND_ORDER, (LEVER_BAND_HZ[0], high), btype="band", fs=sampling_rate_hz, output="sos")


def skew(v: np.ndarray) -> np.ndarray:
    """Matrix ``K`` with ``K @ w = v × w``."""
    x, y, z = np.asarray(v, dtype=float)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def lever_acceleration_per_m(
    gyr_rad_s: np.ndarray, previous_rad_s: np.ndarray, axis: np.ndarray, sampling_rate_hz: float
) -> np.ndarray:
    """(n, 3) ω̇ × z + ω × (ω × z) for a point one metre along ``axis`` (sensor coordinates).

    ``gyr_rad_s`` (n, 3) bias-corrected rates; ``previous_rad_s`` the rate of the
    sample before the first (steps 1–2 of the module docstring). Written with
    matrix products (ω̇ × z = −z × ω̇; ω × (ω × z) = ω (ω·z) − z |ω|²): numpy's
    ``cross`` costs more than a 10-sample frame's budget.
    """
    w = gyr_rad_s
    w_dot = np.empty_like(w)
    w_dot[0] = w[0] - previous_rad_s
    w_dot[1:] = w[1:] - w[:-1]
    w_dot *= sampling_rate_hz
    tangential = w_dot @ skew(axis)  # row-wise (−z × ω̇)ᵀ = ω̇ × z
    return tangential + w * (w @ axis)[:, None] - np.outer((w * w).sum(axis=1), axis)


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
    axis = np.asarray(axis, dtype=float)
    return w_dot @ skew(axis) + w * (w @ axis)[:, None] - np.outer((w * w).sum(axis=1), axis)


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
        self._previous: np.ndarray | None = None  # rad/s of the last sample seen

    def correct(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> np.ndarray:
        """Specific force (n, 3) minus ``height_m`` × the lever acceleration per metre."""
        if not len(acc_mps2):
            return acc_mps2
        w = (gyr_dps - self.gyr_bias_dps) * DEG_TO_RAD
        previous = w[0] if self._previous is None else self._previous
        self._previous = w[-1].copy()
        if self.height_m == 0.0:
            return acc_mps2
        return acc_mps2 - self.height_m * lever_acceleration_per_m(w, previous, self.axis, self.sampling_rate_hz)

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


def estimate_lever_height_m(
    acc_mps2: np.ndarray,
    gyr_dps: np.ndarray,
    up_sensor: np.ndarray,
    *,
    axis: np.ndarray,
    gyr_bias_dps: np.ndarray,
    sampling_rate_hz: float,
    walking_start: int,
) -> float | None:
    """Height (m) of the sensor above its segment's pivot, fitted on walking; None if not observable.

    1. Linear acceleration in sensor coordinates: ``acc − g · up``, with ``up``
       the orientation filter's earth-up (n, 3) over the same samples.
    2. The lever acceleration per metre, L(t) (:func:`smooth_lever_acceleration_per_m`).
    3. Both band-passed (``LEVER_BAND_HZ``, zero phase) over the walking after
       ``FIT_SKIP_S``; h = ⟨L, a⟩ / ⟨L, L⟩ over all three axes (least squares),
       clipped to [0, ``MAX_LEVER_HEIGHT_M``].

    None when there are fewer than ``MIN_FIT_WALKING_S`` of walking or the
    segment rotates too little (``MIN_LEVER_SIGNAL_MPS2_PER_M``): then the lever
    arm hardly matters either.

    Notes: the pivot's own acceleration is treated as noise. Where it correlates
    with the segment's rotation in the band the estimate is biased: on simulated
    walking (trunk sensor 0.15–0.6 m above the pivot) the compensated patterns
    came 0.04–0.05 m high, normal and Trendelenburg ones, whose trunk barely
    leans, 0.11–0.16 m high (their lever term is small, and so is what an error
    in it costs); the filter's tilt leak in the band is a few per cent of the
    lever term (a second fit after compensating changed the height by under
    0.003 m).
    """
    fs = float(sampling_rate_hz)
    start = walking_start + int(FIT_SKIP_S * fs)
    if len(acc_mps2) - start < MIN_FIT_WALKING_S * fs:
        return None
    # 1.
    linear = acc_mps2[start:] - GRAVITY_MPS2 * up_sensor[start:]
    # 2.
    per_m = smooth_lever_acceleration_per_m(gyr_dps, gyr_bias_dps, axis, fs)[start:]
    # 3.
    sos = _band_sos(fs)
    y = sosfiltfilt(sos, linear, axis=0)
    x = sosfiltfilt(sos, per_m, axis=0)
    energy = float((x * x).sum())
    if energy <= 0.0 or np.sqrt(energy / len(x)) < MIN_LEVER_SIGNAL_MPS2_PER_M:
        return None
    return float(np.clip((x * y).sum() / energy, 0.0, MAX_LEVER_HEIGHT_M))
