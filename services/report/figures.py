"""One session's figures (pure): what InfluxDB holds of a session (:class:`SessionRecord`) ->
the numbers of its report (:class:`SessionFigures`).

Definitions follow GAIT_SPEC.md: per side the median and 90th percentile (linear interpolation,
numpy's default) of the pelvic drop of every step the pipeline stored for the session, the trunk
lean median, cadence = 60 / median step time, step-time asymmetry = 100·|L−R|/mean of the sides'
median step times. The blocks of the feedback screen come from its cue records (one per step
while a screen was on): per block its schedule, steps and dose (the share of steps whose cue was
visible); "probe" figures are over blocks with schedule ``none`` and "with feedback" over the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gaitstream.services.programme.suggest import SessionSummary

SIDES = ("left", "right")
# GAIT_SPEC.md: normal gait has less than 5° of frontal-plane pelvis and trunk movement.
NORMAL_PELVIC_DROP_DEG = 5.0
PROBE_SCHEDULE = "none"


@dataclass(frozen=True)
class Step:
    time_us: int  # the step's initial contact (its point's time in InfluxDB)
    side: str  # the stance side
    pelvic_drop_deg: float
    step_time_s: float
    trunk_lean_deg: float | None = None
    cadence_spm: float | None = None
    step_index: int = 0


@dataclass(frozen=True)
class Cue:
    """One step's record of the feedback screen (measurement ``gait_feedback``)."""

    time_us: int
    block_index: int
    schedule: str
    side: str
    shown: bool  # the cue was visible on a screen
    pelvic_drop_deg: float
    step_index: int = 0


@dataclass(frozen=True)
class SessionRecord:
    """What InfluxDB holds of one session (the pipeline's points, read by ``influx.py``)."""

    clinic_id: str
    patient_id: str  # a pseudonym
    session_id: str
    station_id: str
    started_us: int
    stopped_us: int | None  # None: still running, or its stop was never written
    pelvic_drop_threshold_deg: float = NORMAL_PELVIC_DROP_DEG
    trunk_lean_threshold_deg: float = 5.0
    target_pelvic_drop_deg: float | None = None
    feedback_plan: str | None = None
    trunk_present: bool = False
    classification: str | None = None  # the last rolling status of the session
    classification_flags: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    cues: tuple[Cue, ...] = ()


@dataclass(frozen=True)
class SideFigures:
    steps: int
    pelvic_drop_deg_median: float | None
    pelvic_drop_deg_p90: float | None
    trunk_lean_deg_median: float | None
    probe_pelvic_drop_deg_median: float | None  # steps in blocks without cues
    feedback_pelvic_drop_deg_median: float | None  # steps in blocks with a schedule


@dataclass(frozen=True)
class BlockFigures:
    index: int
    schedule: str
    start_us: int
    end_us: int
    steps: int
    shown_steps: int
    pelvic_drop_deg_median: dict[str, float | None] = field(default_factory=dict)

    @property
    def dose(self) -> float | None:
        """The share of the block's steps whose cue was visible (None: no steps)."""
        return self.shown_steps / self.steps if self.steps else None


@dataclass(frozen=True)
class SessionFigures:
    clinic_id: str
    patient_id: str
    session_id: str
    station_id: str
    started_us: int
    stopped_us: int | None
    duration_s: float
    sides: dict[str, SideFigures]
    pelvic_drop_asymmetry_deg: float | None
    cadence_spm: float | None
    step_time_asymmetry_pct: float | None
    blocks: tuple[BlockFigures, ...]
    dose: float | None  # over every step with a cue record (None: no screen)
    classification: str | None
    classification_flags: tuple[str, ...]
    target_pelvic_drop_deg: float | None
    pelvic_drop_threshold_deg: float
    feedback_plan: str | None
    trunk_present: bool
    normal_pelvic_drop_deg: float = NORMAL_PELVIC_DROP_DEG

    def for_rules(self) -> SessionSummary:
        """The session as the suggestion rules read it (services/programme/suggest.py)."""
        return SessionSummary(
            session_id=self.session_id,
            probe_median_deg={s: f.probe_pelvic_drop_deg_median for s, f in self.sides.items()},
            feedback_median_deg={s: f.feedback_pelvic_drop_deg_median for s, f in self.sides.items()},
            median_deg={s: f.pelvic_drop_deg_median for s, f in self.sides.items()},
            dose=self.dose,
        )


