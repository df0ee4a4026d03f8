"""Named gait patterns: realistic per-side pelvic drop and trunk lean presets.

Values follow GAIT_SPEC.md's background: normal gait moves the pelvis and trunk
less than 5 deg in the frontal plane (normal drop 2-4 deg); Trendelenburg gait
drops the swing side 6-10 deg while standing on the weak side; compensated
Trendelenburg leans the trunk 6-10 deg toward the weak stance side and keeps the
pelvis nearly level (drop <= 3 deg).

The alternating presets lean the trunk toward each stance limb in turn; with one
weak hip patients usually lean toward the weak side only and stay upright over
the other limb (``*_unilateral``: a lean with a non-zero mean over the stride),
and a Trendelenburg patient may hike the hip on the strong side's stance, the
swing-side pelvis rising (``*_hip_hike``: a negative drop on that side).
``variable_*`` presets spread the drop and lean of each step by 1.5 deg (SD),
as in patients whose control varies from step to step.
"""

from __future__ import annotations

from typing import Literal

from gaitstream.simulate.config import SimulationConfig

PatternName = Literal[
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "trendelenburg_bilateral",
    "compensated_left",
    "compensated_right",
    "compensated_left_unilateral",
    "compensated_right_unilateral",
    "trendelenburg_left_hip_hike",
    "trendelenburg_right_hip_hike",
    "variable_trendelenburg_left",
    "variable_compensated_right_unilateral",
]

#: Step-to-step SD of drop and lean of the ``variable_*`` presets (deg).
VARIABLE_JITTER_DEG = 1.5

#: Per-pattern field values (drop and lean per stance side, degrees; jitter where not the default).
PATTERNS: dict[str, dict[str, float]] = {
    "normal": {
        "pelvic_drop_left_deg": 3.0,
        "pelvic_drop_right_deg": 3.0,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
    },
    "trendelenburg_left": {
        "pelvic_drop_left_deg": 8.0,
        "pelvic_drop_right_deg": 3.0,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
    },
    "trendelenburg_right": {
        "pelvic_drop_left_deg": 3.0,
        "pelvic_drop_right_deg": 8.0,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
    },
    "trendelenburg_bilateral": {
        "pelvic_drop_left_deg": 7.5,
        "pelvic_drop_right_deg": 7.5,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
    },
    "compensated_left": {
        "pelvic_drop_left_deg": 1.5,
        "pelvic_drop_right_deg": 3.0,
        "trunk_lean_left_deg": 8.0,
        "trunk_lean_right_deg": 2.5,
    },
    "compensated_right": {
        "pelvic_drop_left_deg": 3.0,
        "pelvic_drop_right_deg": 1.5,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 8.0,
    },
    "compensated_left_unilateral": {
        "pelvic_drop_left_deg": 1.5,
        "pelvic_drop_right_deg": 3.0,
        "trunk_lean_left_deg": 9.0,
        "trunk_lean_right_deg": 0.0,
    },
    "compensated_right_unilateral": {
        "pelvic_drop_left_deg": 3.0,
        "pelvic_drop_right_deg": 1.5,
        "trunk_lean_left_deg": 0.0,
        "trunk_lean_right_deg": 9.0,
    },
    "trendelenburg_left_hip_hike": {
        "pelvic_drop_left_deg": 8.0,
        "pelvic_drop_right_deg": -2.0,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
    },
    "trendelenburg_right_hip_hike": {
        "pelvic_drop_left_deg": -2.0,
        "pelvic_drop_right_deg": 8.0,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
    },
    "variable_trendelenburg_left": {
        "pelvic_drop_left_deg": 8.0,
        "pelvic_drop_right_deg": 3.0,
        "trunk_lean_left_deg": 2.5,
        "trunk_lean_right_deg": 2.5,
        "pelvic_drop_jitter_deg": VARIABLE_JITTER_DEG,
        "trunk_lean_jitter_deg": VARIABLE_JITTER_DEG,
    },
    "variable_compensated_right_unilateral": {
        "pelvic_drop_left_deg": 3.0,
        "pelvic_drop_right_deg": 1.5,
        "trunk_lean_left_deg": 0.0,
        "trunk_lean_right_deg": 9.0,
        "pelvic_drop_jitter_deg": VARIABLE_JITTER_DEG,
        "trunk_lean_jitter_deg": VARIABLE_JITTER_DEG,
    },
}

#: Expected ground-truth label of each preset (thresholds 5 deg, enough steps).
EXPECTED_CLASSIFICATION: dict[str, str] = {
    "normal": "normal",
    "trendelenburg_left": "trendelenburg_left",
    "trendelenburg_right": "trendelenburg_right",
    "trendelenburg_bilateral": "trendelenburg_bilateral",
    "compensated_left": "compensated_trendelenburg_left",
    "compensated_right": "compensated_trendelenburg_right",
    "compensated_left_unilateral": "compensated_trendelenburg_left",
    "compensated_right_unilateral": "compensated_trendelenburg_right",
    "trendelenburg_left_hip_hike": "trendelenburg_left",
    "trendelenburg_right_hip_hike": "trendelenburg_right",
    "variable_trendelenburg_left": "trendelenburg_left",
    "variable_compensated_right_unilateral": "compensated_trendelenburg_right",
}


def pattern_config(pattern: str, *, trunk: bool = True, **overrides: object) -> SimulationConfig:
    """Config of a named pattern; ``overrides`` replace any field (validated).

    ``trunk=False`` removes the trunk sensor (lean values become None).
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {sorted(PATTERNS)}, got {pattern!r}")
    values: dict[str, object] = dict(PATTERNS[pattern])
    if not trunk:
        values["trunk_lean_left_deg"] = None
        values["trunk_lean_right_deg"] = None
        values.pop("trunk_lean_jitter_deg", None)
    values.update(overrides)
    return SimulationConfig(**values)  # type: ignore[arg-type]
