"""What a session report says (pure): its context and page 1's rows, formatted once for the HTML
page and the PDF alike, so that a number reads the same in both (one decimal, "–" when absent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gaitstream.services.programme.suggest import Suggestion
from gaitstream.services.report.figures import SIDES, SessionFigures, SessionRecord

MISSING = "–"


@dataclass(frozen=True)
class ReportContext:
    figures: SessionFigures
    record: SessionRecord  # the per-step plots
    history: tuple[SessionFigures, ...]  # the patient's sessions, oldest first, this one included
    programme_phase: str | None
    suggestion: Suggestion | None
    generated_at: datetime  # passed in: the same context renders the same bytes
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One line of page 1: its label, what it shows (``metric``/``side`` for tools) and the text."""

    label: str
    text: str
    metric: str | None = None
    side: str | None = None


def fmt(value: float | None) -> str:
    """Degrees, cadence, percent, minutes: one decimal; "–" when there is no value."""
    return MISSING if value is None else f"{value:.1f}"


def fmt_pct(share: float | None) -> str:
    return MISSING if share is None else f"{100 * share:.1f}"


def when(time_us: int) -> str:
    return datetime.fromtimestamp(time_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _against(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return MISSING
    return "within" if value <= limit else "above"


def summary_rows(ctx: ReportContext) -> list[Row]:
    f = ctx.figures
    rows = [
        Row("Patient (pseudonym)", f.patient_id, "patient_id"),
        Row("Session", f.session_id, "session_id"),
        Row("Station", f.station_id, "station_id"),
        Row("Date", when(f.started_us), "date"),
        Row("Duration (min)", fmt(f.duration_s / 60.0), "duration_min"),
        Row("Classification", f.classification or MISSING, "classification"),
        Row("Classification flags", ", ".join(f.classification_flags) or "none", "classification_flags"),
        Row("Programme phase", ctx.programme_phase or "not available", "programme_phase"),
        Row("Target pelvic drop (deg)", fmt(f.target_pelvic_drop_deg), "target_pelvic_drop_deg"),
        Row("Normal pelvic drop (deg, below)", fmt(f.normal_pelvic_drop_deg), "normal_pelvic_drop_deg"),
    ]
    for side in SIDES:
        s = f.sides[side]
        rows += [
            Row(f"Steps {side}", str(s.steps), "steps", side),
            Row(f"Pelvic drop median {side} (deg)", fmt(s.pelvic_drop_deg_median), "pelvic_drop_deg_median", side),
            Row(f"Pelvic drop p90 {side} (deg)", fmt(s.pelvic_drop_deg_p90), "pelvic_drop_deg_p90", side),
            Row(
                f"Median {side} vs target",
                _against(s.pelvic_drop_deg_median, f.target_pelvic_drop_deg),
                "versus_target",
                side,
            ),
            Row(
                f"Median {side} vs normal",
                _against(s.pelvic_drop_deg_median, f.normal_pelvic_drop_deg),
                "versus_normal",
                side,
            ),
            Row(
                f"Trunk lean median {side} (deg)",
                fmt(s.trunk_lean_deg_median) if f.trunk_present else "no trunk sensor",
                "trunk_lean_deg_median",
                side,
            ),
            Row(
                f"Pelvic drop in probes {side} (deg)",
                fmt(s.probe_pelvic_drop_deg_median),
                "probe_pelvic_drop_deg_median",
                side,
            ),
            Row(
                f"Pelvic drop with feedback {side} (deg)",
                fmt(s.feedback_pelvic_drop_deg_median),
                "feedback_pelvic_drop_deg_median",
                side,
            ),
        ]
    rows += [
        Row("Pelvic drop asymmetry L-R (deg)", fmt(f.pelvic_drop_asymmetry_deg), "pelvic_drop_asymmetry_deg"),
        Row("Cadence (steps/min)", fmt(f.cadence_spm), "cadence_spm"),
        Row("Step-time asymmetry (%)", fmt(f.step_time_asymmetry_pct), "step_time_asymmetry_pct"),
        Row("Feedback plan", f.feedback_plan or "none", "feedback_plan"),
        Row("Feedback dose (% of steps with a cue shown)", fmt_pct(f.dose), "dose"),
    ]
    return rows


def block_rows(ctx: ReportContext) -> list[list[str]]:
    """Per block: number, schedule, minutes, steps, dose %, median left/right (deg)."""
    return [
        [
            str(b.index + 1),
            b.schedule,
            fmt((b.end_us - b.start_us) / 60e6),
            str(b.steps),
            fmt_pct(b.dose),
            fmt(b.pelvic_drop_deg_median.get("left")),
            fmt(b.pelvic_drop_deg_median.get("right")),
        ]
        for b in ctx.figures.blocks
    ]


BLOCK_HEADER = ["Block", "Schedule", "Minutes", "Steps", "Dose %", "Median left", "Median right"]


def suggestion_lines(ctx: ReportContext) -> list[str]:
    """The pending suggestion, what it proposes and the measurements behind it."""
    s = ctx.suggestion
    if s is None:
        return ["No suggestion pending."]
    proposal = "; ".join(f"{key}: {_text(value)}" for key, value in s.propose.items())
    lines = [f"Rule: {s.rule}", f"Proposes: {proposal}", f"Because: {s.because}", "Measured:"]
    for m in s.measurements:
        value = m.get("value")
        shown = fmt(value) if isinstance(value, float) else str(value)
        where = " ".join(str(m[k]) for k in ("session", "side") if m.get(k))
        limits = ", ".join(
            f"{k.replace('_', ' ')} {fmt(v) if isinstance(v, float) else v}"
            for k, v in m.items()
            if k not in ("session", "side", "metric", "value")
        )
        lines.append(f"  {where} {m.get('metric')} = {shown}" + (f" ({limits})" if limits else ""))
    lines.append("Nothing changes until the therapist accepts it.")
    return lines


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
