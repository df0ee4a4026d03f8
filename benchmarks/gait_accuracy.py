"""Simulated accuracy of the gait engine against the simulator's ground truth.

Run: ``.venv/bin/python benchmarks/gait_accuracy.py [--sessions 60] [--seed 0] [--json]
[--mode both|standing|no_standing] [--delay]``

1. Draw ``--sessions`` random sessions cycling over the patterns patients
   show (``PATTERNS``): normal; Trendelenburg left/right/bilateral; with hip
   hiking on the strong side; compensated with a lean toward each stance
   limb, and toward the weak side only with the trunk upright over the other
   limb (unilateral); Trendelenburg and unilateral compensation with drop and
   lean varying from step to step (SD 1–2°). Random per-side values in each
   pattern's clinical range, sampling rates 60-200 Hz, residual mountings
   (pitch 0-40 deg, roll and yaw +/-20 deg), sensor axes, noise, gyro bias,
   cadence (slow rehab walking to brisk), its jitter and step asymmetry; some
   sessions without a trunk sensor, some with lost packets. Where the sensors
   sit (GAIT_SPEC): the trunk sensor 0-0.6 m above the lumbar pivot, the
   sacral sensor 0.05-0.15 m behind the hip axis, drawn per session from
   its own seed (so the other draws are those of earlier versions).
   ``--mode``: each drawn session is run with quiet standing (3-8 s) and
   without (the engine's walking calibration), or in one of the two only.
2. Simulate each (``gaitstream.simulate``), write its CSV to a temporary
   directory, load it with ``load_recording_csv`` (stating the axes) and run
   ``analyze_recording``.
3. Score against the truth:
   - ICs: one-to-one greedy matching of detected to true ICs (any side) within
     ``IC_TOLERANCE_S``; F1 = 2 TP / (2 TP + FP + FN); side correct = matched
     ICs with the right side.
   - Steps: each true step is paired with the detected step starting at the
     same IC (within ``IC_TOLERANCE_S``); pairs with the right side give the
     per-step pelvic drop and trunk lean errors.
   - Per-side medians: |detected - true| summary medians (drop and lean).
   - Classification: equal labels, overall and on "clear" sessions, whose true
     per-side drop medians (and lean medians with a trunk) are all at least
     ``CLEAR_MARGIN_DEG`` from the thresholds; a wrong label without a
     classification flag is "confident wrong" (without standing the engine
     flags lean-dependent labels: their upright reference is not observable).
   - First steps: |error| of the drop (and lean) of each session's first
     ``FIRST_STEPS`` paired steps (mean, p95, max): what a calibration that
     starts early costs.
   - ``--delay``: the session streamed again in frames of one sample; the
     largest data time from a step's end IC to the sample that returned it
     (target: ≤ 0.5 s).
4. Print a table per mode with the targets and a row per pattern, or with
   ``--json`` the figures as one JSON object on stdout. Progress goes to
   stderr.
5. ``--placements``: the same sessions again with every trunk sensor at each
   height of ``TRUNK_HEIGHTS_M`` and every sacral sensor at each offset of
   ``SACRUM_OFFSETS_M``: a row per height and mode with the lean figures per
   pattern group (one-sided lean, alternating lean, lean varying step to step)
   and a row per sacral offset and mode with the pelvic drop figures.

A script that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gaitstream.simulate import SimulationConfig, simulate_session
from gaitstream.simulate.truth import DEFAULT_DROP_THRESHOLD_DEG, DEFAULT_LEAN_THRESHOLD_DEG

#: IC matching tolerance of the targets.
IC_TOLERANCE_S = 0.06
#: A session is "clear" when every true median is this far from a threshold.
CLEAR_MARGIN_DEG = 1.5
#: Steps per session in the first-steps figures.
FIRST_STEPS = 10
#: Session length (s) and the rates, axes and patterns drawn from.
SESSION_DURATION_S = 60.0
SAMPLING_RATES_HZ = (60.0, 64.0, 100.0, 120.0, 128.0, 200.0)
AXES_CHOICES = ("x=forward,y=left,z=up", "x=up,y=right,z=forward", "x=left,y=backward,z=up", "x=down,y=left,z=forward")
PATTERNS = (
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "trendelenburg_bilateral",
    "trendelenburg_left_hip_hike",
    "trendelenburg_right_hip_hike",
    "compensated_left",
    "compensated_right",
    "compensated_left_unilateral",
    "compensated_right_unilateral",
    "variable_trendelenburg",
    "variable_compensated_unilateral",
)
#: Clinical ranges (deg) of the drawn per-side values.
NORMAL_DROP_DEG = (1.5, 4.0)
TRENDELENBURG_DROP_DEG = (6.0, 10.0)
COMPENSATED_DROP_DEG = (0.5, 3.0)
HIP_HIKE_DROP_DEG = (-3.0, -1.0)
NORMAL_LEAN_DEG = (1.0, 4.0)
COMPENSATED_LEAN_DEG = (6.0, 10.0)
UPRIGHT_LEAN_DEG = (-0.5, 0.5)
#: Step-to-step SD of drop and lean: usual, and in the variable_* patterns (deg).
JITTER_DEG = (0.2, 0.6)
VARIABLE_JITTER_DEG = (1.0, 2.0)
#: Cadences drawn (steps/min): slow rehabilitation walking to brisk walking.
CADENCE_SPM = (70.0, 125.0)
#: Quiet standing at the start in the "standing" mode (s).
STANDING_S = (3.0, 8.0)
MODES = ("standing", "no_standing")
#: Share of sessions without a trunk sensor (never for the compensated patterns).
NO_TRUNK_SHARE = 0.3
#: Where the sensors sit (GAIT_SPEC "Where sensors sit"), drawn per session (m).
TRUNK_HEIGHT_DRAW_M = (0.0, 0.6)
SACRUM_OFFSET_DRAW_M = (0.05, 0.15)
#: The placements of ``--placements`` (m).
TRUNK_HEIGHTS_M = (0.0, 0.15, 0.3, 0.45, 0.6)
SACRUM_OFFSETS_M = (0.05, 0.10, 0.15)
#: Random stream of the placement draws (from each session's own seed).
STREAM_PLACEMENT = 7
#: Pattern groups of the placement rows: how the trunk leans.
LEAN_GROUPS = {
    "one-sided lean": ("compensated_left_unilateral", "compensated_right_unilateral"),
    "alternating lean": ("compensated_left", "compensated_right"),
    "lean varying step to step": ("variable_compensated_unilateral",),
}
#: Share of sessions with lost packets (gaps of 1-5 samples, as in ipol-L5), and its range (%).
PACKET_LOSS_SHARE = 0.25
PACKET_LOSS_PCT = (0.5, 2.0)
#: Targets (simulated; trunk lean with standing only).
TARGETS = {
    "pelvic_drop_mae_deg": 0.7,
    "pelvic_drop_worst_session_mae_deg": 1.0,
    "side_median_error_deg": 0.5,
    "trunk_lean_mae_deg": 0.7,
    "trunk_lean_worst_side_median_error_deg": 1.0,
    "ic_f1": 0.99,
    "side_correct_pct": 99.0,
    "classification_clear_pct": 100.0,
    "confident_wrong_clear": 0,
    "max_step_delay_s": 0.5,
}


def draw_config(index: int, rng: np.random.Generator) -> tuple[str, SimulationConfig]:
    """1. The index-th random session (pattern cycles with the index), with quiet standing."""
    pattern = PATTERNS[index % len(PATTERNS)]
    u = lambda bounds: float(rng.uniform(*bounds))  # noqa: E731
    drop = {"left": u(NORMAL_DROP_DEG), "right": u(NORMAL_DROP_DEG)}
    lean = {"left": u(NORMAL_LEAN_DEG), "right": u(NORMAL_LEAN_DEG)}
    jitter = VARIABLE_JITTER_DEG if pattern.startswith("variable_") else JITTER_DEG
    # the variable patterns' weak side alternates with the index
    weak = "left" if (index // len(PATTERNS)) % 2 == 0 else "right"
    strong = "right" if weak == "left" else "left"
    for side in ("left", "right"):
        other = "right" if side == "left" else "left"
        if pattern in (f"trendelenburg_{side}", "trendelenburg_bilateral", f"trendelenburg_{side}_hip_hike"):
            drop[side] = u(TRENDELENBURG_DROP_DEG)
        if pattern == f"trendelenburg_{side}_hip_hike":
            drop[other] = u(HIP_HIKE_DROP_DEG)
        if pattern in (f"compensated_{side}", f"compensated_{side}_unilateral"):
            drop[side], lean[side] = u(COMPENSATED_DROP_DEG), u(COMPENSATED_LEAN_DEG)
        if pattern == f"compensated_{side}_unilateral":
            lean[other] = u(UPRIGHT_LEAN_DEG)
    if pattern == "variable_trendelenburg":
        drop[weak] = u(TRENDELENBURG_DROP_DEG)
    if pattern == "variable_compensated_unilateral":
        drop[weak], lean[weak], lean[strong] = u(COMPENSATED_DROP_DEG), u(COMPENSATED_LEAN_DEG), u(UPRIGHT_LEAN_DEG)
    trunk = "compensated" in pattern or rng.uniform() >= NO_TRUNK_SHARE
    config = SimulationConfig(
        duration_s=SESSION_DURATION_S,
        standing_s=u(STANDING_S),
        sampling_rate_hz=float(rng.choice(SAMPLING_RATES_HZ)),
        cadence_spm=u(CADENCE_SPM),
        cadence_cv_pct=u((0.5, 3.0)),
        step_time_asymmetry_pct=u((-8.0, 8.0)),
        pelvic_drop_left_deg=drop["left"],
        pelvic_drop_right_deg=drop["right"],
        pelvic_drop_jitter_deg=u(jitter),
        trunk_lean_left_deg=lean["left"] if trunk else None,
        trunk_lean_right_deg=lean["right"] if trunk else None,
        trunk_lean_jitter_deg=u(jitter),
        first_side=str(rng.choice(["left", "right"])),
        mounting_deg=(u((-20.0, 20.0)), u((0.0, 40.0)), u((-20.0, 20.0))),
        trunk_mounting_deg=(u((-10.0, 10.0)), u((-15.0, 15.0)), u((-10.0, 10.0))),
        axes=str(rng.choice(AXES_CHOICES)),
        acc_noise_mps2=u((0.02, 0.15)),
        gyr_noise_dps=u((0.1, 1.0)),
        gyr_bias_dps=u((0.0, 2.0)),
        heel_strike_acc_mps2=u((2.0, 5.0)),
        step_variability_pct=u((4.0, 12.0)),
        sway_deg=u((0.1, 0.5)),
        packet_loss_pct=u(PACKET_LOSS_PCT) if rng.uniform() < PACKET_LOSS_SHARE else 0.0,
        seed=int(rng.integers(2**31)),
    )
    placement = np.random.default_rng([config.seed, STREAM_PLACEMENT])
    config = config.replace(
        trunk_sensor_height_m=float(placement.uniform(*TRUNK_HEIGHT_DRAW_M)),
        sacrum_offset_m=float(placement.uniform(*SACRUM_OFFSET_DRAW_M)),
    )
    return pattern, config


def match_times(true_s: np.ndarray, found_s: np.ndarray, tolerance_s: float) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (true index, found index), closest first, within tolerance."""
    if true_s.size == 0 or found_s.size == 0:
        return []
    dist = np.abs(true_s[:, None] - found_s[None, :])
    pairs, used_t, used_f = [], set(), set()
    for flat in np.argsort(dist, axis=None):
        i, j = divmod(int(flat), found_s.size)
        if dist[i, j] > tolerance_s:
            break
        if i not in used_t and j not in used_f:
            pairs.append((i, j))
            used_t.add(i)
            used_f.add(j)
    return pairs


