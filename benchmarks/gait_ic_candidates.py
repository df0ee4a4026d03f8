"""Candidate IC signals on the ICs our detector misses in mobgap-HA001 (a script that prints tables).

Run: ``.venv/bin/python benchmarks/gait_ic_candidates.py``

The figures behind the Test11 notes of ``gaitstream/gait/events.py``:

1. Run the engine over each recording and record, per sample, the
   earth-vertical and the pelvis anteroposterior acceleration it computes
   (gravity removed).
2. Candidate detectors over the whole recording (offline, zero-phase filters:
   a look at the signals, not live code):
   - AP: Zijlstra & Hof (2003, doi:10.1016/S0966-6362(02)00190-X), IC = the
     maximum of the AP acceleration (σ 20 ms) within ``AP_SEARCH_S`` before
     each + to − crossing of the AP acceleration low-passed at ``AP_LOWPASS_HZ``
     (4th-order Butterworth, forward-backward);
   - CWT: McCamley et al. (2012, doi:10.1016/j.gaitpost.2012.02.019): the
     Gaussian first-derivative wavelet at scale 9 of the integrated vertical
     acceleration has its minima at the maxima of the acceleration smoothed
     with σ = 9/√2 samples (64 ms at 100 Hz), which is what is computed
     (maxima above ``CWT_FLOOR_MPS2``);
   - gap filling: our ICs, plus, where none came in the due window
     (``DUE_WINDOW`` running intervals after the last), the candidate event
     nearest the due time.
3. Score against Stereophoto inside its walking bouts (100 ms, as
   ``gait_real.py``), list the nearest event of each candidate to each optical
   IC we miss, and the correlation of our timing error with the interval since
   the previous detection.
4. ipol-L5 (110 trials, straight walking, median offset removed, as
   ``gait_real.py``): detection rate and precision of ours and of ours with
   each gap filler.
"""

from __future__ import annotations

import sys
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.ndimage import gaussian_filter1d
from scipy.signal import butter, filtfilt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.gait_real import (
    IPOL_COARSE_TOLERANCE_S,
    TOLERANCE_S,
    match,
    read_csv_rows,
    score,
    shared_data_dir,
)
from gaitstream.gait.calibration import GRAVITY_MPS2
from gaitstream.gait.config import GaitConfig
from gaitstream.gait.engine import StreamingGaitEngine
from gaitstream.gait.offline import CHUNK_SAMPLES
from gaitstream.gait.recording import load_recording_csv

AP_LOWPASS_HZ = 2.0
AP_SEARCH_S = 0.25
SMOOTH_S = 0.02
CWT_SIGMA_S = 9 / np.sqrt(2) / 100.0
# CWT maxima must be above this (a heel strike raises the vertical acceleration above 1 g)
CWT_FLOOR_MPS2 = 0.0
DUE_WINDOW = (0.75, 1.4)
MAX_INTERVAL_S = 1.5
# matched detections whose timing error is compared with the preceding interval
TIMING_WINDOW_S = 0.3


class SignalRecorder(StreamingGaitEngine):
    """The engine, also keeping (index, time, vertical, AP acceleration) of every processed sample."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[np.ndarray] = []

    def _process_segment(self, t, v, up=None):
        acc = v[:, 0:3]
        if up is None:
            up = self._fusion.update_up(acc, v[:, 3:6])
        forward = self._rotation[0]
        self.rows.append(
            np.column_stack(
                [
                    np.arange(self._n, self._n + len(t)),
                    t,
                    (acc * up).sum(axis=1) - GRAVITY_MPS2,
                    acc @ forward - GRAVITY_MPS2 * (up @ forward),
                ]
            )
        )
        return super()._process_segment(t, v, up)


def record(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our ICs (s) and the recorded time, vertical and AP acceleration of one recording."""
    rec = load_recording_csv(path)
    engine = SignalRecorder(sampling_rate_hz=rec.sampling_rate_hz, config=GaitConfig(), keep_initial_contacts=True)
    ics = []
    for lo in range(0, len(rec.time_s), CHUNK_SAMPLES):
        hi = lo + CHUNK_SAMPLES
        engine.push(rec.time_s[lo:hi], rec.acc_mps2[lo:hi], rec.gyr_dps[lo:hi])
        ics += engine.drain_initial_contacts()
    engine.finish()
    ics += engine.drain_initial_contacts()
    rows = np.concatenate(engine.rows)
    _, first = np.unique(rows[:, 0], return_index=True)
    rows = rows[first]
    return np.array(sorted(t for t, _ in ics)), rows[:, 1], rows[:, 2:4]


