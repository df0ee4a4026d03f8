"""Trunk lean and pelvic obliquity of the engine against optical markers (a script that prints tables).

Run: ``.venv/bin/python benchmarks/trunk_real.py --h5 PATH/example_data.h5``
(needs ``h5py`` in the environment: ``.venv/bin/python -m pip install h5py``;
it is not a project dependency).

Data: ``trained_models_and_example_data/example_data.h5`` of the GitHub
repository TheOne-1/KAM_and_KFM_Estimation (Tan & Wang, "IMU and smartphone
camera fusion for knee adduction and knee flexion moment estimation during
walking", IEEE TII 2022; the full 17-subject set is on simtk.org/projects/imukinetics,
in the same layout). The repository states no licence, so the file is NOT
redistributed: keep it outside this repository and pass its path with ``--h5``.
Layout, from the repository's ``const.py``, ``generate_step_data.py`` and
``create_example_data.py``: one float32 dataset per subject (``subject_01`` …),
shape (right stance steps, 152 samples, 256 fields), field names as JSON in
the file attribute ``columns``. Each step runs from 20 samples before a right
heel strike to 20 after the right toe-off (both from the right-foot IMU), then
zero rows up to 152. 100 Hz. IMU fields ``AccelX_CHEST`` … ``GyroZ_WAIST``
(SageMotion IMUs; m/s² and deg/s; IMU y up, z the outward normal of the body
surface, x = y × z), markers ``LIAS_X`` … (Vicon, mm; lab x right, y walking
direction of the treadmill, z up), ``force_phase`` = right plate Fz < −20 N.

Steps:

1. Runs. Consecutive steps of one walk are separated by a few missing
   samples of swing. For each pair, the number of missing samples g is the one
   whose cubic fitted through the last and first ``FIT_SAMPLES`` samples of
   all marker trajectories fits best; a fit residual above ``MAX_FIT_MM`` (or
   g over ``MAX_GAP_SAMPLES``) means the steps are not consecutive and a new
   run starts. Each run becomes one recording with a gap of g samples in
   ``time_s`` between steps (the engine fills short gaps itself).
2. Recording contract. CHEST IMU -> trunk sensor (``trunk_acc_*``,
   ``trunk_gyr_*``), WAIST IMU (mid-ASIS, front of the pelvis, not the
   sacrum) -> pelvis sensor (``acc_*``, ``gyr_*``); both stated as
   ``x=left,y=up,z=forward`` (``--axes`` of the loader); the engine
   estimates the residual mounting itself (no standing here: from walking).
3. Axis check: the body-frame gyro of each sensor against the angular rate of
   its marker segment (thorax: up SXS -> SJN, forward CV7 -> mid SJN/SXS;
   pelvis: ASIS and PSIS markers), correlation per body axis (positive and
   high = axes right) and the gain on the up axis (1 = deg/s right).
4. Marker references, walking frame = lab (treadmill: forward = lab +y,
   left = lab −x, up = lab +z), each relative to its median over the run
   (there is no standing): trunk lean λ = the angle of a trunk line projected
   on the frontal plane, atan2(v·left, v·up), positive = leaning left
   (GAIT_SPEC λ; asin of the 3-D unit vector differs by ≤ 0.2° here), for
   three lines: ``sternum`` (SXS -> SJN: the bone the sensor sits on, midway),
   ``pelvis->C7`` (mid of the four pelvis markers -> CV7) and
   ``pelvis->acromia`` (-> mid LAC/RAC). (An ISB-like thorax line from mid
   SXS/MAI to mid SJN/CV7 was dropped: MAI, the spine point between the
   scapulae's inferior angles, swayed 2–3° sideways against CV7 in
   subject_01.) Pelvic obliquity φ =
   asin(ŷ·up), ŷ = unit(mid LIAS/LIPS − mid RIAS/RIPS), positive = left
   side higher (GAIT_SPEC φ).
5. Engine: ``analyze_recording(..., trace=True)`` (the analyzer JSON of
   GAIT_SPEC) twice: ``live`` = default settings (without standing: a
   provisional start after 0.5 s of walking, steps against their own stride's
   median until 8 s of walking) and ``hold`` = ``walking_fast_start`` off
   (everything held until 8 s of walking, then processed with the final
   calibration). Its trace ``trunk_lateral_lean_deg`` / ``pelvic_obliquity_deg``
   is matched to the marker samples by time (gap samples it interpolated are
   not compared). The runs are ~10 s long and start mid-walk, so the
   orientation filters' start-up is a large part of them: per-sample figures
   are also given from ``--settle-s`` (5 s) on.
6. Figures per run and reference: per-sample RMSE, bias (engine − markers),
   Pearson r and the lag (engine behind markers, ±0.2 s) that maximises r;
   mean peak-to-peak per stride (right heel strike to the next, force plate)
   of each; per engine right step (right IC -> left IC) the GAIT_SPEC step
   value (trunk_lean_deg = max −λ, pelvic_drop_deg = max −φ) from the markers
   over the engine's step window vs the engine's own value (means and mean
   absolute difference, also for steps from ``--settle-s`` on). Also: the
   engine's right ICs against the force-plate heel strikes, the CHEST IMU
   (mid SJN/SXS) height above and distance ahead of mid-PSIS, and the WAIST
   IMU (mid-ASIS) distance ahead of mid-PSIS.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gaitstream.gait.config import GaitConfig
from gaitstream.gait.exceptions import NoWalkingError
from gaitstream.gait.offline import analyze_recording, run_engine
from gaitstream.gait.recording import Recording, to_body_frame

SAMPLING_RATE_HZ = 100.0  # const.py: VICON_SAMPLE_RATE and the Sage IMUs
# Sensor axes as body directions (README "Hardware": y up, z surface normal, x = y × z).
SENSOR_AXES = "x=left,y=up,z=forward"
STEP_PAD_SAMPLES = 20  # samples before the heel strike and after the toe-off
FIT_SAMPLES = 8
FIT_DEGREE = 3
MAX_GAP_SAMPLES = 100
MAX_FIT_MM = 2.0
MAX_LAG_S = 0.2
IC_TOLERANCE_S = 0.1
MIN_RUN_STEPS = 3
# Without standing the engine's orientation filters start on a walking sample and settle over seconds.
SETTLE_S = 5.0

PELVIS_MARKERS = ("LIAS", "RIAS", "LIPS", "RIPS")
# lab (x right, y forward, z up) -> walking frame (forward, left, up)
LAB_TO_WALK = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@dataclass
class Run:
    """Consecutive steps of one subject stitched on one time base."""

    name: str
    time_s: np.ndarray  # (n,) time of each kept sample
    fields: np.ndarray  # (n, n_fields)
    heel_strikes_s: list[float]  # force-plate right heel strikes
    gaps: list[int]  # missing samples between steps


def load_subjects(path: Path) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    try:
        import h5py
    except ImportError:
        sys.exit("needs h5py: .venv/bin/python -m pip install h5py (not a project dependency)")
    with h5py.File(path, "r") as hf:
        columns = json.loads(hf.attrs["columns"])
        data = {name: np.asarray(hf[name][:], dtype=float) for name in hf}
    return data, {name: i for i, name in enumerate(columns)}


def marker_columns(col: dict[str, int], markers) -> list[int]:
    return [col[f"{m}_{a}"] for m in markers for a in "XYZ"]


def gap_fit(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Missing samples between the end of ``a`` and the start of ``b`` (rows: samples), fit RMS (mm)."""
    k = FIT_SAMPLES
    y = np.concatenate([a[-k:], b[:k]])
    best = (0, math.inf)
    for g in range(MAX_GAP_SAMPLES + 1):
        t = np.concatenate([np.arange(k), k + g + np.arange(k)]).astype(float)
        t = (t - t.mean()) / (t.std() + 1e-12)
        v = np.vander(t, FIT_DEGREE + 1)
        coef, *_ = np.linalg.lstsq(v, y, rcond=None)
        rms = float(np.sqrt(np.mean((v @ coef - y) ** 2)))
        if rms < best[1]:
            best = (g, rms)
    return best


