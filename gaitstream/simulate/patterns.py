"""Named gait patterns: realistic per-side pelvic drop and trunk lean presets.

Values follow GAIT_SPEC.md's background: normal gait moves the pelvis and trunk
less than 5 deg in the frontal plane (normal drop 2-4 deg); Trendelenburg gait
drops the swing side 6-10 deg while standing on the weak side; compensated
Trendelenburg leans the trunk 6-10 deg toward the weak stance side and keeps the
pelvis nearly level (drop <= 3 deg).
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
]

#: Per-pattern field values (drop and lean per stance side, degrees).
PATTERNS: dict[str, dict[str, float]] = {
    "normal": {"pelvic_drop_left_deg": 3.0, "pelvic_drop_right_deg": 3.0, "trunk_lean_left_deg": 2.5, "trunk_lean_right_deg": 2.5},
    "trendelenburg_left": {"pelvic_drop_left_deg": 8.0, "pelvic_drop_right_deg": 3.0, "trunk_lean_left_deg": 2.5, "trunk_lean_right_deg": 2.5},
    "trendelenburg_right": {"pelvic_drop_left_deg": 3.0, "pelvic_drop_right_deg": 8.0, "trunk_lean_left_deg": 2.5, "trunk_lean_right_deg": 2.5},
    "trendelenburg_bilateral": {"pelvic_drop_left_deg": 7.5, "pelvic_drop_right_deg": 7.5, "trunk_lean_left_deg": 2.5, "trunk_lean_right_deg": 2.5},
    "compensated_left": {"pelvic_drop_left_deg": 1.5, "pelvic_drop_right_deg": 3.0, "trunk_lean_left_deg": 8.0, "trunk_lean_right_deg": 2.5},
    "compensated_right": {"pelvic_drop_left_deg": 3.0, "pelvic_drop_right_deg": 1.5, "trunk_lean_left_deg": 2.5, "trunk_lean_right_deg": 8.0},
}

#: Expected ground-truth label of each preset (thresholds 5 deg, enough steps).
EXPECTED_CLASSIFICATION: dict[str, str] = {
    "normal": "normal",
    "trendelenburg_left": "trendelenburg_left",
    "trendelenburg_right": "trendelenburg_right",
    "trendelenburg_bilateral": "trendelenburg_bilateral",
    "compensated_left": "compensated_trendelenburg_left",
    "compensated_right": "compensated_trendelenburg_right",
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
    values.update(overrides)
    return SimulationConfig(**values)  # type: ignore[arg-type]
