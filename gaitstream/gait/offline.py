"""Whole-recording analysis: the streaming engine over the full array plus the summary.

The result is the analyzer JSON object of GAIT_SPEC.md ("Analyzer output"),
as a dict of lists, floats, strings and None (NaN becomes None).
"""

from __future__ import annotations

import math

import numpy as np

from gaitstream.gait.config import DEFAULT_AXES, GaitConfig
from gaitstream.gait.engine import StreamingGaitEngine
from gaitstream.gait.exceptions import NoWalkingError
from gaitstream.gait.metrics import StepMetrics, strides_from_steps, summarize
from gaitstream.gait.recording import Recording

# Samples pushed per call: large enough to amortise per-call costs, small
# enough that the engine's trace buffer stays modest (60 s at 200 Hz).
CHUNK_SAMPLES = 12_000
TIME_DECIMALS = 3
ANGLE_DECIMALS = 2


def _num(value, decimals: int):
    if value is None:
        return None
    value = float(value)
    return None if not math.isfinite(value) else round(value, decimals)


def run_engine(recording: Recording, config: GaitConfig) -> tuple[StreamingGaitEngine, list[StepMetrics], tuple]:
    """Feed a body-frame recording through one engine; return it, its steps, the full trace and the ICs.

    The trace is (time_s, obliquity, lean or None); the ICs are (time_s, side) pairs.
    """
    body_config = config.model_copy(update={"axes": DEFAULT_AXES, "acc_unit": "mps2", "gyr_unit": "dps"})
    engine = StreamingGaitEngine(
        sampling_rate_hz=recording.sampling_rate_hz,
        trunk=recording.has_trunk,
        config=body_config,
        keep_initial_contacts=True,
    )
    steps: list[StepMetrics] = []
    ics: list[tuple[float, str]] = []
    traces = []
    n = len(recording.time_s)
    for lo in range(0, n, CHUNK_SAMPLES):
        hi = min(n, lo + CHUNK_SAMPLES)
        steps += engine.push(
            recording.time_s[lo:hi],
            recording.acc_mps2[lo:hi],
            recording.gyr_dps[lo:hi],
            None if not recording.has_trunk else recording.trunk_acc_mps2[lo:hi],
            None if not recording.has_trunk else recording.trunk_gyr_dps[lo:hi],
        )
        traces.append(engine.drain_trace())
        ics += engine.drain_initial_contacts()
    steps += engine.finish()
    traces.append(engine.drain_trace())
    ics += engine.drain_initial_contacts()
    t = np.concatenate([tr[0] for tr in traces])
    phi = np.concatenate([tr[1] for tr in traces])
    lean = np.concatenate([tr[2] for tr in traces]) if recording.has_trunk else None
    return engine, steps, (t, phi, lean), ics


def analyze_recording(recording: Recording, config: GaitConfig | None = None, trace: bool = False) -> dict:
    """Analyse a whole recording; raise :class:`NoWalkingError` when it has no steps."""
    config = config or GaitConfig()
    engine, steps, (t, phi, lean), detected = run_engine(recording, config)
    if not steps:
        raise NoWalkingError("no walking found (no pair of alternating initial contacts)", path=recording.source)
    strides = strides_from_steps(steps, t, phi)
    summary = summarize(steps, strides, trunk=recording.has_trunk, config=config, lean_reference=engine.lean_reference)
    # every detected IC with its side, also those that bound no measured step
    ics = {"left": [], "right": []}
    for time_s, side in detected:
        ics[side].append(time_s)
    calibration = engine.calibration or {}
    out = {
        "recording": {
            "sampling_rate_hz": _num(recording.sampling_rate_hz, 3),
            "duration_s": _num(recording.duration_s, TIME_DECIMALS),
            "trunk": recording.has_trunk,
            # corrupt samples the engine removed (treated as missing), by reason
            "rejected_samples": sum(engine.rejected_samples.values()),
            "rejected_by_reason": {k: v for k, v in engine.rejected_samples.items() if v},
        },
        "calibration": {
            "method": calibration.get("method"),
            "mounting_deg": {k: _num(v, ANGLE_DECIMALS) for k, v in calibration.get("mounting_deg", {}).items()},
            "obliquity_reference": calibration.get("obliquity_reference"),
            "trunk_lean_reference": calibration.get("trunk_lean_reference"),
            # with a trunk sensor: its height above the lumbar pivot (m) and whether fitted,
            # configured or assumed (lever_arm.py)
            **(
                {
                    "trunk_lever_arm_m": _num(calibration.get("trunk_lever_arm_m"), 3),
                    "trunk_lever_arm_method": calibration.get("trunk_lever_arm_method"),
                }
                if recording.has_trunk
                else {}
            ),
        },
        "initial_contacts": {side: [_num(x, TIME_DECIMALS) for x in sorted(v)] for side, v in ics.items()},
        "steps": [
            {
                "side": s.side,
                "start_s": _num(s.start_s, TIME_DECIMALS),
                "end_s": _num(s.end_s, TIME_DECIMALS),
                "duration_s": _num(s.duration_s, TIME_DECIMALS),
                "pelvic_drop_deg": _num(s.pelvic_drop_deg, ANGLE_DECIMALS),
                "trunk_lean_deg": _num(s.trunk_lean_deg, ANGLE_DECIMALS),
            }
            for s in steps
        ],
        "strides": [
            {
                "side": st["side"],
                "start_s": _num(st["start_s"], TIME_DECIMALS),
                "end_s": _num(st["end_s"], TIME_DECIMALS),
                "duration_s": _num(st["duration_s"], TIME_DECIMALS),
                "obliquity_rom_deg": _num(st["obliquity_rom_deg"], ANGLE_DECIMALS),
            }
            for st in strides
        ],
        "summary": _summary_json(summary),
    }
    if trace:
        out["trace"] = {
            "time_s": [_num(x, TIME_DECIMALS) for x in t],
            "pelvic_obliquity_deg": [_num(x, ANGLE_DECIMALS) for x in phi],
            "trunk_lateral_lean_deg": None if lean is None else [_num(x, ANGLE_DECIMALS) for x in lean],
        }
    return out


def _summary_json(summary: dict) -> dict:
    out = {}
    for side in ("left", "right"):
        s = summary[side]
        out[side] = {
            "pelvic_drop_deg_median": _num(s["pelvic_drop_deg_median"], ANGLE_DECIMALS),
            "pelvic_drop_deg_p90": _num(s["pelvic_drop_deg_p90"], ANGLE_DECIMALS),
            "trunk_lean_deg_median": _num(s["trunk_lean_deg_median"], ANGLE_DECIMALS),
            "steps": int(s["steps"]),
        }
    out["pelvic_drop_asymmetry_deg"] = _num(summary["pelvic_drop_asymmetry_deg"], ANGLE_DECIMALS)
    out["cadence_spm"] = _num(summary["cadence_spm"], 1)
    out["stride_time_s"] = _num(summary["stride_time_s"], TIME_DECIMALS)
    out["step_time_asymmetry_pct"] = _num(summary["step_time_asymmetry_pct"], 1)
    out["classification"] = summary["classification"]
    out["classification_flags"] = list(summary["classification_flags"])
    return out