def build_runs(subject: str, steps: np.ndarray, col: dict[str, int], fs: float) -> list[Run]:
    """Step 1: stitch consecutive steps into runs (all-zero rows are padding or missing)."""
    all_markers = sorted({name[:-2] for name in col if name.endswith("_X") and f"{name[:-2]}_Z" in col})
    all_markers = [m for m in all_markers if not m.startswith(("EXT_KM", "plate"))]
    mcols = marker_columns(col, all_markers)
    valid = ~(steps == 0).all(axis=2)
    lengths = [int(np.flatnonzero(v).max()) + 1 if v.any() else 0 for v in valid]
    runs, current, gaps = [], [], []
    for i, length in enumerate(lengths):
        if length < 2 * STEP_PAD_SAMPLES:
            continue
        if current:
            j = current[-1]
            g, rms = gap_fit(steps[j, : lengths[j]][:, mcols], steps[i, :length][:, mcols])
            if rms > MAX_FIT_MM or g >= MAX_GAP_SAMPLES:
                runs.append((current, gaps))
                current, gaps = [], []
            else:
                gaps.append(g)
        current.append(i)
    if current:
        runs.append((current, gaps))
    out = []
    for n_run, (idx, gaps) in enumerate(runs):
        if len(idx) < MIN_RUN_STEPS:
            continue
        times, rows, strikes, start = [], [], [], 0
        for k, i in enumerate(idx):
            length = lengths[i]
            t = (start + np.arange(length)) / fs
            rows.append(np.where(valid[i, :length, None], steps[i, :length], np.nan))
            times.append(t)
            stance = np.flatnonzero(steps[i, :length, col["force_phase"]] == 1)
            if len(stance):
                strikes.append(float(t[stance[0]]))
            start += length + (gaps[k] if k < len(gaps) else 0)
        name = subject if len(runs) == 1 else f"{subject}/run{n_run + 1}"
        out.append(Run(name, np.concatenate(times), np.concatenate(rows), strikes, gaps))
    return out


