"""One session's report: read it and the patient's earlier sessions from InfluxDB, add the
programme (from the alerts API when configured) and the pending suggestion (the clinic's rules),
write HTML, PDF and the FHIR Bundle."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gaitstream.logging import kv
from gaitstream.services.programme.suggest import (
    BUILT_IN_RULES,
    ProgrammeState,
    Suggestion,
    load_rules,
    next_step,
    starting_programme,
)
from gaitstream.services.report.figures import SessionFigures, session_figures
from gaitstream.services.report.influx import SessionReader
from gaitstream.services.report.pending import write_pending_suggestion

log = logging.getLogger(__name__)

# The progress plot shows at most this many of the patient's sessions (the latest).
HISTORY_SESSIONS = 30


@dataclass(frozen=True)
class Programme:
    """What a report needs of the patient's programme (its current revision)."""

    phase: str
    sides: tuple[str, ...]
    target_pelvic_drop_deg: float
    feedback_plan: str | None
    phase_since: datetime  # when the current phase began (the first revision of it)


ProgrammeSource = Callable[[str, str], Programme | None]


@dataclass(frozen=True)
class MadeReport:
    html: Path
    pdf: Path
    fhir: Path
    figures: SessionFigures
    suggestion: Suggestion | None


def suggestion_for(
    rules: dict, figures: SessionFigures, history: list[SessionFigures], programme: Programme | None
) -> Suggestion | None:
    """A starting programme when the patient has none, else the next step the rules propose."""
    if programme is None:
        return starting_programme(rules, figures.classification) if figures.classification else None
    since_us = programme.phase_since.timestamp() * 1e6
    state = ProgrammeState(
        phase=programme.phase,
        sides=programme.sides,
        target_deg=programme.target_pelvic_drop_deg,
        feedback_plan=programme.feedback_plan,
        sessions_in_phase=sum(1 for f in history if f.started_us >= since_us),
    )
    return next_step(rules, state, [f.for_rules() for f in history])


def _programme(programme_of: ProgrammeSource | None, clinic_id: str, patient_id: str) -> Programme | None:
    """The patient's programme; when the API cannot say (down, key refused) the report is still
    made and says the programme is not available."""
    if programme_of is None:
        return None
    try:
        return programme_of(clinic_id, patient_id)
    except Exception as exc:  # any transport or HTTP error means the same to a report
        log.warning(kv("report_programme_unavailable", clinic=clinic_id, patient=patient_id, error=type(exc).__name__))
        return None


def make_report(
    reader: SessionReader,
    session_id: str,
    out_dir: Path,
    *,
    programme_of: ProgrammeSource | None = None,
    rules_file: Path | None = None,
    links_of: Callable[[str], dict[str, str]] | None = None,
    now: datetime | None = None,
    require_stop: bool = False,
) -> MadeReport:
    from gaitstream.services.report.fhir import session_bundle, write_fhir
    from gaitstream.services.report.render import ReportContext, write_report

    record = reader.read(session_id, require_stop=require_stop)
    figures = session_figures(record)
    earlier = [sid for sid in reader.session_ids_of(record.clinic_id, record.patient_id) if sid != session_id]
    history = [session_figures(reader.read(sid)) for sid in earlier[-(HISTORY_SESSIONS - 1) :]]
    history = sorted([*(f for f in history if f.started_us <= figures.started_us), figures], key=lambda f: f.started_us)
    programme = _programme(programme_of, record.clinic_id, record.patient_id)
    suggestion = suggestion_for(load_rules(rules_file or BUILT_IN_RULES), figures, history, programme)
    context = ReportContext(
        figures=figures,
        record=record,
        history=tuple(history),
        programme_phase=programme.phase if programme else None,
        suggestion=suggestion,
        generated_at=now or datetime.now(UTC),
        links=links_of(record.clinic_id) if links_of else {},
    )
    clinic_dir = out_dir / record.clinic_id
    clinic_dir.mkdir(parents=True, exist_ok=True)
    files = write_report(context, clinic_dir)
    fhir_path = files.html.with_suffix(".fhir.json")
    write_fhir(session_bundle(figures), fhir_path)
    if figures.started_us >= max(f.started_us for f in history):  # an older session's report changes no suggestion
        write_pending_suggestion(clinic_dir, record.patient_id, session_id, context.generated_at, suggestion)
    log.info(
        kv(
            "report_written",
            clinic=record.clinic_id,
            patient=record.patient_id,
            session=session_id,
            steps=len(record.steps),
            history_sessions=len(history),
            suggestion=suggestion.rule if suggestion else "-",
        )
    )
    return MadeReport(files.html, files.pdf, fhir_path, figures, suggestion)
