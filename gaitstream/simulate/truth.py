"""Ground truth by the definitions of GAIT_SPEC.md, from the simulated orientations.

- Pelvic obliquity ``phi(t) = asin(y_pelvis · z_world)`` in degrees, relative to
  the standing posture (median over quiet standing when there is at least
  ``MIN_STANDING_FOR_BASELINE_S`` of it, else the median during walking);
  positive = left side higher.
- Trunk lateral lean ``lambda(t) = asin(z_trunk · y_world)``; positive = left.
- Left step ``[IC_left, next IC_right]``: ``pelvic_drop_deg = max phi``,
  ``trunk_lean_deg = max lambda``; right step: ``max -phi``, ``max -lambda``.
- Stride ``[IC, next IC of the same foot]``: ``obliquity_rom_deg = max - min phi``.
- Extremes are taken on a dense grid (``TRUTH_GRID_HZ``) of the continuous
  orientation, not on the output samples: the truth is the motion itself.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

#: Grid rate of the truth extremes (1 ms: a 10 deg bump peak moves < 0.001 deg).
TRUTH_GRID_HZ = 1000.0
#: Shortest quiet standing used as the obliquity reference.
MIN_STANDING_FOR_BASELINE_S = 1.0
#: Classification defaults of GAIT_SPEC.md (clinic settings).
DEFAULT_DROP_THRESHOLD_DEG = 5.0
DEFAULT_LEAN_THRESHOLD_DEG = 5.0
DEFAULT_MIN_STEPS_PER_SIDE = 10
#: Steps before this index ramp in from standing and are left out of the
#: per-side summary (the whole first step is gait initiation).
STEADY_FROM_STEP = 1

CLASSIFICATIONS = (
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "trendelenburg_bilateral",
    "compensated_trendelenburg_left",
    "compensated_trendelenburg_right",
    "insufficient_data",
)


def obliquity_deg(pelvis: Rotation) -> np.ndarray:
    """``asin(y_pelvis · z_world)`` in degrees (absolute, no baseline)."""
    return np.degrees(np.arcsin(np.clip(pelvis.as_matrix()[:, 2, 1], -1.0, 1.0)))


def lateral_lean_deg(trunk: Rotation) -> np.ndarray:
    """``asin(z_trunk · y_world)`` in degrees (positive = leaning left)."""
    return np.degrees(np.arcsin(np.clip(trunk.as_matrix()[:, 1, 2], -1.0, 1.0)))


def step_extremes(
    signal_at: Callable[[np.ndarray], np.ndarray],
    starts_s: np.ndarray,
    ends_s: np.ndarray,
    *,
    grid_hz: float = TRUTH_GRID_HZ,
) -> tuple[np.ndarray, np.ndarray]:
    """(max, min) of ``signal_at`` over each ``[start, end]``, ends included.

    1. One dense grid per interval, concatenated into one evaluation.
    2. Reduce per interval.
    """
    starts_s, ends_s = np.asarray(starts_s, float), np.asarray(ends_s, float)
    if starts_s.size == 0:
        return np.empty(0), np.empty(0)
    counts = np.maximum(np.ceil((ends_s - starts_s) * grid_hz).astype(int) + 1, 2)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    # 1. Grid: position i/(count-1) within each interval.
    owner = np.repeat(np.arange(starts_s.size), counts)
    frac = (np.arange(offsets[-1]) - offsets[owner]) / (counts[owner] - 1)
    values = signal_at(starts_s[owner] + frac * (ends_s - starts_s)[owner])
    # 2. Reduce.
    return np.maximum.reduceat(values, offsets[:-1]), np.minimum.reduceat(values, offsets[:-1])


def classify(
    *,
    drop_median_deg: dict[str, float | None],
    lean_median_deg: dict[str, float | None],
    steps: dict[str, int],
    drop_threshold_deg: float = DEFAULT_DROP_THRESHOLD_DEG,
    lean_threshold_deg: float = DEFAULT_LEAN_THRESHOLD_DEG,
    min_steps_per_side: int = DEFAULT_MIN_STEPS_PER_SIDE,
) -> str:
    """Ground-truth label from per-side medians (the simulator's rule).

    1. Fewer than ``min_steps_per_side`` steady steps on either side:
       ``insufficient_data``.
    2. Trendelenburg of side S: median pelvic drop of S steps >= threshold
       (the pelvis drops on the other side while standing on S); both sides:
       ``trendelenburg_bilateral``.
    3. Else compensated of side S: median trunk lean toward S during S steps >=
       lean threshold (needs a trunk sensor); both sides: the larger lean wins.
    4. Else ``normal``.
    """
    # 1. Enough data.
    if min(steps.get("left", 0), steps.get("right", 0)) < min_steps_per_side:
        return "insufficient_data"
    # 2. Trendelenburg (pelvic drop).
    weak = [s for s in ("left", "right") if drop_median_deg[s] is not None and drop_median_deg[s] >= drop_threshold_deg]
    if len(weak) == 2:
        return "trendelenburg_bilateral"
    if weak:
        return f"trendelenburg_{weak[0]}"
    # 3. Compensated (trunk lean toward the stance side).
    leaning = {s: v for s, v in lean_median_deg.items() if v is not None and v >= lean_threshold_deg}
    if leaning:
        return f"compensated_trendelenburg_{max(leaning, key=lambda s: leaning[s])}"
    # 4. Normal.
    return "normal"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def summarize(steps: list[dict], strides: list[dict], *, has_trunk: bool) -> dict:
    """Per-side medians/p90/counts, asymmetry, temporal figures and the label."""
    steady = [s for s in steps if s.get("steady", True)]
    out: dict = {}
    drop_median: dict[str, float | None] = {}
    lean_median: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    step_time: dict[str, float] = {}
    for side in ("left", "right"):
        mine = [s for s in steady if s["side"] == side]
        drops = np.array([s["pelvic_drop_deg"] for s in mine])
        leans = np.array([s["trunk_lean_deg"] for s in mine]) if has_trunk else np.empty(0)
        drop_median[side] = float(np.median(drops)) if drops.size else None
        lean_median[side] = float(np.median(leans)) if leans.size else None
        counts[side] = len(mine)
        step_time[side] = float(np.mean([s["duration_s"] for s in mine])) if mine else float("nan")
        out[side] = {
            "pelvic_drop_deg_median": _round(drop_median[side]),
            "pelvic_drop_deg_p90": _round(float(np.percentile(drops, 90)) if drops.size else None),
            "trunk_lean_deg_median": _round(lean_median[side]),
            "steps": counts[side],
        }
    both = drop_median["left"] is not None and drop_median["right"] is not None
    out["pelvic_drop_asymmetry_deg"] = _round(drop_median["left"] - drop_median["right"]) if both else None
    durations = np.array([s["duration_s"] for s in steady])
    out["cadence_spm"] = _round(60.0 / durations.mean()) if durations.size else None
    steady_strides = [s["duration_s"] for s in strides if s.get("steady", True)]
    out["stride_time_s"] = _round(float(np.mean(steady_strides))) if steady_strides else None
    mean_lr = (step_time["left"] + step_time["right"]) / 2.0
    out["step_time_asymmetry_pct"] = _round(100.0 * abs(step_time["left"] - step_time["right"]) / mean_lr)
    out["classification"] = classify(drop_median_deg=drop_median, lean_median_deg=lean_median, steps=counts)
    return out
