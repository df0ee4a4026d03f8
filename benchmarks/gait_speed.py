"""Speed of the gait engine, side by side with mobgap's IC detector (a script that prints tables).

Run: ``.venv/bin/python benchmarks/gait_speed.py [--no-mobgap]``

- Offline: ``analyze_recording`` throughput in multiples of real time (one
  core, best of 3), on the mobgap-HA001 recordings and a 10-minute simulated
  session when ``gaitstream.simulate`` is present.
- Streaming: mean cost per sample of ``StreamingGaitEngine.push`` with 100 Hz
  frames of 10 samples (whole recording incl. calibration and ``finish``, best
  of 3), and of the imufusion per-sample loop alone.
- Latency: the largest delay of a step, in data time from the IC that ends
  it to the end of the frame that returned it (10-sample frames, and frames
  of one sample: the engine's own delay; steps returned by ``finish`` count
  to the end of the data); the target is ≤ 0.5 s from the first step,
  with quiet standing at the start or without (provisional walking
  calibration, engine.py "Latency"); a 10-minute simulated session without
  standing is in the table for that.
- mobgap (a peer, never a dependency): IcdIonescu + LrcMcCamley over the same
  recordings, run in a separate virtual environment created on first use under
  ``~/.cache/gaitstream/mobgap-venv`` with ``pip install mobgap``.
"""

from __future__ import annotations

import os

# one core: no BLAS/OpenMP worker threads (set before numpy is imported)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gaitstream.gait.engine import StreamingGaitEngine  # noqa: E402
from gaitstream.gait.offline import analyze_recording  # noqa: E402
from gaitstream.gait.orientation import FusionOrientation  # noqa: E402
from gaitstream.gait.recording import Recording, infer_sampling_rate_hz, load_recording_csv  # noqa: E402

MOBGAP_VENV = Path.home() / ".cache" / "gaitstream" / "mobgap-venv"
FRAME_SAMPLES = 10
REPEATS = 3

MOBGAP_TIMER = r"""
import json, sys, time, warnings
import pandas as pd
warnings.filterwarnings("ignore")
from mobgap.initial_contacts import IcdIonescu
from mobgap.laterality import LrcMcCamley
out = []
for path in json.load(sys.stdin):
    df = pd.read_csv(path)
    data = pd.DataFrame({"acc_is": df.acc_z, "acc_ml": df.acc_y, "acc_pa": df.acc_x,
                         "gyr_is": df.gyr_z, "gyr_ml": df.gyr_y, "gyr_pa": df.gyr_x})
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        icd = IcdIonescu().detect(data, sampling_rate_hz=100.0)
        LrcMcCamley().predict(data, icd.ic_list_, sampling_rate_hz=100.0)
        best = min(best, time.perf_counter() - t0)
    out.append(best)
json.dump(out, sys.stdout)
"""


def mobgap_python() -> Path | None:
    """Python of the mobgap venv, created (``pip install mobgap``) on first use; None on failure."""
    python = MOBGAP_VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import mobgap"], capture_output=True).returncode == 0:
        return python
    console = Console(stderr=True)
    console.print(f"creating mobgap venv at {MOBGAP_VENV} (pip install mobgap) ...")
    MOBGAP_VENV.parent.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("GAITSTREAM_MOBGAP_BASE_PYTHON", sys.executable)
    steps = [[base, "-m", "venv", str(MOBGAP_VENV)], [str(python), "-m", "pip", "install", "-q", "mobgap"]]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            console.print(f"mobgap venv setup failed: {' '.join(cmd)}\n{proc.stderr[-1500:]}")
            return None
    return python


def shared_data_dir() -> Path:
    env = os.environ.get("GAITSTREAM_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def simulated_recording(
    duration_s: float = 600.0, standing_s: float = 5.0, trunk_height_m: float | None = None
) -> Recording | None:
    """A simulated session; with ``trunk_height_m`` a trunk sensor that high above the lumbar pivot
    (a one-sided compensation, 8° toward the left stance limb)."""
    try:
        from gaitstream.simulate import SimulationConfig, simulate_session
    except ImportError:
        return None
    trunk = trunk_height_m is not None
    cols = simulate_session(
        SimulationConfig(
            duration_s=duration_s,
            trunk_lean_left_deg=8.0 if trunk else None,
            trunk_lean_right_deg=0.0 if trunk else None,
            trunk_sensor_height_m=trunk_height_m or 0.0,
            mounting_deg=(5.0, 30.0, 8.0),
            standing_s=standing_s,
        )
    ).recording_columns
    t = cols["time_s"]

    def columns(prefix: str, kind: str) -> np.ndarray:
        return np.column_stack([cols[f"{prefix}{kind}_{a}"] for a in "xyz"])

    return Recording(
        t,
        columns("", "acc"),
        columns("", "gyr"),
        columns("trunk_", "acc") if trunk else None,
        columns("trunk_", "gyr") if trunk else None,
        infer_sampling_rate_hz(t),
        "simulated",
    )