def to_recording(run: Run, col: dict[str, int]) -> Recording:
    """Step 2: the recording contract (body frame, m/s², deg/s)."""

    def imu(seg):
        acc = run.fields[:, [col[f"Accel{a}_{seg}"] for a in "XYZ"]]
        gyr = run.fields[:, [col[f"Gyro{a}_{seg}"] for a in "XYZ"]]
        return to_body_frame(acc, gyr, axes=SENSOR_AXES)

    acc, gyr = imu("WAIST")
    trunk_acc, trunk_gyr = imu("CHEST")
    return Recording(
        time_s=run.time_s,
        acc_mps2=acc,
        gyr_dps=gyr,
        trunk_acc_mps2=trunk_acc,
        trunk_gyr_dps=trunk_gyr,
        sampling_rate_hz=SAMPLING_RATE_HZ,
        source=run.name,
    )


def marker(run: Run, col: dict[str, int], name: str) -> np.ndarray:
    """(n, 3) marker position in the walking frame (forward, left, up), metres."""
    return run.fields[:, marker_columns(col, [name])] @ LAB_TO_WALK.T / 1000.0


def mid(run: Run, col: dict[str, int], names) -> np.ndarray:
    return np.mean([marker(run, col, n) for n in names], axis=0)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def segment_frames(run: Run, col: dict[str, int]) -> dict[str, np.ndarray]:
    """(n, 3, 3) marker segment frames, columns = forward, left, up axes in the walking frame."""

    def frame(up_raw, forward_raw):
        up = unit(up_raw)
        left = unit(np.cross(up, forward_raw))
        return np.stack([np.cross(left, up), left, up], axis=2)

    thorax_up = marker(run, col, "SJN") - marker(run, col, "SXS")
    thorax_fwd = mid(run, col, ("SJN", "SXS")) - marker(run, col, "CV7")
    pelvis_left = mid(run, col, ("LIAS", "LIPS")) - mid(run, col, ("RIAS", "RIPS"))
    pelvis_fwd = mid(run, col, ("LIAS", "RIAS")) - mid(run, col, ("LIPS", "RIPS"))
    pelvis_up = np.cross(pelvis_fwd, pelvis_left)
    return {"CHEST": frame(thorax_up, thorax_fwd), "WAIST": frame(pelvis_up, pelvis_fwd)}


def marker_rates_dps(frames: np.ndarray, time_s: np.ndarray) -> np.ndarray:
    """Body-frame angular rate (deg/s) of marker frames by central differences (NaN across gaps)."""
    n = len(frames)
    rate = np.full((n, 3), np.nan)
    for i in range(1, n - 1):
        dt = time_s[i + 1] - time_s[i - 1]
        if dt > 2.5 / SAMPLING_RATE_HZ:
            continue
        s = frames[i].T @ (frames[i + 1] - frames[i - 1]) / dt
        rate[i] = np.degrees([s[2, 1] - s[1, 2], s[0, 2] - s[2, 0], s[1, 0] - s[0, 1]]) / 2
    return rate


