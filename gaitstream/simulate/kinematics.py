"""Body kinematics of treadmill walking: pelvis and trunk orientation, accelerations.

Every quantity is an explicit smooth function of time through the step phase
``s(t)`` of :class:`~gaitstream.simulate.schedule.StepSchedule`, so the
gyroscope can be derived exactly from the orientation and any time can be
evaluated on its own (streaming equals whole-session output).

Waveforms (shapes checked against the shared lower-back recordings: mobgap
HA001 Test5 and ipol-L5, levelled and averaged per stride):

1. Pelvic obliquity: per step a smooth bump of the stance side's sign, rising
   from just after the IC to its peak at ``DROP_PEAK_STEP_FRACTION`` of the step
   and falling back over the rest of the step into the start of the next one, so
   the obliquity crosses level shortly after each IC (as in the real data, where
   the roll at the IC still belongs to the previous step). Neighbouring bumps do
   not overlap at a peak, so the step's maximum equals its chosen drop.
2. Pelvic rotation (yaw) at stride frequency, phased so the yaw rate at a left
   IC is negative and at a right IC positive (as in mobgap HA001, optical ICs).
3. Pelvic tilt (pitch) at step frequency; a small pitch jolt at each IC.
4. Trunk lateral lean toward the stance limb during single support (a
   smoother bump of the same construction, waveforms.smooth_bump: the trunk's
   angular acceleration is continuous), counter-rotation of the thorax, small
   pitch.
5. Centre-of-mass acceleration in the walking frame: vertical double bump per
   stride (peak just after each IC, trough in mid single support), fore-aft
   braking then propulsion, mediolateral sway toward the stance limb (its
   acceleration is opposite to the displacement), heel-strike transients.
6. Step-to-step variability of the accelerations and heel strikes, and a slow
   orientation wander (postural sway, steering), both from the seed.
7. Segments and lever arms (GAIT_SPEC "Where sensors sit"). Item 5's shapes
   were fitted to real lower-back sensors, which sit about
   ``NOMINAL_SACRUM_OFFSET_M`` behind the hip axis and so already carry what
   the pelvis's rotations (tilting about the stance hip included) do to such
   a point: item 5 is the translation of that nominal point S0. A sacral
   sensor ``sacrum_offset_m`` behind the hips sits at S0 + R_pelvis·(r − r0);
   the trunk is a rigid segment rotating about the lumbar pivot
   (``LUMBAR_PIVOT_M`` on the pelvis), its sensor ``trunk_sensor_height_m``
   above the pivot along the trunk's own long axis:
   x = S0 + R_pelvis·(r_pivot − r0) + R_trunk·r_sensor. A sensor's acceleration
   is its point's, differentiated twice, so it carries the tangential and
   centripetal terms ω̇ × r and ω × (ω × r) of every rotation (for a 10° lean
   within half a stride at 0.45 m, 1-3 m/s² sideways). The pivot's translation
   is S0's with the spine's attenuation of the trunk (``TRUNK_ACC_GAIN``).
Everything gait-related ramps in over the first step after quiet standing.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from gaitstream.simulate.schedule import StepSchedule
from gaitstream.simulate.waveforms import (
    DROP_END_STEP_FRACTION,
    DROP_PEAK_STEP_FRACTION,
    DROP_START_STEP_FRACTION,
    FORWARD_ACC_HARMONICS,
    HEEL_STRIKE_FORWARD_RATIO,
    HEEL_STRIKE_LATERAL_RATIO,
    HEEL_STRIKE_PITCH_DEG_PER_MPS2,
    HEEL_STRIKE_RING_HZ,
    HEEL_STRIKE_TAU_S,
    LATERAL_ACC_MPS2,
    LEAN_END_STEP_FRACTION,
    LEAN_PEAK_STEP_FRACTION,
    LEAN_START_STEP_FRACTION,
    LUMBAR_PIVOT_M,
    NOMINAL_SACRUM_OFFSET_M,
    PELVIC_ROTATION_DEG,
    PELVIC_ROTATION_PHASE_STEPS,
    PELVIC_TILT_DEG,
    PELVIC_TILT_PHASE_STEPS,
    POSITION_DIFF_STEP_S,
    REFERENCE_CADENCE_SPM,
    STREAM_SWAY,
    SWAY_BAND_HZ,
    SWAY_COMPONENTS,
    TRUNK_ACC_GAIN,
    TRUNK_HEEL_STRIKE_GAIN,
    TRUNK_ROTATION_DEG,
    TRUNK_TILT_DEG,
    TRUNK_TILT_LAG_STEPS,
    VERTICAL_ACC_HARMONICS,
    bump,
    euler_zyx_to_quat,
    gait_envelope,
    harmonics,
    smooth_bump,
)


class BodyKinematics:
    """Orientation and acceleration of pelvis and trunk at arbitrary times."""

    def __init__(self, schedule: StepSchedule) -> None:
        self.schedule = schedule
        cfg = schedule.config
        self._acc_scale = (cfg.cadence_spm / REFERENCE_CADENCE_SPM) ** 2
        self._left_offset = 0 if cfg.first_side == "left" else 1
        self._heel_strike_mps2 = cfg.heel_strike_acc_mps2
        rng = np.random.default_rng([cfg.seed, STREAM_SWAY])
        # (segment, angle yaw/pitch/roll, component) frequencies and phases.
        self._sway_hz = rng.uniform(*SWAY_BAND_HZ, size=(2, 3, SWAY_COMPONENTS))
        self._sway_phase = rng.uniform(0.0, 2 * np.pi, size=(2, 3, SWAY_COMPONENTS))
        self._sway_deg = cfg.sway_deg / 2.0
        # 7. sensor points: sacrum behind the hip axis; trunk sensor above the lumbar pivot
        self._sacrum_m = np.array([-cfg.sacrum_offset_m, 0.0, 0.0])
        self._pivot_m = np.array(LUMBAR_PIVOT_M, dtype=float)
        self._nominal_m = np.array([-NOMINAL_SACRUM_OFFSET_M, 0.0, 0.0])
        self._trunk_sensor_m = np.array([0.0, 0.0, cfg.trunk_sensor_height_m])

    def _sway(self, time_s: np.ndarray, segment: int) -> np.ndarray:
        """(n, 3) slow yaw, pitch, roll wander (deg) of segment 0 pelvis / 1 trunk."""
        if self._sway_deg == 0.0:
            return np.zeros((np.size(time_s), 3))
        arg = 2 * np.pi * time_s[:, None, None] * self._sway_hz[segment] + self._sway_phase[segment]
        return self._sway_deg * np.sin(arg).sum(axis=2)

    def _phase_parts(self, time_s: np.ndarray) -> dict[str, np.ndarray]:
        s = self.schedule.phase(time_s)
        k = np.floor(s).astype(np.int64)
        return {
            "s": s,
            "k": k,
            "u": s - k,
            # Stride phase in steps, 0 at a left IC: sin(pi*s_left) > 0 in left steps.
            "s_left": s + self._left_offset,
            "env": gait_envelope(s),
        }

    def _side_bumps(
        self, parts: dict[str, np.ndarray], which: str, start: float, peak: float, end: float
    ) -> np.ndarray:
        """Sum over steps k-1..k+1 of (+1 left, -1 right) * target * bump (the lean's: C2)."""
        shape = bump if which == "drop" else smooth_bump
        total = np.zeros_like(parts["s"])
        for offset in (-1, 0, 1):
            j = parts["k"] + offset
            valid, drop, lean, _ = self.schedule.step_values(j)
            target = drop if which == "drop" else lean
            sign = np.where(self.schedule.is_left(j), 1.0, -1.0)
            total += np.where(valid, sign * target * shape(parts["s"] - j, start, peak, end), 0.0)
        return total

    def _heel_strike(self, time_s: np.ndarray, parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(transient shape with ringing, +1/-1 side of the last IC) at each time."""
        ic = self.schedule.initial_contacts_s()
        k_local = np.clip(parts["k"] - self.schedule.base_index, 0, len(ic) - 1)
        since_s = time_s - ic[k_local]
        walking = (parts["k"] >= 0) & (since_s >= 0)
        x = np.where(walking, since_s / HEEL_STRIKE_TAU_S, 0.0)
        shape = (
            x * x * np.exp(2.0 - x) / 4.0 * np.cos(2 * np.pi * HEEL_STRIKE_RING_HZ * (since_s - 2 * HEEL_STRIKE_TAU_S))
        )
        side = np.where(self.schedule.is_left(parts["k"]), 1.0, -1.0)
        _, _, _, intensity = self.schedule.step_values(parts["k"])
        return np.where(walking, shape * intensity, 0.0), side

    def _intensity(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        """Step intensity blended smoothly from step k to step k+1 over the step."""
        _, _, _, now = self.schedule.step_values(parts["k"])
        valid, _, _, after = self.schedule.step_values(parts["k"] + 1)
        w = parts["u"] * parts["u"] * (3.0 - 2.0 * parts["u"])
        return now * (1.0 - w) + np.where(valid, after, now) * w

    def pelvis_euler_deg(self, time_s: np.ndarray) -> np.ndarray:
        """(n, 3) pelvis yaw, pitch, roll in degrees (ZYX, body to world)."""
        t = np.asarray(time_s, dtype=float)
        p = self._phase_parts(t)
        env = p["env"]
        # 1. Obliquity bumps (roll about the forward axis; + = left side up).
        roll = env * self._side_bumps(
            p, "drop", DROP_START_STEP_FRACTION, DROP_PEAK_STEP_FRACTION, DROP_END_STEP_FRACTION
        )
        # 2. Rotation at stride frequency.
        yaw = -env * PELVIC_ROTATION_DEG * np.cos(np.pi * (p["s_left"] - PELVIC_ROTATION_PHASE_STEPS))
        # 3. Tilt at step frequency plus the heel-strike jolt.
        shape, _ = self._heel_strike(t, p)
        pitch = env * PELVIC_TILT_DEG * np.cos(2 * np.pi * (p["s"] - PELVIC_TILT_PHASE_STEPS))
        pitch = pitch + HEEL_STRIKE_PITCH_DEG_PER_MPS2 * self._heel_strike_mps2 * shape
        return np.stack([yaw, pitch, roll], axis=1) + self._sway(t, 0)

    def trunk_euler_deg(self, time_s: np.ndarray) -> np.ndarray:
        """(n, 3) trunk yaw, pitch, roll in degrees (ZYX, body to world)."""
        t = np.asarray(time_s, dtype=float)
        p = self._phase_parts(t)
        env = p["env"]
        # 4. Lean toward the stance side = negative roll for a left step.
        roll = -env * self._side_bumps(
            p, "lean", LEAN_START_STEP_FRACTION, LEAN_PEAK_STEP_FRACTION, LEAN_END_STEP_FRACTION
        )
        yaw = env * TRUNK_ROTATION_DEG * np.cos(np.pi * (p["s_left"] - PELVIC_ROTATION_PHASE_STEPS))
        pitch = env * TRUNK_TILT_DEG * np.cos(2 * np.pi * (p["s"] - PELVIC_TILT_PHASE_STEPS - TRUNK_TILT_LAG_STEPS))
        return np.stack([yaw, pitch, roll], axis=1) + self._sway(t, 1)

    def pelvis_rotation(self, time_s: np.ndarray) -> Rotation:
        """Pelvis orientation (body to world) at each time."""
        return Rotation.from_quat(euler_zyx_to_quat(self.pelvis_euler_deg(time_s)))

    def trunk_rotation(self, time_s: np.ndarray) -> Rotation:
        """Trunk orientation (body to world) at each time."""
        return Rotation.from_quat(euler_zyx_to_quat(self.trunk_euler_deg(time_s)))

    def _com_acc(self, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(time_s, dtype=float)
        p = self._phase_parts(t)
        env, u = p["env"] * self._acc_scale * self._intensity(p), p["u"]
        # 5. Smooth CoM acceleration (walking frame: x forward, y left, z up).
        a_z = harmonics(u, VERTICAL_ACC_HARMONICS)
        a_x = harmonics(u, FORWARD_ACC_HARMONICS)
        a_y = -LATERAL_ACC_MPS2 * np.sin(np.pi * p["s_left"])
        smooth = env[:, None] * np.stack([a_x, a_y, a_z], axis=1)
        shape, side = self._heel_strike(t, p)
        hs = self._heel_strike_mps2 * shape
        transient = np.stack([HEEL_STRIKE_FORWARD_RATIO * hs, HEEL_STRIKE_LATERAL_RATIO * side * hs, hs], axis=1)
        return smooth, transient

    def _lever_acc_mps2(self, time_s: np.ndarray, trunk: bool) -> np.ndarray:
        """(n, 3) acceleration of a sensor point beyond item 5's translation (7.), walking frame.

        The second central difference (step ``POSITION_DIFF_STEP_S``) of
        R_pelvis(t)·(r_sacrum − r_nominal) for the sacral sensor, and of
        R_pelvis(t)·(r_pivot − r_nominal) + R_trunk(t)·r_sensor for the trunk's:
        exactly the tangential and centripetal terms of each rotation.
        """
        t = np.asarray(time_s, dtype=float)
        n, dt = t.size, POSITION_DIFF_STEP_S
        tt = np.concatenate([t - dt, t, t + dt])
        if trunk:
            position = self.pelvis_rotation(tt).apply(self._pivot_m - self._nominal_m)
            position += self.trunk_rotation(tt).apply(self._trunk_sensor_m)
        else:
            position = self.pelvis_rotation(tt).apply(self._sacrum_m - self._nominal_m)
        return (position[:n] - 2.0 * position[n : 2 * n] + position[2 * n :]) / (dt * dt)

    def pelvis_acc_world_mps2(self, time_s: np.ndarray) -> np.ndarray:
        """(n, 3) linear acceleration of the sacral sensor's point in the walking frame."""
        smooth, transient = self._com_acc(time_s)
        if self._sacrum_m[0] == self._nominal_m[0]:
            return smooth + transient  # at the nominal point: the fitted shapes themselves
        return smooth + transient + self._lever_acc_mps2(time_s, trunk=False)

    def trunk_acc_world_mps2(self, time_s: np.ndarray) -> np.ndarray:
        """(n, 3) linear acceleration of the trunk sensor's point in the walking frame."""
        smooth, transient = self._com_acc(time_s)
        pivot = smooth * TRUNK_ACC_GAIN + TRUNK_HEEL_STRIKE_GAIN * transient
        return pivot + self._lever_acc_mps2(time_s, trunk=True)
