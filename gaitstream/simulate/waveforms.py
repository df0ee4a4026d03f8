"""Waveform constants and shape functions of simulated walking (numpy only).

Every number is named and documented here; :mod:`gaitstream.simulate.kinematics`
assembles them into the pelvis and trunk motion.
"""

from __future__ import annotations

import numpy as np

#: Obliquity bump: start, peak and end as fractions of the stance step.
#: Peak at 30 % of the step (early single support, 15-20 % of the stride in the
#: real data); the bump ends 20 % into the next step, before that step's peak.
DROP_START_STEP_FRACTION = 0.02
DROP_PEAK_STEP_FRACTION = 0.30
DROP_END_STEP_FRACTION = 1.20
#: Trunk lean bump: from the IC, peak in mid single support, back over the
#: next step. The trunk is a heavy segment moved by muscles, so its lean is
#: smooth to the angular acceleration (a C2 bump, :func:`smooth_bump`): for a
#: 9° lean at 0.45 m above the pivot its sensor moves 1-3 m/s² sideways
#: (GAIT_SPEC "Where sensors sit"), where a C1 bump rising in a third of a
#: step gave jumps of 10 m/s² that no trunk makes.
LEAN_START_STEP_FRACTION = 0.0
LEAN_PEAK_STEP_FRACTION = 0.50
LEAN_END_STEP_FRACTION = 1.50
#: Pelvic rotation amplitude and phase (yaw extremum 0.7 step after each IC
#: side change), giving yaw rates of about +/-25 deg/s at 105 spm.
PELVIC_ROTATION_DEG = 4.5
PELVIC_ROTATION_PHASE_STEPS = 0.7
#: Pelvic tilt at step frequency, peak-to-peak 2x this, about 20 deg/s rates.
PELVIC_TILT_DEG = 2.0
PELVIC_TILT_PHASE_STEPS = 0.15
#: Thorax counter-rotation and tilt.
TRUNK_ROTATION_DEG = 2.5
TRUNK_TILT_DEG = 1.0
#: The thorax tilts a little after the pelvis (inertia of the upper body).
TRUNK_TILT_LAG_STEPS = 0.1
#: Vertical and fore-aft CoM acceleration per step: harmonics of the step
#: phase as (amplitude m/s² at REFERENCE_CADENCE_SPM, phase of the harmonic's
#: peak in steps). Shapes fitted to the step-normalised mean of mobgap HA001
#: (Stereophoto ICs, levelled, 62 steps): vertical harmonics all peak ~0.04
#: step after the IC (a sharp peak just after heel strike, steepest rise at the
#: IC, trough in mid single support); fore-aft braking after the IC and
#: propulsion late in the step. Amplitudes are ~1.4x HA001's (a slow walker)
#: to sit in the usual +3-5 m/s² range at normal speed.
VERTICAL_ACC_HARMONICS = ((2.0, 0.045), (0.85, 0.04), (0.65, 0.05), (0.25, 0.085))
FORWARD_ACC_HARMONICS = ((1.4, 0.76), (0.3, 0.41), (0.15, 0.31))
#: Mediolateral CoM acceleration amplitude at stride frequency.
LATERAL_ACC_MPS2 = 1.8
#: Amplitudes scale with (cadence / reference)^2, like a(t) of a fixed path.
REFERENCE_CADENCE_SPM = 105.0
#: Heel-strike transient: envelope (t/tau)^2 exp(2 - t/tau)/4 (peak 1 at 2 tau),
#: ringing at this frequency; fore-aft and lateral parts as ratios of vertical.
HEEL_STRIKE_TAU_S = 0.008
HEEL_STRIKE_RING_HZ = 18.0
HEEL_STRIKE_FORWARD_RATIO = -0.5
HEEL_STRIKE_LATERAL_RATIO = 0.25
#: Pelvic pitch jolt at heel strike per m/s^2 of transient.
HEEL_STRIKE_PITCH_DEG_PER_MPS2 = 0.05
#: The lumbar pivot sees the pelvis's translation attenuated (x, y, z) and its
#: heel-strike transients damped by the spine (the trunk sensor adds its own
#: rotation about the pivot on top, see kinematics.py).
TRUNK_ACC_GAIN = np.array([0.7, 1.0, 0.8])
TRUNK_HEEL_STRIKE_GAIN = 0.4
#: The real lower-back sensors the acceleration shapes were fitted to sit
#: about this far behind the hip axis (m; GAIT_SPEC "Where sensors sit": over
#: S1-S2, about 0.1 m): the shapes are the acceleration of that point.
NOMINAL_SACRUM_OFFSET_M = 0.10
#: The lumbar pivot (L3-L5) about which the trunk leans, in the pelvis frame
#: from the midpoint of the hip joint centres (m): behind the hip axis and
#: above it (the lumbosacral joint sits about 0.1 m above the hip centres).
#: The pelvis tilting about the stance hip swings it sideways by 0.12 m × the
#: obliquity's angular acceleration.
LUMBAR_PIVOT_M = (-0.08, 0.0, 0.12)
#: Time step (s) of the central second difference that turns a sensor point's
#: position into its acceleration: truncation (2 pi 18 Hz x 1 ms)^2 / 12 ~ 1e-3
#: of the fastest (heel-strike ringing) term, rounding ~1e-10 m/s².
POSITION_DIFF_STEP_S = 1e-3
#: Walking ramps in over this many steps after quiet standing (smoothstep).
RAMP_STEPS = 1.0
#: Slow orientation wander: per angle a sum of SWAY_COMPONENTS sinusoids, each
#: of amplitude sway_deg / 2, frequencies drawn in this band (Hz).
SWAY_COMPONENTS = 3
SWAY_BAND_HZ = (0.03, 0.25)
#: Random stream id of the wander parameters (steps 1, noise 2, bias 3).
STREAM_SWAY = 4