def marker_angles(run: Run, col: dict[str, int]) -> dict[str, np.ndarray]:
    """Step 4: marker λ for three trunk lines and φ, each minus its median over the run (deg)."""
    pelvis_mid = mid(run, col, PELVIS_MARKERS)
    lines = {
        "sternum": marker(run, col, "SJN") - marker(run, col, "SXS"),
        "pelvis->C7": marker(run, col, "CV7") - pelvis_mid,
        "pelvis->acromia": mid(run, col, ("LAC", "RAC")) - pelvis_mid,
    }
    out = {f"λ {k}": np.degrees(np.arctan2(v[:, 1], v[:, 2])) for k, v in lines.items()}
    y = unit(mid(run, col, ("LIAS", "LIPS")) - mid(run, col, ("RIAS", "RIPS")))
    out["φ pelvis"] = np.degrees(np.arcsin(y[:, 2]))
    return {k: v - np.nanmedian(v) for k, v in out.items()}


def lagged_r(engine: np.ndarray, ref: np.ndarray, fs: float) -> tuple[float, float]:
    """Pearson r at lag 0 and the lag (s, engine behind the reference) that maximises r."""

    def r_at(lag):
        a, b = (engine[lag:], ref[: len(ref) - lag]) if lag >= 0 else (engine[:lag], ref[-lag:])
        ok = np.isfinite(a) & np.isfinite(b)
        return float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 10 else math.nan

    lags = range(-int(MAX_LAG_S * fs), int(MAX_LAG_S * fs) + 1)
    rs = [r_at(lag) for lag in lags]
    best = int(np.nanargmax(rs))
    return r_at(0), list(lags)[best] / fs


def engine_on_samples(run: Run, result: dict, key: str) -> np.ndarray:
    """The engine trace ``key`` at the run's samples (NaN where it has no sample within half a period)."""
    trace = result.get("trace") or {}
    t_eng = np.asarray(trace.get("time_s") or [], dtype=float)
    values = trace.get(key)
    out = np.full(len(run.time_s), np.nan)
    if values is None or not len(t_eng):
        return out
    values = np.array([math.nan if v is None else v for v in values], dtype=float)
    idx = np.clip(np.searchsorted(t_eng, run.time_s), 0, len(t_eng) - 1)
    prev = np.clip(idx - 1, 0, len(t_eng) - 1)
    idx = np.where(np.abs(t_eng[prev] - run.time_s) < np.abs(t_eng[idx] - run.time_s), prev, idx)
    close = np.abs(t_eng[idx] - run.time_s) < 0.5 / SAMPLING_RATE_HZ
    return np.where(close, values[idx], np.nan)


def sample_figures(run: Run, eng: np.ndarray, ref: np.ndarray, window: np.ndarray) -> dict:
    """Per-sample RMSE, bias (engine − markers), r and best lag over the samples in ``window``."""
    ok = np.isfinite(eng) & np.isfinite(ref) & window
    if ok.sum() <= 10:
        return {"n": int(ok.sum()), "rmse": math.nan, "bias": math.nan, "r": math.nan, "lag_s": math.nan}
    diff = eng[ok] - ref[ok]
    # for the lag: samples at their grid index, NaN in the gaps and outside the window
    grid = np.round(run.time_s * SAMPLING_RATE_HZ).astype(int)
    ge, gr = np.full(grid.max() + 1, np.nan), np.full(grid.max() + 1, np.nan)
    ge[grid[ok]], gr[grid[ok]] = eng[ok], ref[ok]
    r0, lag = lagged_r(ge, gr, SAMPLING_RATE_HZ)
    return {
        "n": int(ok.sum()),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "bias": float(np.mean(diff)),
        "r": r0,
        "lag_s": lag,
    }


