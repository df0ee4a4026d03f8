"""Whole-session simulation with ground truth, and its file writers.

``simulate_session(config)`` returns the recording columns of the CSV contract
(GAIT_SPEC.md) and a truth document shaped like the analyzer's JSON output, so a
benchmark can compare the two field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gaitstream.simulate.config import SimulationConfig
from gaitstream.simulate.render import SessionModel
from gaitstream.simulate.truth import summarize

#: Samples rendered per piece of a whole session (progress granularity).
RENDER_BLOCK_SAMPLES = 6000
#: Decimals written to the recording CSV (1e-6 m/s² and deg/s is far below noise).
CSV_DECIMALS = 6


def _angles(values: tuple[float, float, float]) -> dict[str, float]:
    roll_deg, pitch_deg, yaw_deg = values
    return {"roll": float(roll_deg), "pitch": float(pitch_deg), "yaw": float(yaw_deg)}


def build_truth(
    model: SessionModel, steps: list[dict], strides: list[dict], initial_contacts_s: np.ndarray, first_step: int = 0
) -> dict:
    """Truth document: the analyzer JSON fields plus what the simulation used."""
    cfg = model.config
    left = model.schedule.is_left(np.arange(first_step, first_step + len(initial_contacts_s)))
    return {
        "recording": {
            "sampling_rate_hz": float(cfg.sampling_rate_hz),
            "duration_s": cfg.n_samples / cfg.sampling_rate_hz,
            "trunk": cfg.has_trunk,
        },
        "calibration": {"method": model.calibration_method, "mounting_deg": _angles(cfg.mounting_deg)},
        "initial_contacts": {
            "left": [round(float(t), 6) for t in initial_contacts_s[left]],
            "right": [round(float(t), 6) for t in initial_contacts_s[~left]],
        },
        "steps": steps,
        "strides": strides,
        "summary": summarize(steps, strides, has_trunk=cfg.has_trunk),
        "mounting_deg": _angles(cfg.mounting_deg),
        "trunk_mounting_deg": _angles(cfg.trunk_mounting_deg) if cfg.has_trunk else None,
        "gyr_bias_dps": {
            "pelvis": [float(b) for b in model.gyr_bias_dps[0]],
            "trunk": [float(b) for b in model.gyr_bias_dps[1]] if cfg.has_trunk else None,
        },
        "obliquity_baseline_deg": model.obliquity_baseline_deg,
        "config": cfg.to_dict(),
    }


@dataclass
class SimulatedSession:
    """A simulated recording and its ground truth.

    ``recording_columns``: column name -> array (``time_s``, ``acc_x`` ..
    ``gyr_z``, and ``trunk_acc_x`` .. ``trunk_gyr_z`` with a trunk sensor).
    ``truth``: dict shaped like the analyzer JSON of GAIT_SPEC.md plus
    ``mounting_deg``, ``gyr_bias_dps`` and ``config``. ``trace``: true pelvic
    obliquity and trunk lean (deg) at the sample times.
    """

    config: SimulationConfig
    recording_columns: dict[str, np.ndarray]
    truth: dict
    trace: dict[str, np.ndarray | None] = field(default_factory=dict)

    def write_recording_csv(self, path: str | Path) -> Path:
        """Write the recording in the CSV contract (header row, one row per sample)."""
        path = Path(path)
        names = list(self.recording_columns)
        table = np.column_stack([self.recording_columns[n] for n in names])
        np.savetxt(path, table, delimiter=",", header=",".join(names), comments="", fmt=f"%.{CSV_DECIMALS}f")
        return path

    def write_truth_json(self, path: str | Path, *, include_trace: bool = False) -> Path:
        """Write the truth document as JSON (with the per-sample trace if asked)."""
        path = Path(path)
        doc = dict(self.truth)
        if include_trace:
            doc["trace"] = {k: (None if v is None else np.round(v, 5).tolist()) for k, v in self.trace.items()}
        path.write_text(json.dumps(doc, indent=1) + "\n")
        return path


def simulate_session(
    config: SimulationConfig,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> SimulatedSession:
    """Simulate one session (``on_progress(samples_done, samples_total)`` if given).

    1. Build the session model (step schedule, kinematics, sensors).
    2. Render every sample.
    3. Truth: ICs before the last sample, complete steps and strides, summary.
    4. Trace of the true angles at the sample times.
    """
    # 1. Model; the obliquity reference uses the whole session.
    model = SessionModel(config, baseline_window_s=None)
    # 2. Samples.
    n_total = config.n_samples
    pieces = []
    for n0 in range(0, n_total, RENDER_BLOCK_SAMPLES):
        n1 = min(n0 + RENDER_BLOCK_SAMPLES, n_total)
        pieces.append(model.render(n0, n1))
        if on_progress is not None:
            on_progress(n1, n_total)
    columns = {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}
    # 3. Truth.
    steps, strides = model.completed_steps(0, model.last_time_s)
    ic = model.schedule.initial_contacts_s()
    ic = ic[ic <= model.last_time_s]
    truth = build_truth(model, steps, strides, ic)
    # 4. Trace.
    time_s = columns["time_s"]
    trace = {
        "time_s": time_s,
        "pelvic_obliquity_deg": model.obliquity_at(time_s),
        "trunk_lateral_lean_deg": model.lean_at(time_s) if config.has_trunk else None,
    }
    return SimulatedSession(config=config, recording_columns=columns, truth=truth, trace=trace)
