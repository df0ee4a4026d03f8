"""Sensor mounting: the rotation from the sensor to the body frame, estimated from the data.

A sacral sensor sits on the sloped sacrum (20–40° of pitch) and is placed by
hand (±20° of roll and yaw). The mounting is written ``R = Rz(yaw) Ry(pitch)
Rx(roll)`` with ``v_body = R @ v_sensor``; positive pitch tips the sensor's x
axis downward (about the left axis), as on a sacrum sloping forward-down.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from scipy.signal import butter, sosfiltfilt

GRAVITY_MPS2 = 9.80665
# A sample is "active" (not quiet standing) above these: sensor noise of a
# still subject stays far below, the first step far above.
QUIET_MAX_GYR_DPS = 15.0
QUIET_MAX_ACC_DEVIATION_MPS2 = 1.0
# The pelvis tilts a few degrees between standing and walking, 20–30° when
# sitting: a quiet start farther than this from the walking posture was not
# standing, and the walking calibration is used.
MAX_STANDING_TO_WALKING_TILT_DEG = 12.0
# Walking moves the specific-force magnitude by 2–6 m/s² at each step; shifting
# weight or turning on the spot stays under this: the walking part of the
# calibration window starts at the first sample above it.
GAIT_MIN_ACC_DEVIATION_MPS2 = 1.5
# Anterior-posterior trunk acceleration dominates the horizontal plane at the
# step frequency (1.3–2.5 Hz in adults), the mediolateral sway lives at the
# stride frequency (half of it): this band separates them for the yaw.
YAW_BAND_HZ = (1.2, 4.0)
# Range of stride periods searched when averaging the gyro over whole strides.
STRIDE_RANGE_S = (0.7, 2.0)


def rotation_from_rpy_deg(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (sensor -> body)."""
    r, p, y = (math.radians(v) for v in (roll_deg, pitch_deg, yaw_deg))
    rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
    ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    return rz @ ry @ rx


def tilt_from_up_vector(up_sensor: np.ndarray) -> tuple[float, float]:
    """Roll and pitch (deg) that make the measured up direction the body's z axis.

    The up direction seen by the sensor is ``R.T @ e_z = (-sin p, sin r cos p,
    cos r cos p)``, independent of yaw.
    """
    ux, uy, uz = np.asarray(up_sensor, dtype=float) / np.linalg.norm(up_sensor)
    return math.degrees(math.atan2(uy, uz)), math.degrees(math.atan2(-ux, math.hypot(uy, uz)))


def level_horizontal(vectors: np.ndarray, up: np.ndarray, forward_axis: np.ndarray) -> np.ndarray:
    """(n, 2) forward and left components of sensor-frame ``vectors``, levelled per sample by ``up``
    (earth-up in sensor coordinates): forward is the horizontal part of ``forward_axis``, left =
    up × forward."""
    forward = forward_axis - (up @ forward_axis)[:, None] * up
    forward /= np.linalg.norm(forward, axis=1)[:, None]
    left = np.cross(up, forward)
    return np.stack([(vectors * forward).sum(axis=1), (vectors * left).sum(axis=1)], axis=1)