def _ics(doc: dict) -> tuple[np.ndarray, np.ndarray]:
    times = doc["initial_contacts"]["left"] + doc["initial_contacts"]["right"]
    sides = ["left"] * len(doc["initial_contacts"]["left"]) + ["right"] * len(doc["initial_contacts"]["right"])
    return np.array(times, dtype=float), np.array(sides)


def score_session(truth: dict, found: dict) -> dict:
    """3. Figures of one session (see the module docstring)."""
    # ICs.
    t_true, s_true = _ics(truth)
    t_found, s_found = _ics(found)
    pairs = match_times(t_true, t_found, IC_TOLERANCE_S)
    tp = len(pairs)
    out = {
        "ic_tp": tp,
        "ic_fp": len(t_found) - tp,
        "ic_fn": len(t_true) - tp,
        "ic_side_correct": sum(s_true[i] == s_found[j] for i, j in pairs),
        "ic_timing_error_s": [float(t_found[j] - t_true[i]) for i, j in pairs],
    }
    # Steps paired by their starting IC.
    true_steps, found_steps = truth["steps"], found["steps"]
    step_pairs = match_times(
        np.array([s["start_s"] for s in true_steps]), np.array([s["start_s"] for s in found_steps]), IC_TOLERANCE_S
    )
    drop_err, lean_err, wrong_side = [], [], 0
    first_drop, first_lean = [], []
    for rank, (i, j) in enumerate(sorted(step_pairs, key=lambda pair: pair[1])):
        a, b = true_steps[i], found_steps[j]
        if a["side"] != b["side"]:
            wrong_side += 1
            continue
        if b["pelvic_drop_deg"] is not None:
            drop_err.append(b["pelvic_drop_deg"] - a["pelvic_drop_deg"])
            if rank < FIRST_STEPS:
                first_drop.append(drop_err[-1])
        if a["trunk_lean_deg"] is not None and b["trunk_lean_deg"] is not None:
            lean_err.append(b["trunk_lean_deg"] - a["trunk_lean_deg"])
            if rank < FIRST_STEPS:
                first_lean.append(lean_err[-1])
    out.update(
        steps_true=len(true_steps),
        steps_paired=len(step_pairs),
        steps_wrong_side=wrong_side,
        drop_error_deg=drop_err,
        lean_error_deg=lean_err,
        first_drop_error_deg=first_drop,
        first_lean_error_deg=first_lean,
    )
    # Per-side medians.
    median_err = []
    for side in ("left", "right"):
        a, b = truth["summary"][side]["pelvic_drop_deg_median"], found["summary"][side]["pelvic_drop_deg_median"]
        median_err.append(abs(b - a) if a is not None and b is not None else float("nan"))
    out["side_median_error_deg"] = median_err
    lean_median_err = []
    for side in ("left", "right"):
        a, b = truth["summary"][side]["trunk_lean_deg_median"], found["summary"][side]["trunk_lean_deg_median"]
        if a is not None and b is not None:
            lean_median_err.append(abs(b - a))
    out["lean_side_median_error_deg"] = lean_median_err
    out["cadence_error_spm"] = abs((found["summary"]["cadence_spm"] or np.nan) - truth["summary"]["cadence_spm"])
    # Classification and clearness.
    values = [truth["summary"][s]["pelvic_drop_deg_median"] - DEFAULT_DROP_THRESHOLD_DEG for s in ("left", "right")]
    if truth["recording"]["trunk"]:
        values += [truth["summary"][s]["trunk_lean_deg_median"] - DEFAULT_LEAN_THRESHOLD_DEG for s in ("left", "right")]
    out["clear"] = bool(min(abs(v) for v in values) >= CLEAR_MARGIN_DEG)
    out["true_class"] = truth["summary"]["classification"]
    out["found_class"] = found["summary"]["classification"]
    out["flags"] = list(found["summary"].get("classification_flags") or [])
    return out


