"""Crafted sessions for the report tests (known steps, cues and blocks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaitstream.services.report.figures import Cue, SessionRecord, Step

T0_US = 1_764_000_000_000_000


def crafted_record(
    *,
    steps: int = 400,
    session_id: str = "s-1",
    screen: bool = True,
    trunk: bool = False,
    seed: int = 1,
    start_us=T0_US,
) -> SessionRecord:
    """Left steps around 6°, right around 3°, 0.5 s apart; with a screen: blocks none (first
    10 %), faded (cue shown on two steps of three), none (last 10 %)."""
    rng = np.random.default_rng(seed)
    rows, cues = [], []
    for i in range(steps):
        side = "left" if i % 2 == 0 else "right"
        time_us = start_us + i * 500_000
        drop = float(rng.normal(6.0 if side == "left" else 3.0, 1.0))
        lean = float(rng.normal(4.0, 0.5)) if trunk else None
        rows.append(Step(time_us, side, drop, 0.52 if side == "left" else 0.48, lean, None, i))
        if screen:
            block = 0 if i < steps // 10 else (1 if i < steps - steps // 10 else 2)
            schedule = ("none", "faded", "none")[block]
            cues.append(Cue(time_us, block, schedule, side, schedule != "none" and i % 3 != 0, drop, i))
    return SessionRecord(
        clinic_id="clinic-1",
        patient_id="P-0042",
        session_id=session_id,
        station_id="st-1",
        started_us=start_us,
        stopped_us=start_us + steps * 500_000,
        target_pelvic_drop_deg=2.0 if screen else None,
        feedback_plan="none:20s,faded:160s,none:20s" if screen else None,
        trunk_present=trunk,
        classification="trendelenburg_left",
        steps=tuple(rows),
        cues=tuple(cues),
    )


def without_side(record: SessionRecord, side: str) -> SessionRecord:
    return replace(
        record,
        steps=tuple(s for s in record.steps if s.side != side),
        cues=tuple(c for c in record.cues if c.side != side),
    )
