"""Corrupted samples against the gait engine: what each kind of corruption costs.

Run: ``.venv/bin/python benchmarks/gait_corruption.py [--sessions 3] [--at-s 20] [--json]``

1. Simulate ``--sessions`` clean walks (100 s at 100 Hz, 5 s of quiet standing;
   patterns normal without a trunk sensor, Trendelenburg left and one-sided
   compensated Trendelenburg with one) and analyse each once, clean.
2. For every case below, corrupt a copy of the recording starting at ``--at-s``,
   write it as a recording CSV, load it with ``load_recording_csv`` and run
   ``analyze_recording`` with the trace (what ``gaitstream analyze`` does):
   - single spikes of 1e3 ... 3.4e38 (float32's largest) and -1e30 on each axis
     of each sensor;
   - NaN, +inf and -inf bursts of 0.1-2 s on every axis of the pelvis sensor,
     and NaN on one axis;
   - a stuck axis (the value at the start held) for 2 and 10 s;
   - uniform noise of ±2000 °/s on the gyroscope for 0.1-2 s (all axes, one axis);
   - duplicated timestamps (1 s of rows sent twice; 1 s of rows whose time
     repeats the previous one with new values), backwards timestamps (10 rows
     set 0.5 s back; 10 adjacent pairs swapped), a single time 1000 s ahead,
     a time jump (every later time +5 s).
3. Score against the clean analysis of the same walk: steps lost beyond those
   overlapping the corrupted span ± ``EXCUSED_S`` (a clean step is found when
   the corrupted run has a step of the same side starting within
   ``MATCH_TOLERANCE_S``; after a time jump, later times are compared shifted
   back); the largest change of a per-side median (pelvic drop, trunk lean);
   whether every output value is finite; the corrupt samples the engine
   reported; and the largest |obliquity difference| from ``EXCUSED_S`` to
   ``EXCUSED_S`` + 2 s after the span (how well the filter recovered).
4. Print one row per case with the worst of the sessions (targets: no step
   lost beyond the span ± 2 s, medians move <= 0.3°, all finite), or with
   ``--json`` every figure.

A script that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gaitstream.simulate import SimulatedSession, pattern_config, simulate_session

#: Steps overlapping the corrupted span widened by this much on each side may be lost.
EXCUSED_S = 2.0
#: A clean step is found when a step of the same side starts this close to it.
MATCH_TOLERANCE_S = 0.06
#: Targets.
MAX_MEDIAN_CHANGE_DEG = 0.3
SESSION_DURATION_S = 100.0
SESSIONS = (("normal", False), ("trendelenburg_left", True), ("compensated_left_unilateral", True))
SPIKE_VALUES = (1e3, 1e4, 1e5, 1e6, 1e10, 1e20, 1e30, 3.4e38, -1e30)
BURST_S = (0.1, 0.5, 1.0, 2.0)
AXES = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
GYRO_NOISE_DPS = 2000.0
TIME_JUMP_S = 5.0

Columns = dict[str, np.ndarray]
#: A case: name -> function(columns, start index, sampling rate, rng) -> (corrupted columns, span start s, span end s)
Case = Callable[[Columns, int, float, np.random.Generator], tuple[Columns, float, float]]


def _copy(columns: Columns) -> Columns:
    return {k: v.copy() for k, v in columns.items()}


def spike(axis: str, value: float) -> Case:
    def corrupt(columns, i, fs, rng):
        out = _copy(columns)
        out[axis][i] = value
        return out, out["time_s"][i], out["time_s"][i]

    return corrupt


def burst(axes: tuple[str, ...], value: float, duration_s: float) -> Case:
    def corrupt(columns, i, fs, rng):
        out = _copy(columns)
        j = i + max(1, int(round(duration_s * fs)))
        for axis in axes:
            out[axis][i:j] = value
        return out, out["time_s"][i], out["time_s"][j - 1]

    return corrupt


def stuck(axis: str, duration_s: float) -> Case:
    def corrupt(columns, i, fs, rng):
        out = _copy(columns)
        j = i + int(round(duration_s * fs))
        out[axis][i:j] = out[axis][i]
        return out, out["time_s"][i], out["time_s"][j - 1]

    return corrupt


def gyro_noise(axes: tuple[str, ...], duration_s: float) -> Case:
    def corrupt(columns, i, fs, rng):
        out = _copy(columns)
        j = i + int(round(duration_s * fs))
        for axis in axes:
            out[axis][i:j] = rng.uniform(-GYRO_NOISE_DPS, GYRO_NOISE_DPS, j - i)
        return out, out["time_s"][i], out["time_s"][j - 1]

    return corrupt


def rows_sent_twice(columns, i, fs, rng):
    j = i + int(round(fs))
    order = np.concatenate([np.arange(i), np.repeat(np.arange(i, j), 2), np.arange(j, len(columns["time_s"]))])
    return {k: v[order] for k, v in columns.items()}, columns["time_s"][i], columns["time_s"][j - 1]


def repeated_times(columns, i, fs, rng):
    out = _copy(columns)
    j = i + int(round(fs))
    out["time_s"][i + 1 : j : 2] = out["time_s"][i : j - 1 : 2]
    return out, out["time_s"][i], out["time_s"][j - 1]


def backwards_rows(columns, i, fs, rng):
    out = _copy(columns)
    rows = i + np.sort(rng.choice(int(2 * fs), 10, replace=False))
    out["time_s"][rows] -= 0.5
    return out, columns["time_s"][rows[0]], columns["time_s"][rows[-1]]


def swapped_pairs(columns, i, fs, rng):
    out = _copy(columns)
    rows = i + 4 * np.arange(10)
    for k in rows:
        out["time_s"][[k, k + 1]] = out["time_s"][[k + 1, k]]
    return out, columns["time_s"][rows[0]], columns["time_s"][rows[-1] + 1]


def time_ahead(columns, i, fs, rng):
    out = _copy(columns)
    out["time_s"][i] += 1000.0
    return out, columns["time_s"][i], columns["time_s"][i]


def time_jump(columns, i, fs, rng):
    out = _copy(columns)
    out["time_s"][i:] += TIME_JUMP_S
    return out, columns["time_s"][i], columns["time_s"][i]


def cases(trunk: bool) -> dict[str, Case]:
    """Every case of the module docstring (trunk axes only with a trunk sensor)."""
    out: dict[str, Case] = {}
    for axis in AXES + (tuple(f"trunk_{a}" for a in AXES) if trunk else ()):
        for value in SPIKE_VALUES:
            out[f"spike {axis} {value:.1e}"] = spike(axis, value)
    for value, label in ((math.nan, "nan"), (math.inf, "+inf"), (-math.inf, "-inf")):
        for duration in BURST_S:
            out[f"{label} burst pelvis {duration:g} s"] = burst(AXES, value, duration)
    out["nan burst gyr_y 1 s"] = burst(("gyr_y",), math.nan, 1.0)
    for axis in ("gyr_x", "acc_y") + (("trunk_gyr_z",) if trunk else ()):
        for duration in (2.0, 10.0):
            out[f"stuck {axis} {duration:g} s"] = stuck(axis, duration)
    for duration in BURST_S:
        out[f"gyro noise ±2000 pelvis {duration:g} s"] = gyro_noise(("gyr_x", "gyr_y", "gyr_z"), duration)
    out["gyro noise ±2000 gyr_y 1 s"] = gyro_noise(("gyr_y",), 1.0)
    if trunk:
        out["gyro noise ±2000 trunk 1 s"] = gyro_noise(("trunk_gyr_x", "trunk_gyr_y", "trunk_gyr_z"), 1.0)
    out["duplicated rows 1 s"] = rows_sent_twice
    out["repeated times, new values 1 s"] = repeated_times
    out["backwards times (10 rows -0.5 s)"] = backwards_rows
    out["swapped time pairs (10)"] = swapped_pairs
    out["one time 1000 s ahead"] = time_ahead
    out[f"time jump +{TIME_JUMP_S:g} s"] = time_jump
    return out


def analyse(columns: Columns, workdir: Path) -> dict:
    """Write, load and analyse like ``gaitstream analyze`` (with the trace)."""
    from gaitstream.gait.offline import analyze_recording
    from gaitstream.gait.recording import load_recording_csv

    names = list(columns)
    path = workdir / "corrupted.csv"
    table = np.column_stack([columns[n] for n in names])
    np.savetxt(path, table, delimiter=",", header=",".join(names), comments="", fmt="%.9g")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return analyze_recording(load_recording_csv(path), trace=True)
    finally:
        path.unlink(missing_ok=True)


def _all_finite(result: dict) -> bool:
    values = [s[k] for s in result["steps"] for k in ("pelvic_drop_deg", "trunk_lean_deg", "start_s", "end_s")]
    values += [x for x in result["trace"]["pelvic_obliquity_deg"]]
    values += [x for x in (result["trace"]["trunk_lateral_lean_deg"] or [])]
    # the JSON writer turns NaN into None: a None where a trunk lean exists is a non-finite output
    trunk = result["recording"]["trunk"]
    return all(v is not None and math.isfinite(v) for v in values if v is not None or trunk)


def score(clean: dict, corrupted: dict, span: tuple[float, float], shift_after_s: float | None) -> dict:
    """3. Figures of one corrupted analysis against the clean one."""
    lo, hi = span[0] - EXCUSED_S, span[1] + EXCUSED_S
    found = {"left": [], "right": []}
    for step in corrupted["steps"]:
        start = step["start_s"]
        if shift_after_s is not None and start >= shift_after_s + TIME_JUMP_S - 1e-6:
            start -= TIME_JUMP_S
        found[step["side"]].append(start)
    expected = [s for s in clean["steps"] if s["end_s"] < lo or s["start_s"] > hi]
    lost = sum(not any(abs(t - s["start_s"]) <= MATCH_TOLERANCE_S for t in found[s["side"]]) for s in expected)
    changes = []
    for side in ("left", "right"):
        for key in ("pelvic_drop_deg_median", "trunk_lean_deg_median"):
            a, b = clean["summary"][side][key], corrupted["summary"][side][key]
            if a is not None:
                changes.append(abs(b - a) if b is not None else math.inf)
    t_clean = np.array(clean["trace"]["time_s"], dtype=float)
    phi_clean = np.array(clean["trace"]["pelvic_obliquity_deg"], dtype=float)
    t_bad = np.array(corrupted["trace"]["time_s"], dtype=float)
    if shift_after_s is not None:
        t_bad = np.where(t_bad >= shift_after_s + TIME_JUMP_S - 1e-6, t_bad - TIME_JUMP_S, t_bad)
    phi_bad = np.array([math.nan if v is None else v for v in corrupted["trace"]["pelvic_obliquity_deg"]])
    window = (t_clean >= span[1] + EXCUSED_S) & (t_clean <= span[1] + EXCUSED_S + 2.0)
    idx = np.searchsorted(t_bad, t_clean[window])
    ok = (idx < len(t_bad)) & (np.abs(t_bad[np.minimum(idx, len(t_bad) - 1)] - t_clean[window]) < 1e-3)
    recovery = float(np.nanmax(np.abs(phi_bad[idx[ok]] - phi_clean[window][ok]))) if ok.any() else math.nan
    return {
        "steps_expected": len(expected),
        "steps_lost": int(lost),
        "median_change_deg": max(changes),
        "finite": _all_finite(corrupted),
        "rejected_samples": corrupted["recording"]["rejected_samples"],
        "steps_clean": len(clean["steps"]),
        "steps_found": len(corrupted["steps"]),
        "obliquity_error_after_deg": recovery,
    }


def run(sessions: int, at_s: float, progress: Progress | None = None) -> dict[str, list[dict]]:
    """1.-3. for every session and case; results per case name."""
    results: dict[str, list[dict]] = {}
    rng = np.random.default_rng(13)
    with tempfile.TemporaryDirectory(prefix="gait_corruption_") as tmp:
        for k in range(sessions):
            pattern, trunk = SESSIONS[k % len(SESSIONS)]
            session: SimulatedSession = simulate_session(
                pattern_config(
                    pattern,
                    trunk=trunk,
                    duration_s=SESSION_DURATION_S,
                    standing_s=5.0,
                    seed=100 + k,
                    mounting_deg=(5.0, 25.0, -5.0),
                    gyr_bias_dps=0.5,
                )
            )
            columns = session.recording_columns
            fs = session.config.sampling_rate_hz
            clean = analyse(columns, Path(tmp))
            start = int(np.searchsorted(columns["time_s"], at_s))
            todo = cases(trunk)
            task = progress.add_task(f"session {k + 1}/{sessions} ({pattern})", total=len(todo)) if progress else None
            for name, corrupt in todo.items():
                bad, span_lo, span_hi = corrupt(columns, start, fs, rng)
                try:
                    found = analyse(bad, Path(tmp))
                    scored = score(clean, found, (span_lo, span_hi), at_s if name.startswith("time jump") else None)
                except Exception as exc:  # a failed analysis is a figure, not a crash
                    scored = {"error": f"{type(exc).__name__}: {exc}"}
                results.setdefault(name, []).append({"session": pattern, **scored})
                if progress:
                    progress.advance(task)
    return results


def summarise(results: dict[str, list[dict]]) -> dict[str, dict]:
    """4. The worst session of each case."""
    out = {}
    for name, rows in results.items():
        errors = [r["error"] for r in rows if "error" in r]
        ok = [r for r in rows if "error" not in r]
        out[name] = {
            "sessions": len(rows),
            "errors": errors,
            "steps_lost": max((r["steps_lost"] for r in ok), default=None),
            "steps_expected": min((r["steps_expected"] for r in ok), default=None),
            "median_change_deg": max((r["median_change_deg"] for r in ok), default=None),
            "finite": all(r["finite"] for r in ok) and not errors,
            "rejected_samples": [r["rejected_samples"] for r in ok],
            "obliquity_error_after_deg": max(
                (r["obliquity_error_after_deg"] for r in ok if math.isfinite(r["obliquity_error_after_deg"])),
                default=math.nan,
            ),
        }
        out[name]["met"] = bool(
            not errors
            and out[name]["steps_lost"] == 0
            and out[name]["finite"]
            and out[name]["median_change_deg"] <= MAX_MEDIAN_CHANGE_DEG
        )
    return out


def print_table(summary: dict[str, dict], console: Console) -> None:
    table = Table(
        title=f"Corrupted samples: worst of the sessions per case (steps lost beyond the span ± {EXCUSED_S:g} s, "
        f"median change <= {MAX_MEDIAN_CHANGE_DEG}°)"
    )
    for column in (
        "case",
        "steps lost",
        "max median change (deg)",
        "finite",
        "rejected samples",
        f"|Δ obliquity| {EXCUSED_S:g}-{EXCUSED_S + 2:g} s after (deg)",
        "met",
    ):
        table.add_column(column)
    for name, s in summary.items():
        if s["errors"]:
            table.add_row(name, "error", "", "", "", "", "NO: " + s["errors"][0][:60])
            continue
        table.add_row(
            name,
            f"{s['steps_lost']} of {s['steps_expected']}",
            f"{s['median_change_deg']:.3f}",
            "yes" if s["finite"] else "NO",
            ",".join(str(x) for x in s["rejected_samples"]),
            f"{s['obliquity_error_after_deg']:.2f}",
            "yes" if s["met"] else "NO",
        )
    console.print(table)
    met = sum(s["met"] for s in summary.values())
    console.print(f"cases meeting every target: {met} of {len(summary)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3, help="clean walks to corrupt (default 3)")
    parser.add_argument("--at-s", type=float, default=20.0, help="where the corruption starts (default 20 s)")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON on stdout")
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    if not 6.0 <= args.at_s <= SESSION_DURATION_S - 15.0:
        parser.error(f"--at-s must be within 6..{SESSION_DURATION_S - 15.0:g} (walking, room after the span)")
    with Progress(console=Console(stderr=True), transient=True) as progress:
        results = run(args.sessions, args.at_s, progress)
    summary = summarise(results)
    if args.json:
        print(
            json.dumps(
                {"at_s": args.at_s, "summary": summary, "per_session": results},
                default=lambda v: None,
                allow_nan=False if False else True,
            )
        )
    else:
        print_table(summary, Console(width=170))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