def ap_events(t: np.ndarray, acc: np.ndarray, fs: float) -> np.ndarray:
    b, a = butter(4, AP_LOWPASS_HZ / (fs / 2))
    low = filtfilt(b, a, acc[:, 1])
    smooth = gaussian_filter1d(acc[:, 1], SMOOTH_S * fs)
    crossings = np.flatnonzero((low[:-1] > 0) & (low[1:] <= 0))
    search = int(AP_SEARCH_S * fs)
    return np.array([t[max(0, k - search) + int(np.argmax(smooth[max(0, k - search) : k + 1]))] for k in crossings])


def local_maxima(x: np.ndarray) -> np.ndarray:
    return np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1


def cwt_events(t: np.ndarray, acc: np.ndarray, fs: float) -> np.ndarray:
    smooth = gaussian_filter1d(acc[:, 0], CWT_SIGMA_S * fs)
    peaks = local_maxima(smooth)
    return t[peaks[smooth[peaks] > CWT_FLOOR_MPS2]]


def gap_fill(ours: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Our ICs plus, where the due window passed without one, the candidate nearest the due time."""
    out, fills, intervals = [ours[0]], [], []
    j = 1
    while j < len(ours):
        last = out[-1]
        interval = float(np.median(intervals[-3:])) if intervals else None
        if interval is not None and ours[j] > last + DUE_WINDOW[1] * interval:
            inside = candidates[
                (candidates >= last + DUE_WINDOW[0] * interval) & (candidates <= last + DUE_WINDOW[1] * interval)
            ]
            if len(inside):
                fill = float(inside[np.argmin(np.abs(inside - last - interval))])
                out.append(fill)
                fills.append(fill)
                intervals.append(fill - last)
                continue
        if ours[j] - last <= MAX_INTERVAL_S:
            intervals.append(ours[j] - last)
        out.append(ours[j])
        j += 1
    return np.array(out), fills


def nearest_ms(events: np.ndarray, t: float) -> str:
    return "none" if len(events) == 0 else f"{1000 * (events[np.argmin(np.abs(events - t))] - t):+.0f}"


def main() -> None:
    warnings.simplefilter("ignore")
    console = Console(width=160)
    root = shared_data_dir() / "mobgap-HA001"
    refs = [
        r
        for r in read_csv_rows(root / "reference_initial_contacts.csv")
        if r["level"] == "wb" and r["ic_s"] not in ("", "nan")
    ]
    bouts = [
        r
        for r in read_csv_rows(root / "reference_walking_bouts.csv")
        if r["system"] == "Stereophoto" and r["level"] == "wb"
    ]
    summary = Table(title="Candidates alone and as gap fillers vs Stereophoto (inside its walking bouts, 100 ms)")
    for col in ("recording", "detector", "F1", "TP/FP/FN", "median err ms", "events placed"):
        summary.add_column(col)
    for path in sorted(root.glob("HA_*.csv")):
        key = path.stem.split("_")[-2:]
        ref_t = np.array(
            [float(r["ic_s"]) for r in refs if r["system"] == "Stereophoto" and [r["test"], r["trial"]] == key]
        )
        indip = np.array([float(r["ic_s"]) for r in refs if r["system"] == "INDIP" and [r["test"], r["trial"]] == key])
        windows = [(float(b["start_s"]), float(b["end_s"])) for b in bouts if [b["test"], b["trial"]] == key]
        ours, t, acc = record(path)
        fs = 1.0 / float(np.median(np.diff(t)))
        ap, cwt = ap_events(t, acc, fs), cwt_events(t, acc, fs)
        ap_fill, ap_fills = gap_fill(ours, ap)
        cwt_fill, cwt_fills = gap_fill(ours, cwt)
        name = path.stem.replace("HA_001_TimeMeasure1_", "")
        for detector, events, placed in [
            ("ours", ours, len(ours)),
            ("AP (Zijlstra & Hof)", ap, len(ap)),
            ("CWT (McCamley)", cwt, len(cwt)),
            ("ours + AP fill", ap_fill, len(ap_fills)),
            ("ours + CWT fill", cwt_fill, len(cwt_fills)),
        ]:
            s = score(events, np.array(["-"] * len(events)), ref_t, ref_t.astype(str), windows)
            median = 1000 * float(np.median(s["errors"])) if s["errors"] else float("nan")
            summary.add_row(
                name,
                detector,
                f"{s['f1']:.3f}",
                f"{s['tp']}/{s['fp']}/{s['fn']}",
                f"{median:+.0f}",
                str(placed) + (" fills" if "fill" in detector else ""),
            )
        inside = ref_t[[any(a <= x <= b for a, b in windows) for x in ref_t]]
        matched = {i for i, _ in match(ours, inside, TOLERANCE_S)}
        missed = [x for i, x in enumerate(inside) if i not in matched]
        if missed:
            vertical = gaussian_filter1d(acc[:, 0], SMOOTH_S * fs)
            peaks = local_maxima(vertical)
            table = Table(title=f"{name}: optical ICs we miss, nearest event of each candidate (ms, + = later)")
            for col in ("IC s", "ours", "AP", "CWT", "INDIP", "vertical max ±200 ms (m/s²)"):
                table.add_column(col)
            for x in missed:
                near = peaks[np.abs(t[peaks] - x) <= 0.2]
                table.add_row(
                    f"{x:.2f}",
                    nearest_ms(ours, x),
                    nearest_ms(ap, x),
                    nearest_ms(cwt, x),
                    nearest_ms(indip, x) if len(indip) and np.abs(indip - x).min() <= 1.0 else "none",
                    f"{vertical[near].max():.1f}" if len(near) else "-",
                )
            console.print(table)
            fills = [f for f in ap_fills if np.abs(np.concatenate([ref_t, indip]) - f).min() > TOLERANCE_S]
            console.print(
                f"{name}: AP fills within {TOLERANCE_S * 1000:.0f} ms of no IC of either reference: "
                f"{len(fills)} of {len(ap_fills)}"
            )
            errors, gaps = [], []
            for a, b in pairwise(ours):
                r = ref_t[np.argmin(np.abs(ref_t - b))]
                if abs(r - b) <= TIMING_WINDOW_S and b - a < MAX_INTERVAL_S:
                    errors.append(b - r)
                    gaps.append(b - a)
            console.print(
                f"{name}: timing error vs interval since the previous detection: "
                f"r = {np.corrcoef(gaps, errors)[0, 1]:+.2f} over {len(errors)} ICs"
            )
    console.print(summary)
    bench_ipol_fill(console)


def bench_ipol_fill(console: Console) -> None:
    root = shared_data_dir() / "ipol-L5"
    refs = read_csv_rows(root / "reference_initial_contacts.csv")
    totals = {name: [0, 0, 0] for name in ("ours", "ours + AP fill", "ours + CWT fill")}
    for trial in read_csv_rows(root / "trials.csv"):
        windows = [
            (float(trial["walk_start_s"]), float(trial["uturn_start_s"])),
            (float(trial["uturn_end_s"]), float(trial["walk_end_s"])),
        ]
        ref_t = np.sort([float(r["ic_s"]) for r in refs if r["trial"] == trial["trial"]])
        ours, t, acc = record(root / f"{trial['trial']}.csv")
        fs = 1.0 / float(np.median(np.diff(t)))
        for name, events in [
            ("ours", ours),
            ("ours + AP fill", gap_fill(ours, ap_events(t, acc, fs))[0]),
            ("ours + CWT fill", gap_fill(ours, cwt_events(t, acc, fs))[0]),
        ]:
            sides = np.array(["-"] * len(events))
            coarse = score(events, sides, ref_t, ref_t.astype(str), windows, IPOL_COARSE_TOLERANCE_S)
            offset = float(np.median(coarse["errors"])) if coarse["errors"] else 0.0
            s = score(events, sides, ref_t, ref_t.astype(str), windows, TOLERANCE_S, offset)
            for i, key in enumerate(("tp", "fp", "fn")):
                totals[name][i] += s[key]
    table = Table(title="ipol-L5, 110 trials, straight walking, median offset removed, 100 ms")
    for col in ("detector", "detection rate", "precision", "TP/FP/FN"):
        table.add_column(col)
    for name, (tp, fp, fn) in totals.items():
        table.add_row(name, f"{tp / (tp + fn):.3f}", f"{tp / (tp + fp):.3f}", f"{tp}/{fp}/{fn}")
    console.print(table)


if __name__ == "__main__":
    main()