def max_step_delay_s(recording) -> float:
    """Largest data time from a step's end IC to the sample whose push returned it (one-sample frames)."""
    from gaitstream.gait.engine import StreamingGaitEngine

    engine = StreamingGaitEngine(sampling_rate_hz=recording.sampling_rate_hz, trunk=recording.has_trunk)
    t, delays = recording.time_s, []
    for k in range(len(t)):
        trunk = (
            (recording.trunk_acc_mps2[k : k + 1], recording.trunk_gyr_dps[k : k + 1])
            if recording.has_trunk
            else (None, None)
        )
        delays += [
            t[k] - step.end_s
            for step in engine.push(t[k : k + 1], recording.acc_mps2[k : k + 1], recording.gyr_dps[k : k + 1], *trunk)
        ]
        if k % 1000 == 0:
            engine.drain_trace()
    return max(delays) if delays else float("nan")


def run_session(
    index: int, pattern: str, config: SimulationConfig, workdir: Path, delay: bool = False, mode: str = "standing"
) -> dict:
    """2. Simulate, write, load and analyse one session; score it (and its step delay with ``delay``)."""
    from gaitstream.gait.offline import analyze_recording
    from gaitstream.gait.recording import load_recording_csv

    session = simulate_session(config)
    path = session.write_recording_csv(workdir / f"session_{index:03d}.csv")
    try:
        recording = load_recording_csv(path, axes=config.axes)
        found = analyze_recording(recording)
    except Exception as exc:  # a failed analysis is a benchmark figure, not a crash
        return {"index": index, "pattern": pattern, "mode": mode, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        path.unlink(missing_ok=True)
    scored = score_session(session.truth, found)
    scored["max_step_delay_s"] = max_step_delay_s(recording) if delay else float("nan")
    scored.update(
        index=index,
        pattern=pattern,
        mode=mode,
        sampling_rate_hz=config.sampling_rate_hz,
        mounting_deg=list(config.mounting_deg),
        standing_s=config.standing_s,
        trunk=config.has_trunk,
    )
    return scored


def _mae(errors: list[float]) -> float:
    return float(np.mean(np.abs(errors))) if errors else float("nan")


def aggregate(results: list[dict]) -> dict:
    """Pool the per-session figures into the benchmark's figures."""
    ok = [r for r in results if "error" not in r]
    drop = [e for r in ok for e in r["drop_error_deg"]]
    lean = [e for r in ok for e in r["lean_error_deg"]]
    tp, fp, fn = (sum(r[k] for r in ok) for k in ("ic_tp", "ic_fp", "ic_fn"))
    side_medians = [e for r in ok for e in r["side_median_error_deg"] if np.isfinite(e)]
    session_mae = [(_mae(r["drop_error_deg"]), r["index"]) for r in ok if r["drop_error_deg"]]
    clear = [r for r in ok if r["clear"]]
    timing = [e for r in ok for e in r["ic_timing_error_s"]]
    first_drop = np.abs([e for r in ok for e in r["first_drop_error_deg"]])
    first_lean = np.abs([e for r in ok for e in r["first_lean_error_deg"]])
    delays = [r["max_step_delay_s"] for r in ok if np.isfinite(r["max_step_delay_s"])]
    figures = {
        "sessions": len(results),
        "sessions_failed": len(results) - len(ok),
        "failures": [
            {"index": r["index"], "pattern": r["pattern"], "error": r["error"]} for r in results if "error" in r
        ],
        "pelvic_drop_mae_deg": _mae(drop),
        "pelvic_drop_bias_deg": float(np.mean(drop)) if drop else float("nan"),
        "pelvic_drop_worst_session_mae_deg": max(session_mae)[0] if session_mae else float("nan"),
        "pelvic_drop_worst_session_index": max(session_mae)[1] if session_mae else None,
        "side_median_error_deg": float(np.mean(side_medians)) if side_medians else float("nan"),
        "side_median_error_max_deg": float(np.max(side_medians)) if side_medians else float("nan"),
        "trunk_lean_mae_deg": _mae(lean),
        "trunk_lean_worst_side_median_error_deg": max(
            (e for r in ok for e in r["lean_side_median_error_deg"]), default=float("nan")
        ),
        "trunk_lean_bias_deg": float(np.mean(lean)) if lean else float("nan"),
        "ic_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
        "ic_precision": tp / (tp + fp) if tp + fp else float("nan"),
        "ic_recall": tp / (tp + fn) if tp + fn else float("nan"),
        "ic_timing_mean_error_ms": 1000 * float(np.mean(timing)) if timing else float("nan"),
        "ic_timing_mae_ms": 1000 * _mae(timing),
        "side_correct_pct": 100.0 * sum(r["ic_side_correct"] for r in ok) / tp if tp else float("nan"),
        "steps_paired_pct": 100.0 * sum(r["steps_paired"] for r in ok) / max(sum(r["steps_true"] for r in ok), 1),
        "cadence_mae_spm": float(np.nanmean([r["cadence_error_spm"] for r in ok])) if ok else float("nan"),
        "classification_pct": 100.0 * np.mean([r["true_class"] == r["found_class"] for r in ok])
        if ok
        else float("nan"),
        "classification_clear_pct": 100.0 * np.mean([r["true_class"] == r["found_class"] for r in clear])
        if clear
        else float("nan"),
        "clear_sessions": len(clear),
        "flagged": sum(bool(r["flags"]) for r in ok),
        "confident_wrong": sum(r["true_class"] != r["found_class"] and not r["flags"] for r in ok),
        "confident_wrong_clear": sum(r["true_class"] != r["found_class"] and not r["flags"] for r in clear),
        "first_steps_drop_error_mean_deg": float(first_drop.mean()) if first_drop.size else float("nan"),
        "first_steps_drop_error_p95_deg": float(np.percentile(first_drop, 95)) if first_drop.size else float("nan"),
        "first_steps_drop_error_max_deg": float(first_drop.max()) if first_drop.size else float("nan"),
        "first_steps_lean_error_mean_deg": float(first_lean.mean()) if first_lean.size else float("nan"),
        "first_steps_lean_error_max_deg": float(first_lean.max()) if first_lean.size else float("nan"),
        "max_step_delay_s": max(delays) if delays else float("nan"),
        "misclassified": [
            {
                "index": r["index"],
                "pattern": r["pattern"],
                "true": r["true_class"],
                "found": r["found_class"],
                "clear": r["clear"],
                "flags": r["flags"],
            }
            for r in ok
            if r["true_class"] != r["found_class"]
        ],
    }
    figures["per_session"] = [
        {
            "index": r["index"],
            "pattern": r["pattern"],
            "sampling_rate_hz": r["sampling_rate_hz"],
            "mounting_deg": [round(a, 1) for a in r["mounting_deg"]],
            "standing_s": round(r["standing_s"], 1),
            "trunk": r["trunk"],
            "pelvic_drop_mae_deg": _mae(r["drop_error_deg"]),
            "pelvic_drop_bias_deg": float(np.mean(r["drop_error_deg"])) if r["drop_error_deg"] else float("nan"),
            "trunk_lean_mae_deg": _mae(r["lean_error_deg"]),
            "ic_tp_fp_fn": [r["ic_tp"], r["ic_fp"], r["ic_fn"]],
            "true_class": r["true_class"],
            "found_class": r["found_class"],
            "clear": r["clear"],
        }
        for r in ok
    ]
    figures["per_pattern"] = {}
    for pattern in PATTERNS:
        mine = [r for r in ok if r["pattern"] == pattern]
        mine_clear = [r for r in mine if r["clear"]]
        lean_medians = [e for r in mine for e in r["lean_side_median_error_deg"]]
        figures["per_pattern"][pattern] = {
            "sessions": len(mine),
            "pelvic_drop_mae_deg": _mae([e for r in mine for e in r["drop_error_deg"]]),
            "trunk_lean_mae_deg": _mae([e for r in mine for e in r["lean_error_deg"]]),
            "trunk_lean_worst_side_median_error_deg": max(lean_medians, default=float("nan")),
            "classification_pct": 100.0 * np.mean([r["true_class"] == r["found_class"] for r in mine])
            if mine
            else float("nan"),
            "clear_sessions": len(mine_clear),
            "classification_clear_pct": (
                100.0 * np.mean([r["true_class"] == r["found_class"] for r in mine_clear])
                if mine_clear
                else float("nan")
            ),
            "flagged": sum(bool(r["flags"]) for r in mine),
            "confident_wrong": sum(r["true_class"] != r["found_class"] and not r["flags"] for r in mine),
        }
    return figures


def placement_figures(results: list[dict]) -> dict:
    """5. Figures of one placement run: lean per pattern group, drop, classification."""
    ok = [r for r in results if "error" not in r]
    compensated_clear = [r for r in ok if r["clear"] and "compensated" in r["true_class"]]
    out = {
        "sessions": len(results),
        "sessions_failed": len(results) - len(ok),
        "trunk_lean_mae_deg": _mae([e for r in ok for e in r["lean_error_deg"]]),
        "trunk_lean_worst_side_median_error_deg": max(
            (e for r in ok for e in r["lean_side_median_error_deg"]), default=float("nan")
        ),
        "pelvic_drop_mae_deg": _mae([e for r in ok for e in r["drop_error_deg"]]),
        "pelvic_drop_worst_session_mae_deg": max(
            (_mae(r["drop_error_deg"]) for r in ok if r["drop_error_deg"]), default=float("nan")
        ),
        "side_median_error_deg": float(np.nanmean([e for r in ok for e in r["side_median_error_deg"]]))
        if ok
        else float("nan"),
        "compensated_clear": len(compensated_clear),
        "compensated_clear_right": sum(r["true_class"] == r["found_class"] for r in compensated_clear),
        "confident_wrong": sum(r["true_class"] != r["found_class"] and not r["flags"] for r in ok),
    }
    tp, fp, fn = (sum(r[k] for r in ok) for k in ("ic_tp", "ic_fp", "ic_fn"))
    out["ic_f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    out["side_correct_pct"] = 100.0 * sum(r["ic_side_correct"] for r in ok) / tp if tp else float("nan")
    for group, patterns in LEAN_GROUPS.items():
        mine = [r for r in ok if r["pattern"] in patterns]
        out[f"{group} lean MAE"] = _mae([e for r in mine for e in r["lean_error_deg"]])
        out[f"{group} worst median error"] = max(
            (e for r in mine for e in r["lean_side_median_error_deg"]), default=float("nan")
        )
    return out


def print_placements(placements: dict, console: Console) -> None:
    """5. A row per trunk sensor height and mode, and per sacral offset and mode."""
    table = Table(title="Trunk lean by the trunk sensor's height above the lumbar pivot (all sessions with a trunk)")
    columns = ["height", "mode", "lean MAE", "worst side median err"]
    for group in LEAN_GROUPS:
        columns += [f"{group}: MAE / worst median"]
    columns += ["clear compensated right", "confident wrong"]
    for column in columns:
        table.add_column(column)
    for (height, mode), f in placements["trunk"].items():
        worst = f["trunk_lean_worst_side_median_error_deg"]
        row = [f"{height:.2f} m", mode, _fmt(f["trunk_lean_mae_deg"]), _fmt(worst)]
        row += [f"{_fmt(f[f'{group} lean MAE'])} / {_fmt(f[f'{group} worst median error'])}" for group in LEAN_GROUPS]
        row += [f"{f['compensated_clear_right']}/{f['compensated_clear']}", str(f["confident_wrong"])]
        table.add_row(*row)
    console.print(table)
    table = Table(title="Pelvic drop by the sacral sensor's offset behind the hip axis")
    for column in ("offset", "mode", "drop MAE", "worst session MAE", "side median err", "IC F1", "side correct %"):
        table.add_column(column)
    for (offset, mode), f in placements["sacrum"].items():
        table.add_row(
            f"{offset:.2f} m",
            mode,
            _fmt(f["pelvic_drop_mae_deg"]),
            _fmt(f["pelvic_drop_worst_session_mae_deg"]),
            _fmt(f["side_median_error_deg"]),
            _fmt(f["ic_f1"]),
            _fmt(f["side_correct_pct"]),
        )
    console.print(table)


def _fmt(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}{unit}"


def print_tables(figures: dict, console: Console, title: str = "") -> None:
    """4. The figures as rich tables, with their targets."""
    table = Table(
        title=f"Simulated accuracy{title} over {figures['sessions']} sessions "
        f"(IC tolerance {IC_TOLERANCE_S * 1000:.0f} ms)"
    )
    for column in ("figure", "value", "target", "met"):
        table.add_column(column)
    rows = [
        ("per-step pelvic drop MAE (deg)", "pelvic_drop_mae_deg", "<="),
        ("worst-session pelvic drop MAE (deg)", "pelvic_drop_worst_session_mae_deg", "<="),
        ("per-side median drop error, mean (deg)", "side_median_error_deg", "<="),
        ("per-side median drop error, max (deg)", "side_median_error_max_deg", None),
        ("per-step pelvic drop bias (deg)", "pelvic_drop_bias_deg", None),
        ("per-step trunk lean MAE (deg)", "trunk_lean_mae_deg", "<="),
        ("worst per-side trunk lean median error (deg)", "trunk_lean_worst_side_median_error_deg", "<="),
        ("trunk lean bias (deg)", "trunk_lean_bias_deg", None),
        ("IC F1", "ic_f1", ">="),
        ("IC precision", "ic_precision", None),
        ("IC recall", "ic_recall", None),
        ("IC timing mean error (ms, found - true)", "ic_timing_mean_error_ms", None),
        ("IC timing MAE (ms)", "ic_timing_mae_ms", None),
        ("side correct (% of matched ICs)", "side_correct_pct", ">="),
        ("true steps paired (%)", "steps_paired_pct", None),
        ("cadence MAE (spm)", "cadence_mae_spm", None),
        ("classification correct, all (%)", "classification_pct", None),
        (
            f"classification correct, clear sessions (n={figures['clear_sessions']}, margin {CLEAR_MARGIN_DEG}°) (%)",
            "classification_clear_pct",
            ">=",
        ),
        ("sessions flagged (lean reference not observable)", "flagged", None),
        ("confident wrong class (wrong, not flagged), all", "confident_wrong", None),
        ("confident wrong class, clear sessions", "confident_wrong_clear", "<="),
        (f"first {FIRST_STEPS} steps per session: drop |error| mean (deg)", "first_steps_drop_error_mean_deg", None),
        (f"first {FIRST_STEPS} steps per session: drop |error| p95 (deg)", "first_steps_drop_error_p95_deg", None),
        (f"first {FIRST_STEPS} steps per session: drop |error| max (deg)", "first_steps_drop_error_max_deg", None),
        (f"first {FIRST_STEPS} steps per session: lean |error| mean (deg)", "first_steps_lean_error_mean_deg", None),
        (f"first {FIRST_STEPS} steps per session: lean |error| max (deg)", "first_steps_lean_error_max_deg", None),
        ("max step delay, one-sample frames (s; --delay)", "max_step_delay_s", "<="),
    ]
    lean_targets = ("trunk_lean_mae_deg", "trunk_lean_worst_side_median_error_deg")
    for label, key, op in rows:
        target = TARGETS.get(key)
        if "no standing" in title and key in lean_targets:
            target, op = None, None  # without standing: measured and reported only, no target
        value = figures[key]
        met = ""
        if op and target is not None and np.isfinite(value):
            met = "yes" if (value <= target if op == "<=" else value >= target) else "NO"
        table.add_row(
            label,
            _fmt(value) if isinstance(value, float) else str(value),
            "" if target is None else f"{op} {target}",
            met,
        )
    console.print(table)
    per = Table(title=f"Per pattern{title}")
    for column in (
        "pattern",
        "sessions",
        "drop MAE",
        "lean MAE",
        "worst lean median err",
        "class. all %",
        "class. clear % (n)",
        "flagged",
        "confident wrong",
    ):
        per.add_column(column)
    for pattern, f in figures["per_pattern"].items():
        per.add_row(
            pattern,
            str(f["sessions"]),
            _fmt(f["pelvic_drop_mae_deg"]),
            _fmt(f["trunk_lean_mae_deg"]),
            _fmt(f["trunk_lean_worst_side_median_error_deg"]),
            _fmt(f["classification_pct"]),
            f"{_fmt(f['classification_clear_pct'])} ({f['clear_sessions']})",
            str(f["flagged"]),
            str(f["confident_wrong"]),
        )
    console.print(per)
    worst = sorted(figures["per_session"], key=lambda r: -r["pelvic_drop_mae_deg"])[:5]
    console.print(
        "worst sessions by drop MAE: "
        + "; ".join(
            f"#{r['index']} {r['pattern']} {r['sampling_rate_hz']:.0f} Hz standing {r['standing_s']} s "
            f"MAE {r['pelvic_drop_mae_deg']:.2f} bias {r['pelvic_drop_bias_deg']:+.2f}"
            for r in worst
        )
    )
    if figures["misclassified"]:
        console.print(
            "misclassified: "
            + ", ".join(
                f"#{m['index']} {m['true']}->{m['found']}{' (clear)' if m['clear'] else ''}"
                f"{' (flagged: ' + ','.join(m['flags']) + ')' if m['flags'] else ''}"
                for m in figures["misclassified"]
            )
        )
    if figures["failures"]:
        console.print(
            "failed: " + "; ".join(f"#{f['index']} {f['pattern']}: {f['error']}" for f in figures["failures"])
        )


def _json_ready(value: object) -> object:
    """Strict JSON: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60, help="number of random sessions per mode (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the session draws (default 0)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout instead of tables")
    parser.add_argument(
        "--mode",
        choices=("both", *MODES),
        default="both",
        help="run each session with quiet standing, without, or both (default)",
    )
    parser.add_argument("--no-standing", action="store_true", help="same as --mode no_standing")
    parser.add_argument(
        "--placements",
        action="store_true",
        help="also run every session with each trunk sensor height and sacral offset (5 + 3 more runs per mode)",
    )
    parser.add_argument(
        "--delay",
        action="store_true",
        help="also stream each session in one-sample frames and report the largest step delay (slower)",
    )
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    modes = ("no_standing",) if args.no_standing else MODES if args.mode == "both" else (args.mode,)
    rng = np.random.default_rng(args.seed)
    drawn = [draw_config(i, rng) for i in range(args.sessions)]
    results: dict[str, list[dict]] = {mode: [] for mode in modes}
    with (
        tempfile.TemporaryDirectory(prefix="gait_accuracy_") as tmp,
        Progress(console=Console(stderr=True), transient=True) as progress,
    ):
        task = progress.add_task("sessions", total=len(drawn) * len(modes))
        for index, (pattern, config) in enumerate(drawn):
            for mode in modes:
                run_config = config if mode == "standing" else dataclasses.replace(config, standing_s=0.0)
                results[mode].append(run_session(index, pattern, run_config, Path(tmp), delay=args.delay, mode=mode))
                progress.advance(task)
    figures = {mode: aggregate(found) for mode, found in results.items()}
    placements = run_placements(drawn, modes) if args.placements else None
    if args.json:
        out = {"seed": args.seed, **figures}
        if placements is not None:
            out["placements"] = {
                part: [{"placement_m": key[0], "mode": key[1], **value} for key, value in rows.items()]
                for part, rows in placements.items()
            }
        print(json.dumps(_json_ready(out), indent=1))
    else:
        console = Console(width=160)
        for mode, mode_figures in figures.items():
            print_tables(
                mode_figures, console, title=" with quiet standing" if mode == "standing" else " with no standing"
            )
        if placements is not None:
            print_placements(placements, console)
    return 0


def run_placements(drawn: list[tuple[str, SimulationConfig]], modes: tuple[str, ...]) -> dict:
    """5. Every session again at each trunk height (sessions with a trunk) and each sacral offset."""
    runs = [("trunk", h) for h in TRUNK_HEIGHTS_M] + [("sacrum", o) for o in SACRUM_OFFSETS_M]
    out: dict[str, dict] = {"trunk": {}, "sacrum": {}}
    with (
        tempfile.TemporaryDirectory(prefix="gait_accuracy_") as tmp,
        Progress(console=Console(stderr=True), transient=True) as progress,
    ):
        task = progress.add_task("placements", total=len(drawn) * len(modes) * len(runs))
        for part, value in runs:
            for mode in modes:
                found = []
                for index, (pattern, config) in enumerate(drawn):
                    progress.advance(task)
                    if part == "trunk" and not config.has_trunk:
                        continue
                    change = {"trunk_sensor_height_m" if part == "trunk" else "sacrum_offset_m": value}
                    if mode == "no_standing":
                        change["standing_s"] = 0.0
                    found.append(run_session(index, pattern, config.replace(**change), Path(tmp), mode=mode))
                out[part][(value, mode)] = placement_figures(found)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
