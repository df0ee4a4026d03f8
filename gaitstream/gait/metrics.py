"""Per-step, per-stride and per-side metrics (GAIT_SPEC.md "Metrics").

A step of side S runs from an IC of foot S to the next IC of the other foot;
its pelvic drop is the maximum over the step of φ (left step) or −φ (right
step), its trunk lean the maximum of λ (left) or −λ (right). A stride runs from
one IC to the next IC of the same foot; its obliquity range is max φ − min φ.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np

from gaitstream.gait.classification import classification_flags, classify
from gaitstream.gait.config import GaitConfig


@dataclass(frozen=True)
class StepMetrics:
    """One stance step. ``index`` counts steps of one engine (0, 1, 2 …)."""

    index: int
    side: str
    start_s: float
    end_s: float
    duration_s: float
    pelvic_drop_deg: float
    trunk_lean_deg: float | None

    def to_dict(self, *, include_index: bool = True) -> dict:
        out = asdict(self)
        if not include_index:
            out.pop("index")
        return out


def stance_extreme_deg(side: str, angle_deg: np.ndarray) -> float:
    """max(angle) for a left step, max(−angle) for a right step; NaN when no finite sample."""
    finite = angle_deg[np.isfinite(angle_deg)]
    if len(finite) == 0:
        return math.nan
    return float(finite.max() if side == "left" else (-finite).max())


def strides_from_steps(steps: list[StepMetrics], time_s: np.ndarray, obliquity_deg: np.ndarray) -> list[dict]:
    """Strides = two consecutive, contiguous steps; with their obliquity range (deg)."""
    strides = []
    for first, second in pairwise(steps):
        if second.index != first.index + 1 or abs(second.start_s - first.end_s) > 1e-6:
            continue
        lo, hi = np.searchsorted(time_s, [first.start_s - 1e-9, second.end_s + 1e-9])
        window = obliquity_deg[lo:hi]
        window = window[np.isfinite(window)]
        rom = float(window.max() - window.min()) if len(window) else math.nan
        strides.append(
            {
                "side": first.side,
                "start_s": first.start_s,
                "end_s": second.end_s,
                "duration_s": second.end_s - first.start_s,
                "obliquity_rom_deg": rom,
            }
        )
    return strides


def steady_steps(steps: list[StepMetrics], tolerance: float) -> list[StepMetrics]:
    """Steps whose duration is within ``tolerance`` (fraction) of the median step duration."""
    if not steps:
        return []
    median_s = float(np.median([s.duration_s for s in steps]))
    return [s for s in steps if abs(s.duration_s - median_s) <= tolerance * median_s]


def _finite(values: list) -> np.ndarray:
    arr = np.array([math.nan if v is None else v for v in values], dtype=float)
    return arr[np.isfinite(arr)]


def _stat(values: list, fn) -> float:
    arr = _finite(values)
    return float(fn(arr)) if len(arr) else math.nan


def summarize(
    steps: list[StepMetrics], strides: list[dict], *, trunk: bool, config: GaitConfig, lean_reference: str | None = None
) -> dict:
    """Per-side medians/p90 over steady steps, temporal parameters, the classification and its flags.

    ``lean_reference``: "standing" or "walking" (the engine's :attr:`lean_reference`), for the flags.

    Undefined values (no steps on a side, no trunk sensor) are NaN here; the
    JSON writer turns NaN into null.
    """
    steady = steady_steps(steps, config.steady_step_tolerance)
    by_side = {side: [s for s in steady if s.side == side] for side in ("left", "right")}
    out: dict = {}
    for side, side_steps in by_side.items():
        drops = [s.pelvic_drop_deg for s in side_steps]
        leans = [s.trunk_lean_deg for s in side_steps]
        out[side] = {
            "pelvic_drop_deg_median": _stat(drops, np.median),
            "pelvic_drop_deg_p90": _stat(drops, lambda a: np.percentile(a, 90)),
            "trunk_lean_deg_median": _stat(leans, np.median) if trunk else None,
            "steps": len(side_steps),
        }
    out["pelvic_drop_asymmetry_deg"] = out["left"]["pelvic_drop_deg_median"] - out["right"]["pelvic_drop_deg_median"]
    step_time_s = _stat([s.duration_s for s in steady], np.median)
    out["cadence_spm"] = 60.0 / step_time_s if step_time_s > 0 else math.nan
    out["stride_time_s"] = _stat([st["duration_s"] for st in strides], np.median)
    left_s = _stat([s.duration_s for s in by_side["left"]], np.median)
    right_s = _stat([s.duration_s for s in by_side["right"]], np.median)
    out["step_time_asymmetry_pct"] = 100.0 * abs(left_s - right_s) / ((left_s + right_s) / 2.0)
    out["classification"] = str(
        classify(
            [s.pelvic_drop_deg for s in by_side["left"]],
            [s.pelvic_drop_deg for s in by_side["right"]],
            [s.trunk_lean_deg for s in by_side["left"]] if trunk else None,
            [s.trunk_lean_deg for s in by_side["right"]] if trunk else None,
            config,
        )
    )
    out["classification_flags"] = classification_flags(
        out["classification"], trunk=trunk, lean_reference=lean_reference
    )
    return out