def _median(values) -> float | None:
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    return float(np.median(arr)) if arr.size else None


def _p90(values) -> float | None:
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    return float(np.percentile(arr, 90)) if arr.size else None


def _blocks(cues: tuple[Cue, ...]) -> tuple[BlockFigures, ...]:
    by_index: dict[int, list[Cue]] = {}
    for cue in cues:
        by_index.setdefault(cue.block_index, []).append(cue)
    blocks = []
    for index in sorted(by_index):
        rows = sorted(by_index[index], key=lambda c: c.time_us)
        blocks.append(
            BlockFigures(
                index=index,
                schedule=rows[0].schedule,
                start_us=rows[0].time_us,
                end_us=rows[-1].time_us,
                steps=len(rows),
                shown_steps=sum(1 for c in rows if c.shown),
                pelvic_drop_deg_median={s: _median(c.pelvic_drop_deg for c in rows if c.side == s) for s in SIDES},
            )
        )
    return tuple(blocks)


def session_figures(record: SessionRecord) -> SessionFigures:
    """The report's numbers of ``record`` (steps in any order; times in µs since the epoch)."""
    steps = sorted(record.steps, key=lambda s: s.time_us)
    probe_steps = {(c.side, c.step_index) for c in record.cues if c.schedule == PROBE_SCHEDULE}
    cued_steps = {(c.side, c.step_index) for c in record.cues if c.schedule != PROBE_SCHEDULE}
    sides = {}
    for side in SIDES:
        mine = [s for s in steps if s.side == side]
        sides[side] = SideFigures(
            steps=len(mine),
            pelvic_drop_deg_median=_median(s.pelvic_drop_deg for s in mine),
            pelvic_drop_deg_p90=_p90(s.pelvic_drop_deg for s in mine),
            trunk_lean_deg_median=_median(s.trunk_lean_deg for s in mine) if record.trunk_present else None,
            probe_pelvic_drop_deg_median=_median(
                s.pelvic_drop_deg for s in mine if (side, s.step_index) in probe_steps
            ),
            feedback_pelvic_drop_deg_median=_median(
                s.pelvic_drop_deg for s in mine if (side, s.step_index) in cued_steps
            ),
        )
    left, right = sides["left"].pelvic_drop_deg_median, sides["right"].pelvic_drop_deg_median
    step_time_s = _median(s.step_time_s for s in steps)
    left_s = _median(s.step_time_s for s in steps if s.side == "left")
    right_s = _median(s.step_time_s for s in steps if s.side == "right")
    last_us = max([record.stopped_us or 0, *(s.time_us for s in steps)])
    shown = [c.shown for c in record.cues]
    return SessionFigures(
        clinic_id=record.clinic_id,
        patient_id=record.patient_id,
        session_id=record.session_id,
        station_id=record.station_id,
        started_us=record.started_us,
        stopped_us=record.stopped_us,
        duration_s=max(0.0, (last_us - record.started_us) / 1e6),
        sides=sides,
        pelvic_drop_asymmetry_deg=None if left is None or right is None else left - right,
        cadence_spm=60.0 / step_time_s if step_time_s else None,
        step_time_asymmetry_pct=(
            100.0 * abs(left_s - right_s) / ((left_s + right_s) / 2.0) if left_s and right_s else None
        ),
        blocks=_blocks(record.cues),
        dose=sum(shown) / len(shown) if shown else None,
        classification=record.classification,
        classification_flags=record.classification_flags,
        target_pelvic_drop_deg=record.target_pelvic_drop_deg,
        pelvic_drop_threshold_deg=record.pelvic_drop_threshold_deg,
        feedback_plan=record.feedback_plan,
        trunk_present=record.trunk_present,
    )
