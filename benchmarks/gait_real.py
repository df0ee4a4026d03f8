"""Real-data accuracy of IC detection and left/right, ours vs mobgap (a script that prints tables).

Run: ``.venv/bin/python benchmarks/gait_real.py [--no-mobgap]``
(simulated accuracy: ``benchmarks/gait_accuracy.py``)

- mobgap-HA001 (optical reference, Stereophoto, level "wb"): per recording, IC
  F1 at 100 ms tolerance inside the reference walking bouts, share of matched
  ICs with the right side, mean (signed) and mean absolute IC timing error.
  Ours runs on the whole recording; mobgap's IcdIonescu + LrcMcCamley run on
  each reference walking bout (how mobgap's pipeline feeds them), in a separate
  virtual environment (see ``gait_speed.py``: ``mobgap_python()``). The
  second reference system, INDIP (a multi-sensor wearable system), is scored
  against Stereophoto the same way: how far two reference systems agree bounds
  what any detector can show against either (events.py Notes).
- ipol-L5 (foot-IMU reference ICs, 100 Hz, packet gaps): per trial straight
  walking only (walking bounds minus the U-turn); the trial's median offset is
  removed before matching at 100 ms; detection rate (recall), precision, side
  correct, stride time mean absolute error.

Data: ``$GAITSTREAM_SHARED_DATA`` or ``<repo>/../shared/data``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.gait_speed import mobgap_python
from gaitstream.gait.offline import analyze_recording
from gaitstream.gait.recording import load_recording_csv

TOLERANCE_S = 0.1
IPOL_COARSE_TOLERANCE_S = 0.15
MOBGAP_PAD_S = 1.0

MOBGAP_RUNNER = r"""
import json, sys, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
from mobgap.initial_contacts import IcdIonescu
from mobgap.laterality import LrcMcCamley
jobs = json.load(sys.stdin)
out = []
for job in jobs:
    df = pd.read_csv(job["path"])
    fs = job["sampling_rate_hz"]
    ics = []
    for start_s, end_s in job["segments"]:
        seg = df[(df.time_s >= start_s) & (df.time_s <= end_s)].reset_index(drop=True)
        if len(seg) < 2 * fs:
            continue
        # body frame of the CSV contract -> mobgap's names (is = up, ml = left, pa = forward)
        data = pd.DataFrame({"acc_is": seg.acc_z, "acc_ml": seg.acc_y, "acc_pa": seg.acc_x,
                             "gyr_is": seg.gyr_z, "gyr_ml": seg.gyr_y, "gyr_pa": seg.gyr_x})
        icd = IcdIonescu().detect(data, sampling_rate_hz=fs)
        ic_list = icd.ic_list_
        if len(ic_list) == 0:
            continue
        lrc = LrcMcCamley().predict(data, ic_list, sampling_rate_hz=fs)
        lr = lrc.ic_lr_list_
        for _, row in lr.iterrows():
            ics.append([float(seg.time_s.iloc[int(row["ic"])]), str(row["lr_label"])])
    out.append(ics)
json.dump(out, sys.stdout)
"""


def shared_data_dir() -> Path:
    env = os.environ.get("GAITSTREAM_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def read_csv_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def match(detected: np.ndarray, reference: np.ndarray, tolerance_s: float) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by smallest distance; pairs (reference index, detected index)."""
    pairs = sorted(
        (abs(d - r), i, j) for i, r in enumerate(reference) for j, d in enumerate(detected) if abs(d - r) <= tolerance_s
    )
    used_r, used_d, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_r and j not in used_d:
            used_r.add(i)
            used_d.add(j)
            out.append((i, j))
    return out


def score(det_t, det_side, ref_t, ref_side, windows, tolerance_s=TOLERANCE_S, offset_s=0.0):
    """F1, side correct, signed/absolute timing error within windows [(start, end)]."""
    tp = fp = fn = side_ok = 0
    errors = []
    for start, end in windows:
        r_in = (ref_t >= start) & (ref_t <= end)
        d_in = (det_t - offset_s >= start - tolerance_s) & (det_t - offset_s <= end + tolerance_s)
        rt, rs = ref_t[r_in], ref_side[r_in]
        dt, ds = det_t[d_in] - offset_s, det_side[d_in]
        pairs = match(dt, rt, tolerance_s)
        tp += len(pairs)
        fp += len(dt) - len(pairs)
        fn += len(rt) - len(pairs)
        side_ok += sum(ds[j] == rs[i] for i, j in pairs)
        errors += [dt[j] - rt[i] for i, j in pairs]
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "side": side_ok / tp if tp else float("nan"),
        "err_ms": 1000 * float(np.mean(errors)) if errors else float("nan"),
        "abs_err_ms": 1000 * float(np.mean(np.abs(errors))) if errors else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "errors": errors,
    }