def offline_xrt(rec: Recording) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        analyze_recording(rec)
        best = min(best, time.perf_counter() - t0)
    return rec.duration_s / best


def streaming_us_per_sample(rec: Recording) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        best = min(best, _streaming_once(rec))
    return best


def _engine(rec: Recording) -> StreamingGaitEngine:
    return StreamingGaitEngine(sampling_rate_hz=rec.sampling_rate_hz, trunk=rec.trunk_acc_mps2 is not None)


def _push(engine: StreamingGaitEngine, rec: Recording, lo: int, hi: int) -> list:
    """Samples [lo, hi) of the recording, the trunk's too when it has one."""
    trunk = () if rec.trunk_acc_mps2 is None else (rec.trunk_acc_mps2[lo:hi], rec.trunk_gyr_dps[lo:hi])
    return engine.push(rec.time_s[lo:hi], rec.acc_mps2[lo:hi], rec.gyr_dps[lo:hi], *trunk)


def _streaming_once(rec: Recording) -> float:
    engine = _engine(rec)
    n = len(rec.time_s)
    t0 = time.perf_counter()
    for lo in range(0, n, FRAME_SAMPLES):
        _push(engine, rec, lo, lo + FRAME_SAMPLES)
        engine.drain_trace()
    engine.finish()  # short recordings may end while calibrating
    engine.drain_trace()
    return 1e6 * (time.perf_counter() - t0) / n


def max_step_delay_s(rec: Recording, frame_samples: int = FRAME_SAMPLES) -> float:
    """Largest data time between a step's end IC and the frame that returned it (untimed pass)."""
    engine = _engine(rec)
    n = len(rec.time_s)
    delays = []
    for lo in range(0, n, frame_samples):
        hi = min(n, lo + frame_samples)
        delays += [rec.time_s[hi - 1] - s.end_s for s in _push(engine, rec, lo, hi)]
        engine.drain_trace()
    delays += [rec.time_s[-1] - s.end_s for s in engine.finish()]
    return max(delays) if delays else float("nan")


def fusion_us_per_sample(rec: Recording) -> float:
    fusion = FusionOrientation(sampling_rate_hz=rec.sampling_rate_hz)
    t0 = time.perf_counter()
    fusion.update(rec.acc_mps2, rec.gyr_dps)
    return 1e6 * (time.perf_counter() - t0) / len(rec.time_s)


def _calibration_method(rec: Recording) -> str:
    engine = _engine(rec)
    _push(engine, rec, 0, len(rec.time_s))
    engine.finish()
    return (engine.calibration or {}).get("method") or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mobgap", action="store_true", help="skip mobgap (no venv creation)")
    args = parser.parse_args()
    console = Console(width=160)
    paths = sorted((shared_data_dir() / "mobgap-HA001").glob("HA_*.csv"))
    recordings = [(p.stem.replace("HA_001_TimeMeasure1_", ""), load_recording_csv(p)) for p in paths]
    sim = simulated_recording()
    if sim is not None:
        recordings.append(("simulated 10 min, 100 Hz", sim))
        recordings.append(("simulated 10 min, 100 Hz, no standing", simulated_recording(standing_s=0.0)))
        recordings.append(("simulated 10 min, 100 Hz, trunk 0.45 m", simulated_recording(trunk_height_m=0.45)))
    mobgap_s = None
    if not args.no_mobgap and paths:
        python = mobgap_python()
        if python is not None:
            proc = subprocess.run(
                [str(python), "-c", MOBGAP_TIMER],
                input=json.dumps([str(p) for p in paths]),
                capture_output=True,
                text=True,
            )
            mobgap_s = json.loads(proc.stdout) if proc.returncode == 0 else None
            if mobgap_s is None:
                console.print(f"mobgap timing failed: {proc.stderr[-1500:]}")
    table = Table(title="gait engine speed (one core)")
    for col in (
        "recording",
        "duration s",
        "offline ×RT (ours)",
        "mobgap Ionescu+McCamley ×RT",
        "streaming µs/sample (10-sample frames)",
        "imufusion loop µs/sample",
        "max step delay s",
        "max step delay s (1-sample frames)",
        "calibration",
    ):
        table.add_column(col)
    warnings.simplefilter("ignore")  # calibration notes (e.g. sitting start) are not speed
    for i, (name, rec) in enumerate(recordings):
        theirs = f"{rec.duration_s / mobgap_s[i]:.0f}" if mobgap_s is not None and i < len(mobgap_s) else "-"
        table.add_row(
            name,
            f"{rec.duration_s:.1f}",
            f"{offline_xrt(rec):.0f}",
            theirs,
            f"{streaming_us_per_sample(rec):.2f}",
            f"{fusion_us_per_sample(rec):.2f}",
            f"{max_step_delay_s(rec):.2f}",
            f"{max_step_delay_s(rec, 1):.2f}",
            _calibration_method(rec),
        )
    console.print(table)
    console.print(
        "Notes: mobgap figures exclude its own pipeline (gait sequence detection); ours include "
        "calibration, orientation, events, metrics and summary."
    )


if __name__ == "__main__":
    main()