def active_mask(acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> np.ndarray:
    """True where the subject moves (gyro or acceleration magnitude above quiet levels)."""
    gyr_norm = np.linalg.norm(gyr_dps, axis=1)
    acc_dev = np.abs(np.linalg.norm(acc_mps2, axis=1) - GRAVITY_MPS2)
    return (gyr_norm > QUIET_MAX_GYR_DPS) | (acc_dev > QUIET_MAX_ACC_DEVIATION_MPS2)


def gait_mask(acc_mps2: np.ndarray) -> np.ndarray:
    """True where the acceleration magnitude swings like walking (heel strikes, push-off)."""
    return np.abs(np.linalg.norm(acc_mps2, axis=1) - GRAVITY_MPS2) > GAIT_MIN_ACC_DEVIATION_MPS2


@functools.lru_cache(maxsize=16)
def _yaw_band_sos(sampling_rate_hz: float) -> np.ndarray:
    high = min(YAW_BAND_HZ[1], 0.45 * sampling_rate_hz)
    return butter(2, (YAW_BAND_HZ[0], high), btype="band", fs=sampling_rate_hz, output="sos")


def yaw_from_walking_deg(
    acc_mps2: np.ndarray,
    roll_deg: float,
    pitch_deg: float,
    sampling_rate_hz: float,
    up_sensor: np.ndarray | None = None,
) -> float:
    """Mounting yaw: minus the angle of the principal horizontal axis at the step frequency.

    1. Level the acceleration: with ``up_sensor`` ((n, 3) earth-up unit vectors
       in sensor coordinates from an orientation filter) per sample, gravity
       removed, in the horizontal frame of the yaw-0 mounting's forward axis;
       without it, with the fixed roll and pitch.
    2. Band-pass the two horizontal components (``YAW_BAND_HZ``, zero phase).
    3. The principal axis of their covariance is the walking direction; take the
       one pointing within 90° of the sensor's stated forward axis.

    Notes: fixed levelling leaves g·sin(tilt) of every frontal-plane movement in
    the horizontal acceleration. A lean or drop toward one side only has a
    non-zero mean and a strong second harmonic of the stride, i.e. power at the
    step frequency; in slow walking (accelerations scale with cadence²) it
    outweighs the fore-aft acceleration and turns the axis sideways: a simulated
    trunk leaning 9.6° during left stances only, upright during right ones, at
    60 steps/min gave yaw errors of 46–61° and a lean read as cos(yaw error) of
    the truth (4.8° for 9.6°). Tracked levelling removes that part.
    """
    if len(acc_mps2) < 40:
        return 0.0
    tilt = rotation_from_rpy_deg(roll_deg, pitch_deg, 0.0)
    if up_sensor is None:
        horizontal = acc_mps2 @ tilt[:2].T
    else:
        up = np.asarray(up_sensor, dtype=float)
        up = up / np.linalg.norm(up, axis=1)[:, None]
        # forward: the yaw-0 body x axis (row 0 of the mounting) made horizontal
        horizontal = level_horizontal(acc_mps2 - GRAVITY_MPS2 * up, up, tilt[0])
    horizontal = sosfiltfilt(_yaw_band_sos(float(sampling_rate_hz)), horizontal, axis=0)
    eigval, eigvec = np.linalg.eigh(np.cov(horizontal.T))
    axis = eigvec[:, int(np.argmax(eigval))]
    if axis[0] < 0:
        axis = -axis
    return -math.degrees(math.atan2(axis[1], axis[0]))


def stride_period_samples(gyr_dps: np.ndarray, sampling_rate_hz: float) -> int | None:
    """Stride period from the autocorrelation of the angular rate (0.7–2.0 s), or None."""
    lo, hi = int(STRIDE_RANGE_S[0] * sampling_rate_hz), int(STRIDE_RANGE_S[1] * sampling_rate_hz)
    x = gyr_dps - gyr_dps.mean(axis=0)
    if len(x) < 2 * hi:
        return None
    energy = (x * x).sum()
    if energy <= 0:
        return None
    # autocorrelation summed over the axes, via the FFT (zero-padded: linear, not circular)
    spectrum = np.fft.rfft(x, n=2 * len(x), axis=0)
    corr = np.fft.irfft((spectrum * spectrum.conj()).real.sum(axis=1), n=2 * len(x))[lo : hi + 1] / energy
    best = int(np.argmax(corr))
    return lo + best if corr[best] > 0.3 else None


class MountingCalibration:
    """Estimate the sensor mounting from the start of a session.

    Processing steps:
    1. The quiet prefix (no active sample, see :func:`active_mask`) is standing
       when it lasts at least ``min_standing_s`` and its tilt is within
       ``MAX_STANDING_TO_WALKING_TILT_DEG`` of the mean walking tilt (else the
       subject was probably sitting).
    2. Standing: roll and pitch from the mean specific force (gravity), gyro bias
       from the mean angular rate; obliquity is then relative to that posture.
    3. Otherwise roll and pitch come from the mean specific force while walking
       (dynamic accelerations average out over whole strides), so obliquity is
       relative to the mean walking posture; the gyro bias is the mean angular
       rate over a whole number of strides (period from the autocorrelation),
       zero when no stride rhythm is found.
    4. Yaw always comes from the walking part (:func:`yaw_from_walking_deg`),
       which starts at the first sample of :func:`gait_mask`; fixed levelling
       here, tracked levelling once an orientation filter has run
       (:meth:`track_yaw`).

    ``standing_samples`` imposes the decision of step 1 (a second sensor on
    the same subject follows the first: the trunk is upright when the pelvis
    stands, whatever the trunk's own walking posture): a positive count is
    the quiet prefix to use, 0 means no standing.

    Data requirements: body-frame-nominal acc (m/s²) and gyro (deg/s) of the
    first seconds of the session; walking for the yaw (else yaw = 0 with a warning).

    Results: ``method_`` ("standing" or "walking"), ``mounting_deg_`` (roll,
    pitch, yaw), ``rotation_`` (3x3, sensor -> body), ``gyr_bias_dps_`` (3,),
    ``standing_samples_``, ``walking_start_`` (index of the first walking sample).
    """

    def __init__(self, *, min_standing_s: float = 1.0) -> None:
        self.min_standing_s = min_standing_s

    def calibrate(
        self, acc_mps2: np.ndarray, gyr_dps: np.ndarray, sampling_rate_hz: float, *, standing_samples: int | None = None
    ) -> "MountingCalibration":
        acc_mps2 = np.asarray(acc_mps2, dtype=float)
        gyr_dps = np.asarray(gyr_dps, dtype=float)
        if len(acc_mps2) == 0:
            raise ValueError("calibration needs at least one sample")
        # 1. quiet prefix
        active = active_mask(acc_mps2, gyr_dps)
        n_quiet = int(np.argmax(active)) if active.any() else len(active)
        gait = gait_mask(acc_mps2)
        first_gait = int(np.argmax(gait)) if gait.any() else n_quiet
        if standing_samples is not None:
            n_quiet = min(int(standing_samples), len(acc_mps2))
            first_gait = max(first_gait, n_quiet)
            quiet_ok = n_quiet > 0
        else:
            quiet_ok = n_quiet >= self.min_standing_s * sampling_rate_hz
        walking = acc_mps2[first_gait:]
        if standing_samples is None and quiet_ok and len(walking) >= 2 * sampling_rate_hz:
            quiet_up = acc_mps2[:n_quiet].mean(axis=0)
            walking_up = walking.mean(axis=0)
            cos = quiet_up @ walking_up / (np.linalg.norm(quiet_up) * np.linalg.norm(walking_up))
            tilt_change_deg = math.degrees(math.acos(min(1.0, max(-1.0, cos))))
            if tilt_change_deg > MAX_STANDING_TO_WALKING_TILT_DEG:
                warnings.warn(
                    f"quiet start tilted {tilt_change_deg:.0f}° from the walking posture "
                    "(sitting?): calibrating from walking",
                    stacklevel=2,
                )
                quiet_ok = False
        if quiet_ok:
            # 2. standing (skip the last 0.2 s: the subject may already start moving)
            end = max(1, n_quiet - int(0.2 * sampling_rate_hz))
            self.method_ = "standing"
            up = acc_mps2[:end].mean(axis=0)
            self.gyr_bias_dps_ = gyr_dps[:end].mean(axis=0)
        else:
            # 3. walking
            self.method_ = "walking"
            up = walking.mean(axis=0) if len(walking) else acc_mps2.mean(axis=0)
            gyr_walking = gyr_dps[first_gait:]
            period = stride_period_samples(gyr_walking, sampling_rate_hz)
            if period is None:
                self.gyr_bias_dps_ = np.zeros(3)
            else:
                whole = (len(gyr_walking) // period) * period
                self.gyr_bias_dps_ = gyr_walking[len(gyr_walking) - whole :].mean(axis=0)
        roll_deg, pitch_deg = tilt_from_up_vector(up)
        # 4. yaw
        self.walking_start_ = first_gait
        if len(walking) < 2 * sampling_rate_hz:
            warnings.warn("too little walking to estimate the mounting yaw; assuming 0°", stacklevel=2)
            yaw_deg = 0.0
        else:
            yaw_deg = yaw_from_walking_deg(walking, roll_deg, pitch_deg, sampling_rate_hz)
        self.standing_samples_ = n_quiet if self.method_ == "standing" else 0
        self._set_mounting(roll_deg, pitch_deg, yaw_deg)
        return self

    def track_yaw(self, acc_mps2: np.ndarray, up_sensor: np.ndarray, sampling_rate_hz: float) -> "MountingCalibration":
        """Step 4 again with tracked levelling: ``up_sensor`` (n, 3) from an orientation filter
        run over the same samples as :meth:`calibrate` (see :func:`yaw_from_walking_deg`, Notes)."""
        start = self.walking_start_
        if len(acc_mps2) - start >= 2 * sampling_rate_hz:
            yaw_deg = yaw_from_walking_deg(
                np.asarray(acc_mps2, dtype=float)[start:],
                self.mounting_deg_["roll"],
                self.mounting_deg_["pitch"],
                sampling_rate_hz,
                up_sensor=np.asarray(up_sensor, dtype=float)[start:],
            )
            self._set_mounting(self.mounting_deg_["roll"], self.mounting_deg_["pitch"], yaw_deg)
        return self

    def set_yaw(self, yaw_deg: float) -> "MountingCalibration":
        """Step 4 from elsewhere (e.g. a trunk's yaw fitted against the pelvis): keep roll and pitch."""
        self._set_mounting(self.mounting_deg_["roll"], self.mounting_deg_["pitch"], float(yaw_deg))
        return self

    def _set_mounting(self, roll_deg: float, pitch_deg: float, yaw_deg: float) -> None:
        self.mounting_deg_ = {"roll": roll_deg, "pitch": pitch_deg, "yaw": yaw_deg}
        self.rotation_ = rotation_from_rpy_deg(roll_deg, pitch_deg, yaw_deg)