def stride_figures(run: Run, result: dict, eng: np.ndarray, ref: np.ndarray, step_key: str, settle_s: float) -> dict:
    """Mean peak-to-peak per stride of each; GAIT_SPEC right-step values from markers vs the engine."""
    ok = np.isfinite(eng) & np.isfinite(ref)
    p2p_ref, p2p_eng = [], []
    for lo, hi in pairwise(run.heel_strikes_s):
        w = (run.time_s >= lo) & (run.time_s < hi) & ok
        if w.sum() > 0.5 * (hi - lo) * SAMPLING_RATE_HZ:
            p2p_ref.append(np.ptp(ref[w]))
            p2p_eng.append(np.ptp(eng[w]))
    step_ref, step_eng, step_late = [], [], []
    for step in result.get("steps", []):
        value = step.get(step_key)
        if step.get("side") != "right" or value is None:
            continue
        w = (run.time_s >= step["start_s"] - 1e-9) & (run.time_s <= step["end_s"] + 1e-9) & np.isfinite(ref)
        if w.any():
            step_ref.append(float(np.max(-ref[w])))
            step_eng.append(float(value))
            step_late.append(step["start_s"] >= run.time_s[0] + settle_s)
    step_ref, step_eng, step_late = np.array(step_ref), np.array(step_eng), np.array(step_late, dtype=bool)
    step_err = np.abs(step_eng - step_ref)
    return {
        "p2p_ref": float(np.mean(p2p_ref)) if p2p_ref else math.nan,
        "p2p_eng": float(np.mean(p2p_eng)) if p2p_eng else math.nan,
        "steps": len(step_ref),
        "step_ref": float(step_ref.mean()) if len(step_ref) else math.nan,
        "step_eng": float(step_eng.mean()) if len(step_eng) else math.nan,
        "step_mae": float(np.mean(step_err)) if len(step_ref) else math.nan,
        "step_mae_late": float(np.mean(step_err[step_late])) if step_late.any() else math.nan,
    }


def ic_errors(run: Run, result: dict) -> tuple[int, float]:
    """Engine right ICs matched to force-plate heel strikes within IC_TOLERANCE_S: count, mean error (s)."""
    ics = np.array((result.get("initial_contacts") or {}).get("right") or [], dtype=float)
    errors = []
    for hs in run.heel_strikes_s:
        if len(ics):
            e = ics[np.argmin(np.abs(ics - hs))] - hs
            if abs(e) <= IC_TOLERANCE_S:
                errors.append(e)
    return len(errors), float(np.mean(errors)) if errors else math.nan


