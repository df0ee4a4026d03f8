"""Physically consistent IMU signals from a body orientation and acceleration.

1. Specific force in the body frame: ``f = R^T (a_world - g_world)`` with
   ``g_world = (0, 0, -GRAVITY_MPS2)``, so a sensor at rest reads +9.81 m/s² on
   its up axis.
2. Angular velocity in the body frame from the rotation sequence itself:
   ``omega = log(R(t-T/2)^T R(t+T/2)) / T``, the rotation vector of the exact
   rotation increment over one output period ``T`` centred on the sample, in
   deg/s. This is ``R^T dR/dt`` averaged over the period: the gyroscope's
   decimation filter is modelled as a boxcar (anti-aliasing, zero phase), so the
   sharp heel-strike jolts do not alias at 60 Hz and chaining the increments
   reproduces the orientation exactly. ``T -> 0`` gives the instantaneous rate.
3. Sensor frame: the residual mounting ``R_mount = Rz(yaw) Ry(pitch) Rx(roll)``
   (sensor in body), then the axes mapping, ``v_sensor = M R_mount^T v_body``,
   where row i of ``M`` is the body direction sensor axis i points to.
4. White noise, a constant gyroscope bias, optional clipping to the range.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

#: Standard gravity (m/s²), the value accelerometer datasheets use.
GRAVITY_MPS2 = 9.80665
#: Period used for an instantaneous rate (``gyro_period_s=None``): 0.2 ms,
#: far shorter than any simulated motion (ringing 18 Hz), far from round-off.
INSTANT_PERIOD_S = 2e-4

#: Body-frame unit vector of each direction name accepted in an axes mapping.
DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "forward": (1.0, 0.0, 0.0),
    "backward": (-1.0, 0.0, 0.0),
    "left": (0.0, 1.0, 0.0),
    "right": (0.0, -1.0, 0.0),
    "up": (0.0, 0.0, 1.0),
    "down": (0.0, 0.0, -1.0),
}


def parse_axes(axes: str) -> np.ndarray:
    """Axes mapping such as ``"x=forward,y=left,z=up"`` -> 3x3 matrix ``M``.

    Row i of ``M`` is the body-frame direction of sensor axis i. The mapping
    must name x, y and z once each, with directions from :data:`DIRECTIONS`,
    along three different body axes, forming a right-handed frame.
    """
    valid = "x,y,z each = one of " + "/".join(DIRECTIONS)
    parts = {}
    for item in str(axes).split(","):
        key, sep, value = item.strip().partition("=")
        key, value = key.strip().lower(), value.strip().lower()
        if not sep or key not in ("x", "y", "z") or value not in DIRECTIONS or key in parts:
            raise ValueError(f"axes must look like 'x=forward,y=left,z=up' ({valid}), got {axes!r}")
        parts[key] = DIRECTIONS[value]
    if set(parts) != {"x", "y", "z"}:
        raise ValueError(f"axes must name x, y and z ({valid}), got {axes!r}")
    m = np.array([parts["x"], parts["y"], parts["z"]])
    if not np.allclose(np.abs(m).sum(axis=0), 1.0):
        raise ValueError(f"axes must point x, y, z along three different body axes, got {axes!r}")
    if np.linalg.det(m) < 0:
        raise ValueError(f"axes must form a right-handed frame like a real IMU, got {axes!r}")
    return m


def mounting_rotation(roll_deg: float, pitch_deg: float, yaw_deg: float) -> Rotation:
    """Residual mounting (sensor frame in body frame): ``Rz(yaw) Ry(pitch) Rx(roll)``."""
    return Rotation.from_euler("ZYX", [yaw_deg, pitch_deg, roll_deg], degrees=True)


def body_signals(
    rotation_at: Callable[[np.ndarray], Rotation],
    acc_world_at: Callable[[np.ndarray], np.ndarray],
    time_s: np.ndarray,
    *,
    gyro_period_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(specific force m/s², angular velocity deg/s), both (n, 3) in the body frame.

    ``gyro_period_s``: the output period the gyroscope averages over (None:
    instantaneous rate).
    """
    t = np.asarray(time_s, dtype=float)
    n = t.size
    period_s = INSTANT_PERIOD_S if gyro_period_s is None else gyro_period_s
    # One evaluation for the sample times and both ends of each period.
    quat = rotation_at(np.concatenate([t, t - period_s / 2.0, t + period_s / 2.0])).as_quat()
    # 1. Specific force.
    gravity_world = np.array([0.0, 0.0, -GRAVITY_MPS2])
    acc_body = Rotation.from_quat(quat[:n]).apply(acc_world_at(t) - gravity_world, inverse=True)
    # 2. Angular velocity from the rotation sequence.
    gyr_body = np.degrees(_relative_rotvec(quat[n : 2 * n], quat[2 * n :]) / period_s)
    return acc_body, gyr_body


def _relative_rotvec(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Rotation vector of ``conj(q1) * q2`` (quaternions x, y, z, w; (n, 4))."""
    v1, w1 = q1[:, :3], q1[:, 3:]
    v2, w2 = q2[:, :3], q2[:, 3:]
    w = w1 * w2 + np.sum(v1 * v2, axis=1, keepdims=True)
    v = w1 * v2 - w2 * v1 - np.cross(v1, v2)
    # Shortest rotation (q and -q are the same rotation).
    sign = np.where(w < 0.0, -1.0, 1.0)
    w, v = w * sign, v * sign
    norm_v = np.linalg.norm(v, axis=1, keepdims=True)
    angle = 2.0 * np.arctan2(norm_v, w)
    # angle / sin(angle/2) -> 2 as the angle -> 0.
    scale = np.where(norm_v > 1e-12, angle / np.maximum(norm_v, 1e-300), 2.0)
    return v * scale


def to_sensor_frame(vectors_body: np.ndarray, mounting: Rotation, axes_matrix: np.ndarray) -> np.ndarray:
    """3. Express body-frame vectors (n, 3) in the mounted, axis-mapped sensor frame."""
    return mounting.apply(vectors_body, inverse=True) @ axes_matrix.T


def to_body_frame(vectors_sensor: np.ndarray, mounting: Rotation, axes_matrix: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_sensor_frame` (used by tests and the benchmark)."""
    return mounting.apply(vectors_sensor @ axes_matrix)


def add_errors(
    values: np.ndarray,
    *,
    noise_sd: float,
    bias: np.ndarray,
    noise: np.ndarray,
    full_range: float | None,
) -> np.ndarray:
    """4. ``values + bias + noise_sd * noise`` clipped to ``±full_range``.

    ``noise`` is standard normal of the same shape, drawn by the caller so that
    any split of a session into blocks gives the same draws.
    """
    out = values + bias + noise_sd * noise
    if full_range is not None:
        out = np.clip(out, -full_range, full_range)
    return out