def euler_zyx_to_quat(euler_deg: np.ndarray) -> np.ndarray:
    """(n, 3) yaw, pitch, roll (deg; intrinsic Z-Y-X) -> (n, 4) quaternions x, y, z, w.

    Closed form of ``qz(yaw) * qy(pitch) * qx(roll)``; same as scipy's
    ``Rotation.from_euler("ZYX", ...)``, without its per-call overhead (the
    streaming form evaluates small blocks many times a second).
    """
    half = np.radians(np.asarray(euler_deg, dtype=float)) / 2.0
    cy, cp, cr = np.cos(half).T
    sy, sp, sr = np.sin(half).T
    return np.stack(
        [
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy,
        ],
        axis=1,
    )


def bump(u: np.ndarray, start: float, peak: float, end: float) -> np.ndarray:
    """C1 bump: 0 outside (start, end), 1 at peak, sin^2 flanks."""
    rise = np.sin(0.5 * np.pi * np.clip((u - start) / (peak - start), 0.0, 1.0)) ** 2
    fall = np.sin(0.5 * np.pi * np.clip((end - u) / (end - peak), 0.0, 1.0)) ** 2
    return np.where(u <= peak, rise, fall)


def smooth_bump(u: np.ndarray, start: float, peak: float, end: float) -> np.ndarray:
    """C2 bump: 0 outside (start, end), 1 at peak, smootherstep flanks (x³(6x² − 15x + 10)),
    whose first and second derivatives vanish at both ends of each flank."""
    x = np.where(
        u <= peak,
        np.clip((u - start) / (peak - start), 0.0, 1.0),
        np.clip((end - u) / (end - peak), 0.0, 1.0),
    )
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)


def gait_envelope(s: np.ndarray) -> np.ndarray:
    """Gait amplitude: 0 while standing, smoothstep to 1 over RAMP_STEPS."""
    x = np.clip(s / RAMP_STEPS, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def harmonics(u: np.ndarray, table: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Sum of ``amp * cos(2 pi n (u - peak))`` over the (amp, peak) rows, n = 1, 2, ..."""
    return sum(amp * np.cos(2 * np.pi * (n + 1) * (u - peak)) for n, (amp, peak) in enumerate(table))