def ours(path: Path) -> tuple[np.ndarray, np.ndarray]:
    result = analyze_recording(load_recording_csv(path))
    pairs = [(t, side) for side in ("left", "right") for t in result["initial_contacts"][side]]
    pairs.sort()
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def run_mobgap(jobs: list[dict]) -> list[tuple[np.ndarray, np.ndarray]] | None:
    python = mobgap_python()
    if python is None:
        return None
    proc = subprocess.run(
        [str(python), "-c", MOBGAP_RUNNER], input=json.dumps(jobs), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        Console(stderr=True).print(f"mobgap run failed: {proc.stderr[-2000:]}")
        return None
    out = []
    for ics in json.loads(proc.stdout):
        out.append((np.array([i[0] for i in ics]), np.array([i[1] for i in ics])))
    return out


def fmt(x, digits=3):
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def bench_mobgap_ha001(console: Console, with_mobgap: bool) -> None:
    root = shared_data_dir() / "mobgap-HA001"
    all_refs = [r for r in read_csv_rows(root / "reference_initial_contacts.csv") if r["level"] == "wb"]
    refs = [r for r in all_refs if r["system"] == "Stereophoto"]
    indip = [r for r in all_refs if r["system"] == "INDIP" and r["ic_s"] not in ("", "nan")]
    bouts = [
        r
        for r in read_csv_rows(root / "reference_walking_bouts.csv")
        if r["system"] == "Stereophoto" and r["level"] == "wb"
    ]
    recordings = sorted(root.glob("HA_*.csv"))
    keys = [p.stem.split("_")[-2:] for p in recordings]
    windows = [[(float(b["start_s"]), float(b["end_s"])) for b in bouts if [b["test"], b["trial"]] == k] for k in keys]
    # mobgap's pipeline feeds its detectors gait sequences that start before the
    # first IC: pad each reference bout by MOBGAP_PAD_S.
    jobs = [
        {"path": str(p), "sampling_rate_hz": 100.0, "segments": [(a - MOBGAP_PAD_S, b + MOBGAP_PAD_S) for a, b in w]}
        for p, w in zip(recordings, windows, strict=True)
    ]
    theirs = run_mobgap(jobs) if with_mobgap else None
    table = Table(title="mobgap-HA001 vs Stereophoto (inside reference walking bouts, 100 ms)")
    for col in ("recording", "detector", "F1", "TP/FP/FN", "side correct", "mean err ms", "mean |err| ms"):
        table.add_column(col)
    for n, (path, key, win) in enumerate(zip(recordings, keys, windows, strict=True)):
        rows = [r for r in refs if [r["test"], r["trial"]] == key]
        ref_t = np.array([float(r["ic_s"]) for r in rows])
        ref_s = np.array([r["side"].lower() for r in rows])
        detectors = [("gaitstream", ours(path))]
        if theirs is not None:
            detectors.append(("mobgap Ionescu+McCamley", theirs[n]))
        other = [r for r in indip if [r["test"], r["trial"]] == key]
        detectors.append(
            (
                "INDIP (2nd reference)",
                (np.array([float(r["ic_s"]) for r in other]), np.array([r["side"].lower() for r in other])),
            )
        )
        for name, (det_t, det_s) in detectors:
            s = score(det_t, det_s, ref_t, ref_s, win)
            table.add_row(
                path.stem.replace("HA_001_TimeMeasure1_", ""),
                name,
                fmt(s["f1"]),
                f"{s['tp']}/{s['fp']}/{s['fn']}",
                fmt(s["side"]),
                fmt(s["err_ms"], 1),
                fmt(s["abs_err_ms"], 1),
            )
    console.print(table)


def bench_ipol(console: Console, with_mobgap: bool) -> None:
    root = shared_data_dir() / "ipol-L5"
    trials = read_csv_rows(root / "trials.csv")
    refs = read_csv_rows(root / "reference_initial_contacts.csv")
    straight = {
        t["trial"]: [
            (float(t["walk_start_s"]), float(t["uturn_start_s"])),
            (float(t["uturn_end_s"]), float(t["walk_end_s"])),
        ]
        for t in trials
    }
    jobs = [
        {
            "path": str(root / f"{t['trial']}.csv"),
            "sampling_rate_hz": 100.0,
            "segments": [(a - MOBGAP_PAD_S, b + MOBGAP_PAD_S) for a, b in straight[t["trial"]]],
        }
        for t in trials
    ]
    theirs = run_mobgap(jobs) if with_mobgap else None
    names = ["gaitstream"] + (["mobgap Ionescu+McCamley"] if theirs is not None else [])
    totals = {name: {"tp": 0, "fp": 0, "fn": 0, "side": 0.0, "stride_err": [], "offsets": []} for name in names}
    for n, trial in enumerate(trials):
        rows = [r for r in refs if r["trial"] == trial["trial"]]
        ref_t = np.array([float(r["ic_s"]) for r in rows])
        ref_s = np.array([r["side"] for r in rows])
        order = np.argsort(ref_t)
        ref_t, ref_s = ref_t[order], ref_s[order]
        dets = {"gaitstream": ours(root / f"{trial['trial']}.csv")}
        if theirs is not None:
            dets["mobgap Ionescu+McCamley"] = theirs[n]
        for name, (det_t, det_s) in dets.items():
            coarse = score(det_t, det_s, ref_t, ref_s, straight[trial["trial"]], IPOL_COARSE_TOLERANCE_S)
            offset = float(np.median(coarse["errors"])) if coarse["errors"] else 0.0
            s = score(det_t, det_s, ref_t, ref_s, straight[trial["trial"]], TOLERANCE_S, offset)
            tot = totals[name]
            tot["tp"] += s["tp"]
            tot["fp"] += s["fp"]
            tot["fn"] += s["fn"]
            tot["side"] += s["side"] * s["tp"] if s["tp"] else 0.0
            tot["offsets"].append(offset)
            tot["stride_err"] += stride_errors(det_t - offset, det_s, ref_t, ref_s, straight[trial["trial"]])
    table = Table(title=f"ipol-L5, {len(trials)} trials, straight walking, median offset removed, 100 ms")
    for col in ("detector", "detection rate", "precision", "side correct", "stride time MAE ms", "median offset ms"):
        table.add_column(col)
    for name, tot in totals.items():
        tp = tot["tp"]
        table.add_row(
            name,
            fmt(tp / (tp + tot["fn"])),
            fmt(tp / (tp + tot["fp"])),
            fmt(tot["side"] / tp),
            fmt(1000 * float(np.mean(np.abs(tot["stride_err"]))), 1),
            fmt(1000 * float(np.median(tot["offsets"])), 1),
        )
    console.print(table)


def stride_errors(det_t, det_s, ref_t, ref_s, windows) -> list[float]:
    """Stride time error for reference strides whose both ICs are matched by same-side detections."""
    errors = []
    for side in ("left", "right"):
        r = ref_t[ref_s == side]
        d = det_t[det_s == side]
        for a, b in pairwise(r):
            if not any(lo <= a and b <= hi for lo, hi in windows) or len(d) == 0:
                continue
            ia, ib = np.argmin(np.abs(d - a)), np.argmin(np.abs(d - b))
            if abs(d[ia] - a) <= TOLERANCE_S and abs(d[ib] - b) <= TOLERANCE_S and ib == ia + 1:
                errors.append((d[ib] - d[ia]) - (b - a))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mobgap", action="store_true", help="skip mobgap (no venv creation)")
    args = parser.parse_args()
    if not shared_data_dir().exists():
        raise SystemExit(f"shared data not found at {shared_data_dir()} (set GAITSTREAM_SHARED_DATA)")
    console = Console(width=160)
    warnings.simplefilter("ignore")  # calibration notes (sitting start, repeated packets) are not scores
    bench_mobgap_ha001(console, not args.no_mobgap)
    bench_ipol(console, not args.no_mobgap)


if __name__ == "__main__":
    main()