def fmt(value: float, decimals: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


def engine_calibration(recording: Recording, config: GaitConfig) -> dict:
    """The engine's full calibration (the trunk's mounting is not in the analyzer JSON)."""
    try:
        engine = run_engine(recording, config)[0]
    except NoWalkingError:
        return {}
    return getattr(engine, "calibration", None) or {}


def add_columns(table: Table, names) -> Table:
    for name in names:
        table.add_column(name, justify="right")
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--h5", type=Path, required=True, help="example_data.h5 of TheOne-1/KAM_and_KFM_Estimation")
    parser.add_argument("--subjects", nargs="*", help="datasets to use (default: all)")
    parser.add_argument(
        "--settle-s", type=float, default=SETTLE_S, help="per-sample figures also from this time of each run on"
    )
    parser.add_argument(
        "--trunk-height-m",
        type=float,
        default=None,
        help="state the trunk sensor's height above the lumbar pivot (default: the engine fits it)",
    )
    args = parser.parse_args(argv)
    if not args.h5.is_file():
        parser.error(f"--h5: no file {args.h5}")
    console = Console(width=200)
    data, col = load_subjects(args.h5)
    height = {"trunk_sensor_height_m": args.trunk_height_m}
    configs = {"live": GaitConfig(**height), "hold": GaitConfig(walking_fast_start=False, **height)}

    runs_table = add_columns(
        Table(title="Runs (consecutive right-stance steps stitched; 100 Hz; engine: live config)"),
        (
            "run",
            "steps",
            "gap samples",
            "s",
            "engine L/R steps",
            "calibration/λ ref",
            "trunk mount r/p/y °",
            "trunk lever m",
            "pelvis mount r/p/y °",
            "R ICs ±0.1 s of HS",
            "IC−HS ms",
            "CHEST over/ahead of mid-PSIS m",
            "WAIST ahead of mid-PSIS m",
        ),
    )
    axes_table = add_columns(
        Table(title="Axis check: r(body-frame gyro, marker segment rate) per body axis"),
        ("run", "CHEST fwd/left/up", "CHEST gain up", "WAIST fwd/left/up", "WAIST gain up"),
    )
    settled = f"t≥{args.settle_s:g}s"
    fig_table = add_columns(
        Table(
            title="Engine vs markers (deg, each relative to its walking reference; engine − markers; "
            "steps: engine right steps, max −angle)"
        ),
        (
            "run",
            "config",
            "angle",
            "n",
            "RMSE",
            "bias",
            "r",
            "lag s",
            f"RMSE {settled}",
            f"bias {settled}",
            f"r {settled}",
            "p2p mk",
            "p2p eng",
            "R steps",
            "step mk",
            "step eng",
            "step |Δ|",
            f"step |Δ| {settled}",
        ),
    )

    for subject in args.subjects or list(data):
        for run in build_runs(subject, data[subject], col, SAMPLING_RATE_HZ):
            recording = to_recording(run, col)
            angles = marker_angles(run, col)
            for config_name, config in configs.items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        result = analyze_recording(recording, config, trace=True)
                except NoWalkingError:
                    console.print(f"{run.name} ({config_name}): the engine found no walking")
                    continue
                if config_name == "live":
                    calibration = engine_calibration(recording, config)
                    steps = result.get("steps", [])
                    cal = result.get("calibration") or {}
                    n_ics, ic_err = ic_errors(run, result)
                    chest = mid(run, col, ("SJN", "SXS"))
                    psis = mid(run, col, ("LIPS", "RIPS"))
                    asis = mid(run, col, ("LIAS", "RIAS"))
                    runs_table.add_row(
                        run.name,
                        str(len(run.heel_strikes_s)),
                        f"{min(run.gaps, default=0)}–{max(run.gaps, default=0)}",
                        fmt(run.time_s[-1] - run.time_s[0], 1),
                        f"{sum(s['side'] == 'left' for s in steps)}/{sum(s['side'] == 'right' for s in steps)}",
                        f"{cal.get('method')}/{cal.get('trunk_lean_reference')}",
                        mount(calibration.get("trunk_mounting_deg")),
                        f"{fmt(calibration.get('trunk_lever_arm_m'))} ({calibration.get('trunk_lever_arm_method')})",
                        mount(cal.get("mounting_deg")),
                        f"{n_ics}/{len(run.heel_strikes_s)}",
                        fmt(ic_err * 1000, 0),
                        f"{fmt(np.nanmedian(chest[:, 2] - psis[:, 2]))}/{fmt(np.nanmedian(chest[:, 0] - psis[:, 0]))}",
                        fmt(np.nanmedian(asis[:, 0] - psis[:, 0])),
                    )
                    axes_table.add_row(run.name, *axis_check(run, col, recording))
                window = run.time_s >= run.time_s[0] + args.settle_s
                for label, ref in angles.items():
                    is_lean = label.startswith("λ")
                    eng = engine_on_samples(
                        run, result, "trunk_lateral_lean_deg" if is_lean else "pelvic_obliquity_deg"
                    )
                    whole = sample_figures(run, eng, ref, np.ones(len(ref), dtype=bool))
                    late = sample_figures(run, eng, ref, window)
                    st = stride_figures(
                        run, result, eng, ref, "trunk_lean_deg" if is_lean else "pelvic_drop_deg", args.settle_s
                    )
                    fig_table.add_row(
                        run.name,
                        config_name,
                        label,
                        str(whole["n"]),
                        fmt(whole["rmse"]),
                        fmt(whole["bias"]),
                        fmt(whole["r"]),
                        fmt(whole["lag_s"]),
                        fmt(late["rmse"]),
                        fmt(late["bias"]),
                        fmt(late["r"]),
                        fmt(st["p2p_ref"]),
                        fmt(st["p2p_eng"]),
                        str(st["steps"]),
                        fmt(st["step_ref"]),
                        fmt(st["step_eng"]),
                        fmt(st["step_mae"]),
                        fmt(st["step_mae_late"]),
                    )
    console.print(runs_table)
    console.print(axes_table)
    console.print(fig_table)


def mount(d: dict | None) -> str:
    return "/".join(fmt(d.get(k), 1) for k in ("roll", "pitch", "yaw")) if d else "–"


def axis_check(run: Run, col: dict[str, int], recording: Recording) -> list[str]:
    """Step 3: per body axis, r between the stated-axes gyro and the marker segment's rate; gain on up."""
    frames = segment_frames(run, col)
    cells = []
    for seg, gyr in (("CHEST", recording.trunk_gyr_dps), ("WAIST", recording.gyr_dps)):
        rate = marker_rates_dps(frames[seg], run.time_s)
        ok = np.isfinite(rate).all(axis=1) & np.isfinite(gyr).all(axis=1)
        rs = [np.corrcoef(gyr[ok, k], rate[ok, k])[0, 1] for k in range(3)]
        cells += ["/".join(fmt(r) for r in rs), fmt(np.polyfit(rate[ok, 2], gyr[ok, 2], 1)[0])]
    return cells


if __name__ == "__main__":
    main()
