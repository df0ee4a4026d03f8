"""Configuration of one simulated treadmill session (keyword-only, validated).

Every field carries its unit in its name. Ranges are checked at construction and
a broken one raises ``ValueError`` naming the argument and its valid values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from gaitstream.simulate.imu import parse_axes

Side = Literal["left", "right"]
SIDES: tuple[Side, ...] = ("left", "right")

#: Sensor axes of the body frame (GAIT_SPEC.md: x forward, y left, z up).
DEFAULT_AXES = "x=forward,y=left,z=up"

#: Sampling rates the analyzer must handle (GAIT_SPEC.md).
MIN_SAMPLING_RATE_HZ = 60.0
MAX_SAMPLING_RATE_HZ = 200.0
#: Residual sensor mounting: sacral slope gives up to 40 deg of pitch, hand
#: placement up to 20 deg of roll and yaw.
MAX_MOUNTING_PITCH_DEG = 40.0
MAX_MOUNTING_ROLL_YAW_DEG = 20.0
#: Plausible adult cadences, slow rehab walking to brisk walking.
MIN_CADENCE_SPM = 60.0
MAX_CADENCE_SPM = 160.0
#: Where sensors sit (GAIT_SPEC): the sacral sensor 0.05-0.15 m behind the hip
#: axis, the trunk sensor (sternum, T4-T7) 0.3-0.5 m above the lumbar pivot.
#: The ranges allowed are wider, to test beyond them.
MAX_SACRUM_OFFSET_M = 0.2
MAX_TRUNK_SENSOR_HEIGHT_M = 0.7


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (low <= value <= high):
        raise ValueError(f"{name} must be within [{low}, {high}], got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """What to simulate: gait pattern, timing, sensors and their errors.

    Pelvic drop and trunk lean are per *stance* side, as GAIT_SPEC.md attributes
    them: ``pelvic_drop_left_deg`` is the maximum obliquity (right side lower)
    during a left step. ``trunk_lean_left_deg=None`` (and right) means no trunk
    sensor. A negative drop (hip hiking) is simulated, but a step's truth is
    then its maximum obliquity, found at a step boundary rather than at the chosen
    value. ``step_variability_pct`` is the step-to-step SD of each step's
    acceleration amplitude and heel-strike size; ``sway_deg`` scales a slow
    random wander (0.03-0.25 Hz) of every orientation angle of both segments,
    standing and walking (postural sway, treadmill steering); the truth
    includes it. ``packet_loss_pct`` removes that share of samples in bursts of
    1-5 (lost radio packets: gaps in ``time_s``). ``step_time_asymmetry_pct`` > 0 makes left steps longer than right
    ones, with ``100·|L−R|/mean`` equal to its absolute value. Mounting angles are
    the residual rotation of the sensor in the body frame, applied as
    ``Rz(yaw)·Ry(pitch)·Rx(roll)``; positive pitch tilts the sensor's forward axis
    down, as on a sloped sacrum. ``gyr_bias_dps`` bounds a constant per-axis bias
    drawn uniformly from ``[-gyr_bias_dps, gyr_bias_dps]`` with the seed.
    ``sacrum_offset_m`` places the sacral sensor behind the hip axis and
    ``trunk_sensor_height_m`` the trunk sensor above the lumbar pivot about
    which the trunk leans: each sensor feels its point's acceleration, lever
    arms included (kinematics.py, item 7). 0 puts a sensor on its pivot.
    """

    duration_s: float = 60.0
    standing_s: float = 5.0
    sampling_rate_hz: float = 100.0
    cadence_spm: float = 105.0
    cadence_cv_pct: float = 1.5
    step_time_asymmetry_pct: float = 0.0
    pelvic_drop_left_deg: float = 3.0
    pelvic_drop_right_deg: float = 3.0
    pelvic_drop_jitter_deg: float = 0.3
    trunk_lean_left_deg: float | None = 2.5
    trunk_lean_right_deg: float | None = 2.5
    trunk_lean_jitter_deg: float = 0.3
    step_variability_pct: float = 8.0
    sway_deg: float = 0.3
    first_side: Side = "left"
    mounting_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    trunk_mounting_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axes: str = DEFAULT_AXES
    sacrum_offset_m: float = 0.10
    trunk_sensor_height_m: float = 0.40
    acc_noise_mps2: float = 0.05
    gyr_noise_dps: float = 0.3
    gyr_bias_dps: float = 0.0
    heel_strike_acc_mps2: float = 3.0
    acc_range_mps2: float | None = None
    gyr_range_dps: float | None = None
    packet_loss_pct: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        # 1. Durations and rates.
        _check_range("duration_s", self.duration_s, 1.0, 7 * 24 * 3600.0)
        _check_range("standing_s", self.standing_s, 0.0, self.duration_s)
        _check_range("sampling_rate_hz", self.sampling_rate_hz, MIN_SAMPLING_RATE_HZ, MAX_SAMPLING_RATE_HZ)
        _check_range("cadence_spm", self.cadence_spm, MIN_CADENCE_SPM, MAX_CADENCE_SPM)
        _check_range("cadence_cv_pct", self.cadence_cv_pct, 0.0, 10.0)
        _check_range("step_time_asymmetry_pct", self.step_time_asymmetry_pct, -30.0, 30.0)
        # 2. Gait pattern.
        _check_range("pelvic_drop_left_deg", self.pelvic_drop_left_deg, -5.0, 20.0)
        _check_range("pelvic_drop_right_deg", self.pelvic_drop_right_deg, -5.0, 20.0)
        _check_range("pelvic_drop_jitter_deg", self.pelvic_drop_jitter_deg, 0.0, 3.0)
        _check_range("trunk_lean_jitter_deg", self.trunk_lean_jitter_deg, 0.0, 3.0)
        _check_range("step_variability_pct", self.step_variability_pct, 0.0, 30.0)
        _check_range("sway_deg", self.sway_deg, 0.0, 3.0)
        if (self.trunk_lean_left_deg is None) != (self.trunk_lean_right_deg is None):
            raise ValueError(
                "trunk_lean_left_deg and trunk_lean_right_deg must both be numbers "
                "(trunk sensor) or both None (no trunk sensor)"
            )
        for name in ("trunk_lean_left_deg", "trunk_lean_right_deg"):
            value = getattr(self, name)
            if value is not None:
                _check_range(name, value, -5.0, 25.0)
        if self.first_side not in SIDES:
            raise ValueError(f"first_side must be one of {SIDES}, got {self.first_side!r}")
        # 3. Sensors.
        for name in ("mounting_deg", "trunk_mounting_deg"):
            angles = getattr(self, name)
            if len(angles) != 3:
                raise ValueError(f"{name} must be (roll, pitch, yaw) in degrees, got {angles!r}")
            roll_deg, pitch_deg, yaw_deg = (float(a) for a in angles)
            _check_range(f"{name} roll", roll_deg, -MAX_MOUNTING_ROLL_YAW_DEG, MAX_MOUNTING_ROLL_YAW_DEG)
            _check_range(f"{name} pitch", pitch_deg, -MAX_MOUNTING_PITCH_DEG, MAX_MOUNTING_PITCH_DEG)
            _check_range(f"{name} yaw", yaw_deg, -MAX_MOUNTING_ROLL_YAW_DEG, MAX_MOUNTING_ROLL_YAW_DEG)
        parse_axes(self.axes)
        _check_range("sacrum_offset_m", self.sacrum_offset_m, 0.0, MAX_SACRUM_OFFSET_M)
        _check_range("trunk_sensor_height_m", self.trunk_sensor_height_m, 0.0, MAX_TRUNK_SENSOR_HEIGHT_M)
        _check_range("acc_noise_mps2", self.acc_noise_mps2, 0.0, 5.0)
        _check_range("gyr_noise_dps", self.gyr_noise_dps, 0.0, 20.0)
        _check_range("gyr_bias_dps", self.gyr_bias_dps, 0.0, 20.0)
        _check_range("heel_strike_acc_mps2", self.heel_strike_acc_mps2, 0.0, 30.0)
        if self.acc_range_mps2 is not None:
            _check_range("acc_range_mps2", self.acc_range_mps2, 10.0, 1000.0)
        _check_range("packet_loss_pct", self.packet_loss_pct, 0.0, 20.0)
        if self.gyr_range_dps is not None:
            _check_range("gyr_range_dps", self.gyr_range_dps, 50.0, 5000.0)

    @property
    def has_trunk(self) -> bool:
        """True when a trunk sensor is simulated."""
        return self.trunk_lean_left_deg is not None

    @property
    def n_samples(self) -> int:
        """Number of samples of the session (``time_s = n / sampling_rate_hz``)."""
        return int(round(self.duration_s * self.sampling_rate_hz))

    def replace(self, **changes: object) -> "SimulationConfig":
        """Copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict of the fields."""
        out = dataclasses.asdict(self)
        out["mounting_deg"] = list(self.mounting_deg)
        out["trunk_mounting_deg"] = list(self.trunk_mounting_deg)
        return out
