"""Sensor orientation with the x-io Fusion AHRS (``imufusion``).

Fusion is the revised Madgwick complementary filter by x-io Technologies
(Madgwick et al., "An extended complementary filter for full-body MARG
orientation estimation", IEEE/ASME Trans. Mechatronics 2020,
doi:10.1109/TMECH.2020.2992296; https://github.com/xioTechnologies/Fusion). GAIT_SPEC.md suggests gain 0.5 and
acceleration rejection 10°, updated once per sample, no magnetometer (NWU
earth frame, arbitrary heading). We use gain 0.5 and, by default, no
acceleration rejection (see Notes of :class:`FusionOrientation`).
"""

from __future__ import annotations

import imufusion
import numpy as np

from gaitstream.gait.calibration import GRAVITY_MPS2, rotation_from_rpy_deg, tilt_from_up_vector
from gaitstream.gait.sanitize import GYR_LIMIT_DPS

# Up to this many samples, per-sample C conversions beat numpy's per-call cost.
SHORT_FRAME_SAMPLES = 64
# Fusion's recovery: after this long with the accelerometer rejected, the
# filter trusts it again (x-io's recommended 5 s).
REJECTION_TIMEOUT_S = 5.0


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a proper rotation matrix."""
    m = np.asarray(matrix, dtype=float)
    w = np.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2.0
    if w > 1e-6:
        q = np.array([w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w)])
    else:  # 180° rotation: w ~ 0, take the largest diagonal
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(max(0.0, 1.0 + m[i, i] - m[j, j] - m[k, k])) * 2.0
        q = np.zeros(4)
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = s / 4.0
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    return q / np.linalg.norm(q)


def quaternions_to_matrices(q: np.ndarray) -> np.ndarray:
    """(n, 4) quaternions (w, x, y, z) -> (n, 3, 3) rotation matrices (sensor -> earth)."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    out = np.empty((len(q), 3, 3))
    out[:, 0, 0] = 1 - 2 * (y * y + z * z)
    out[:, 0, 1] = 2 * (x * y - w * z)
    out[:, 0, 2] = 2 * (x * z + w * y)
    out[:, 1, 0] = 2 * (x * y + w * z)
    out[:, 1, 1] = 1 - 2 * (x * x + z * z)
    out[:, 1, 2] = 2 * (y * z - w * x)
    out[:, 2, 0] = 2 * (x * z - w * y)
    out[:, 2, 1] = 2 * (y * z + w * x)
    out[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def up_in_sensor(q: np.ndarray) -> np.ndarray:
    """Earth's up axis expressed in the sensor frame: third row of the rotation matrix."""
    w, x, y, z = q.T
    out = np.empty((len(q), 3))
    out[:, 0] = 2 * (x * z - w * y)
    out[:, 1] = 2 * (y * z + w * x)
    out[:, 2] = 1 - 2 * (x * x + y * y)
    return out


class FusionOrientation:
    """Per-sample orientation of one sensor (quaternions sensor -> earth, NWU).

    Processing steps:
    1. Start from ``initial_up`` (e.g. the calibration's mean posture), else the
       tilt of the first accelerometer sample (heading 0), and skip
       Fusion's start-up ramp, so the state is fully described by the quaternion
       (which makes :meth:`state` / :meth:`from_state` possible).
    2. Per sample, ``update_no_magnetometer`` with bias-corrected gyro (deg/s) and
       acceleration in g.

    Data requirements: uniformly sampled data at ``sampling_rate_hz``.

    Notes: with acceleration rejection at 10° the filter accepts the
    accelerometer only in the calmer phases of the gait cycle, whose mean
    specific force is not vertical: on simulated sessions the walking vertical
    was biased by 1.2–1.5° (pelvic drop MAE 1.0–1.3°, trunk lean MAE ~2°);
    without rejection the bias vanished. The rejection stays available
    (``acc_rejection_deg``). The tilt the gait's linear acceleration leaks into
    the estimate is removed downstream (signals.AccelerationLeakCorrection). imufusion offers no
    batch update; the per-sample Python loop (about 1.5 µs per sample) is the engine's largest
    single cost. Fusion's acceleration
    recovery counter is not part of :meth:`state` (imufusion cannot set it); a
    restored filter may differ from the original only after a long rejection.
    """

    def __init__(
        self,
        *,
        sampling_rate_hz: float,
        gain: float = 0.5,
        acc_rejection_deg: float = 0.0,
        gyr_bias_dps: np.ndarray | None = None,
        initial_up: np.ndarray | None = None,
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.gain = gain
        self.acc_rejection_deg = acc_rejection_deg
        self.gyr_bias_dps = np.zeros(3) if gyr_bias_dps is None else np.asarray(gyr_bias_dps, dtype=float)
        settings = imufusion.AhrsSettings()
        settings.convention = imufusion.CONVENTION_NWU
        settings.gain = gain
        # Fusion re-initialises (gain 10, ramped down over 3 s) when a rate exceeds this range;
        # the sample gate (sanitize.py) removes every rate above it first, so that never happens
        settings.gyroscope_range = GYR_LIMIT_DPS
        settings.acceleration_rejection = acc_rejection_deg
        settings.magnetic_rejection = 0.0
        settings.rejection_timeout = int(REJECTION_TIMEOUT_S * sampling_rate_hz)
        settings.sample_rate = int(round(sampling_rate_hz))
        self._ahrs = imufusion.Ahrs()
        self._ahrs.set_settings(settings)
        self._ahrs.set_sample_period(1.0 / sampling_rate_hz)
        self._started = False
        if initial_up is not None:
            roll_deg, pitch_deg = tilt_from_up_vector(initial_up)
            self.start(matrix_to_quaternion(rotation_from_rpy_deg(roll_deg, pitch_deg, 0.0)))

    def start(self, quaternion: np.ndarray) -> None:
        self._ahrs.set_quaternion(np.asarray(quaternion, dtype=float))
        self._ahrs.skip_startup()
        self._started = True

    def _run(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray, read) -> list:
        """Update the filter sample by sample, collecting ``read()`` after each sample.

        1. Initial tilt from the first sample when the filter has not started.
        2. Per-sample update (Python lists are faster to index than arrays).
        """
        if not self._started:
            roll_deg, pitch_deg = tilt_from_up_vector(acc_mps2[0])
            self.start(matrix_to_quaternion(rotation_from_rpy_deg(roll_deg, pitch_deg, 0.0)))
        acc_g = (np.asarray(acc_mps2) / GRAVITY_MPS2).tolist()
        gyr = (np.asarray(gyr_dps) - self.gyr_bias_dps).tolist()
        update = self._ahrs.update_no_magnetometer
        out = []
        for g, a in zip(gyr, acc_g, strict=True):
            update(g, a)
            out.append(read())
        return out

    def update(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> np.ndarray:
        """Run the filter over (n, 3) samples; return (n, 4) quaternions after each sample."""
        return np.array(self._run(acc_mps2, gyr_dps, self._ahrs.get_quaternion), dtype=float).reshape(-1, 4)

    def update_matrices(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> np.ndarray:
        """Like :meth:`update` but return (n, 3, 3) rotation matrices (sensor -> earth).

        Short frames convert per sample with imufusion's C helper (cheaper than
        numpy's per-call overhead); long arrays convert at once with numpy.
        The two agree to float32 precision (imufusion computes in float32).
        """
        if len(acc_mps2) > SHORT_FRAME_SAMPLES:
            return quaternions_to_matrices(self.update(acc_mps2, gyr_dps))
        get_q, to_matrix = self._ahrs.get_quaternion, imufusion.quaternion_to_matrix
        return np.array(self._run(acc_mps2, gyr_dps, lambda: to_matrix(get_q())), dtype=float).reshape(-1, 3, 3)

    def update_up(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> np.ndarray:
        """Like :meth:`update` but return (n, 3) earth-up unit vectors in sensor coordinates.

        Fusion's "gravity" output is the third row of the rotation matrix, i.e.
        :func:`up_in_sensor` of the quaternion, read without a conversion.
        """
        return np.array(self._run(acc_mps2, gyr_dps, self._ahrs.get_gravity), dtype=float).reshape(-1, 3)

    @property
    def quaternion(self) -> np.ndarray:
        """Current orientation (w, x, y, z), sensor -> earth."""
        return np.array(self._ahrs.get_quaternion(), dtype=float)

    def settle(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray, *, passes: int, start: np.ndarray) -> np.ndarray:
        """The orientation at the start of the samples, re-estimated from them; the filter is left unchanged.

        Starting from ``start`` (a quaternion), ``passes`` runs go over the samples
        forward and backward in turn (backward: reversed order, negated rates;
        the complementary filter is time-reversible), so an error of the start
        shrinks by exp(−gain · duration) per run while the gyroscope keeps the
        gait's fast motion. Used after a gap, when the orientation carried across
        it is stale (conditioning.py, ``RELEVEL_GAP_S``).
        """
        probe = FusionOrientation(
            sampling_rate_hz=self.sampling_rate_hz,
            gain=self.gain,
            acc_rejection_deg=self.acc_rejection_deg,
            gyr_bias_dps=self.gyr_bias_dps,
        )
        probe.start(start)
        backward_gyr = -(gyr_dps[::-1] - self.gyr_bias_dps) + self.gyr_bias_dps  # bias still subtracted once
        for k in range(passes):
            if k % 2 == 0:
                probe._run(acc_mps2, gyr_dps, lambda: None)
            else:
                probe._run(acc_mps2[::-1], backward_gyr, lambda: None)
        if passes % 2:  # end on a backward run: back at the start
            probe._run(acc_mps2[::-1], backward_gyr, lambda: None)
        return probe.quaternion

    def state(self) -> dict:
        return {
            "quaternion": self._ahrs.get_quaternion().tolist() if self._started else None,
            "gyr_bias_dps": self.gyr_bias_dps.tolist(),
        }

    @classmethod
    def from_state(
        cls, state: dict, *, sampling_rate_hz: float, gain: float, acc_rejection_deg: float
    ) -> "FusionOrientation":
        obj = cls(
            sampling_rate_hz=sampling_rate_hz,
            gain=gain,
            acc_rejection_deg=acc_rejection_deg,
            gyr_bias_dps=np.array(state["gyr_bias_dps"]),
        )
        if state["quaternion"] is not None:
            obj.start(np.array(state["quaternion"]))
        return obj
