"""Classification of a walk (GAIT_SPEC.md "Classification").

Per side, the median pelvic drop of the steady stance steps is compared with the
pelvic drop threshold: a pelvis dropping on the swing side while standing on
limb S is Trendelenburg S. With a trunk sensor, a median lean toward the stance
limb S above the trunk lean threshold while the pelvis stays under its
threshold is compensated Trendelenburg S (the trunk shift hides the drop).

Without quiet standing the trunk's upright posture is not observable from
walking alone: its lean is then relative to the mean walking posture, which
takes a lean toward one side only (one weak hip) for part of the upright
reference and reads it at roughly half its size. A label that rests on the
lean is then flagged (:func:`classification_flags`) instead of stated with
confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np

from gaitstream.gait.config import GaitConfig

#: Flag: the trunk lean is relative to the mean walking posture (no standing), so a one-sided
#: lean may be underestimated and compensated Trendelenburg missed (GAIT_SPEC "Frames and signals").
FLAG_TRUNK_LEAN_REFERENCE_WALKING = "trunk_lean_reference_walking"
#: Labels that depend on the trunk lean (the pelvic labels do not look at it).
LEAN_DEPENDENT_LABELS = frozenset({"normal", "compensated_trendelenburg_left", "compensated_trendelenburg_right"})


class Classification(StrEnum):
    """The labels of GAIT_SPEC.md; values are the strings written to JSON."""

    NORMAL = "normal"
    TRENDELENBURG_LEFT = "trendelenburg_left"
    TRENDELENBURG_RIGHT = "trendelenburg_right"
    TRENDELENBURG_BILATERAL = "trendelenburg_bilateral"
    COMPENSATED_TRENDELENBURG_LEFT = "compensated_trendelenburg_left"
    COMPENSATED_TRENDELENBURG_RIGHT = "compensated_trendelenburg_right"
    INSUFFICIENT_DATA = "insufficient_data"


def _median(values: Sequence[float] | None) -> float:
    """Median of the finite values (NaN when none). Sorting in Python: the live status calls this
    for windows of 20 steps on every step, where ``np.median`` cost ten times as much."""
    if values is None:
        return float("nan")
    finite = sorted(float(v) for v in values if v is not None and math.isfinite(v))
    n = len(finite)
    if not n:
        return float("nan")
    middle = n // 2
    return finite[middle] if n % 2 else (finite[middle - 1] + finite[middle]) / 2


def classify(
    left_drops: Sequence[float],
    right_drops: Sequence[float],
    left_leans: Sequence[float] | None = None,
    right_leans: Sequence[float] | None = None,
    config: GaitConfig | None = None,
) -> Classification:
    """Label a walk from the per-side values of its steady stance steps.

    1. Fewer than ``min_steps_per_side`` steps on either side -> insufficient_data.
    2. Median pelvic drop at or above ``pelvic_drop_threshold_deg`` on both sides ->
       bilateral; on one side -> trendelenburg of that (stance) side.
    3. Else, with trunk values: median lean toward the stance limb above
       ``trunk_lean_threshold_deg`` (or equal) -> compensated of that side (the larger
       excess wins when both are above).
    4. Else normal.
    """
    config = config or GaitConfig()
    # 1.
    if min(len(left_drops), len(right_drops)) < config.min_steps_per_side:
        return Classification.INSUFFICIENT_DATA
    # 2.
    drop_left, drop_right = _median(left_drops), _median(right_drops)
    if not (np.isfinite(drop_left) and np.isfinite(drop_right)):
        return Classification.INSUFFICIENT_DATA
    left_high = drop_left >= config.pelvic_drop_threshold_deg
    right_high = drop_right >= config.pelvic_drop_threshold_deg
    if left_high and right_high:
        return Classification.TRENDELENBURG_BILATERAL
    if left_high:
        return Classification.TRENDELENBURG_LEFT
    if right_high:
        return Classification.TRENDELENBURG_RIGHT
    # 3.
    lean_left, lean_right = _median(left_leans), _median(right_leans)
    excess_left = lean_left - config.trunk_lean_threshold_deg
    excess_right = lean_right - config.trunk_lean_threshold_deg
    if np.isfinite(excess_left) and excess_left >= 0 and not (np.isfinite(excess_right) and excess_right > excess_left):
        return Classification.COMPENSATED_TRENDELENBURG_LEFT
    if np.isfinite(excess_right) and excess_right >= 0:
        return Classification.COMPENSATED_TRENDELENBURG_RIGHT
    # 4.
    return Classification.NORMAL


def classification_flags(label: str, *, trunk: bool, lean_reference: str | None) -> list[str]:
    """Caveats of a label: ``trunk_lean_reference_walking`` when a trunk sensor is present, its
    lean reference is the mean walking posture (``lean_reference == "walking"``: no standing) and the
    label depends on the lean (normal or compensated)."""
    if trunk and lean_reference == "walking" and str(label) in LEAN_DEPENDENT_LABELS:
        return [FLAG_TRUNK_LEAN_REFERENCE_WALKING]
    return []
