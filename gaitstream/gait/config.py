"""Settings of the gait engine: clinic thresholds and signal-processing constants.

The thresholds default to the values of ``GAIT_SPEC.md`` (pelvic drop 5.0°, the
source article's limit of normal frontal-plane motion; trunk lean 5.0°; at least
10 steady steps per side) and are clinic settings a caller may override per
patient. The processing constants are documented where they are defined.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gaitstream.gait.axes import DEFAULT_AXES, parse_axes

AccUnit = Literal["mps2", "g"]
GyrUnit = Literal["dps", "rads"]


class GaitConfig(BaseModel):
    """All tunable settings of the gait engine (immutable; JSON-serialisable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Clinic thresholds (GAIT_SPEC.md "Classification").
    pelvic_drop_threshold_deg: float = Field(5.0, gt=0)
    trunk_lean_threshold_deg: float = Field(5.0, gt=0)
    min_steps_per_side: int = Field(10, ge=1)

    # Sensor description of raw input (recording files state theirs with --axes).
    axes: str = DEFAULT_AXES
    acc_unit: AccUnit = "mps2"
    gyr_unit: GyrUnit = "dps"

    # Orientation: x-io Fusion with GAIT_SPEC.md's gain 0.5. Its acceleration
    # rejection (10° in GAIT_SPEC) is off by default: measured on simulated
    # sessions (orientation.py Notes) it biases the walking vertical by
    # 1.2–1.5°. The linear acceleration that leaks into the tilt at this gain
    # (+0.6° of pelvic drop) is removed by the leak correction below; with it,
    # gain 0.5 beat 0.2, 0.3 and 0.8 on the simulated benchmark.
    fusion_gain: float = Field(0.5, gt=0)
    acc_rejection_deg: float = Field(0.0, ge=0)
    # Remove the linear-acceleration leak from the obliquity (signals.py,
    # AccelerationLeakCorrection); its time constant separates the leak (stride
    # frequency) from Fusion's slow drift correction.
    leak_correction: bool = True
    leak_time_constant_s: float = Field(2.0, gt=0)

    # Calibration: quiet standing must last this long at the start to be used;
    # walking needed before the yaw of the mounting (and, without standing, the
    # tilt, gyro bias and obliquity reference) is estimated: 8 s rather than 5 s
    # halved the worst simulated session's drop error without standing (the
    # gyro bias averaged over more strides); raw data held at most
    # max_calibration_buffer_s while calibrating.
    min_standing_s: float = Field(1.0, gt=0)
    # Height of the trunk sensor above the lumbar pivot (m) when the station knows it; None
    # (default): fitted on the first walking (lever_arm.py), as clinics rarely measure it.
    trunk_sensor_height_m: float | None = Field(None, ge=0, le=0.8)  # lever_arm.MAX_LEVER_HEIGHT_M
    # With quiet standing at the start, start measuring at the first step with
    # a provisional mounting yaw of 0 and refine it after calibration_walking_s
    # (engine.py "Latency"); off: hold everything until then.
    standing_fast_start: bool = True
    # Without quiet standing, start measuring after provisional_walking_s of
    # walking with a provisional tilt, each step against its own stride's
    # median, and recalibrate after calibration_walking_s (engine.py
    # "Latency"); 0.5 s keeps the first step within the 0.5 s delay; off: hold
    # everything until calibration_walking_s.
    walking_fast_start: bool = True
    provisional_walking_s: float = Field(0.5, gt=0)
    calibration_walking_s: float = Field(8.0, gt=0)
    max_calibration_buffer_s: float = Field(30.0, gt=0)

    # Event detection (events.py): Gaussian σ of the filters; one step peak of
    # vertical acceleration per ic_min_interval_s before / ic_look_ahead_s after
    # (secondary maxima of a step come 0.2–0.25 s after the IC on ipol-L5;
    # steps last ≥ 0.4 s up to 150 spm); peaks under ic_min_acc_mps2 are not
    # steps (walking: 2–6 m/s²); the impact is the first maximum reaching
    # ic_back_peak_fraction of the peak within ic_back_search_s before it, the
    # IC the steepest rise within ic_refine_s before the impact. Together they
    # set the detection delay (≤ 0.47 s at 100 Hz).
    ic_smoothing_s: float = Field(0.02, gt=0)
    ic_min_interval_s: float = Field(0.3, gt=0)
    ic_look_ahead_s: float = Field(0.15, gt=0)
    ic_min_acc_mps2: float = Field(1.0, ge=0)
    ic_back_search_s: float = Field(0.2, ge=0)
    ic_back_peak_fraction: float = Field(0.5, gt=0, le=1)
    ic_refine_s: float = Field(0.06, ge=0)
    min_step_s: float = Field(0.25, gt=0)
    max_step_s: float = Field(1.5, gt=0)

    # Gaps in time_s up to this long are filled by linear interpolation; longer
    # gaps end the current walking bout.
    max_fill_gap_s: float = Field(0.5, ge=0)

    # Steps whose duration is within this fraction of the median step time are
    # "steady" and enter the per-side summary.
    steady_step_tolerance: float = Field(0.3, gt=0)

    @field_validator("axes")
    @classmethod
    def _valid_axes(cls, value: str) -> str:
        parse_axes(value)
        return value
