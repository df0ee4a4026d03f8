"""A patient's pending suggestion (the suggestion rules over their sessions, in their latest
session report) and the therapist's acceptance of it:

- ``GET /v1/clinics/{clinic}/patients/{patient}/programme/suggestion``: what the rules propose,
  the rule, why, the measurements behind it and the session it comes from (404: none yet).
- ``POST …/programme/suggestion/accept`` with ``{"session_id": …}`` (the suggestion the therapist
  read): a new programme revision, the current one with the proposal applied, ``source``
  ``suggestion:<rule>``. A suggestion replaced by a newer session's in the meantime: 409.

Nothing changes until the therapist accepts; the report service only writes the suggestion.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict

from gaitstream.services.alerts.api.auth import SessionDep
from gaitstream.services.alerts.api.programme_schemas import ProgrammeIn, ProgrammeOut
from gaitstream.services.alerts.api.programmes import LibraryDep, ScopedDep, get_programme, put_programme
from gaitstream.services.alerts.api.schemas import Id
from gaitstream.services.alerts.store.models import ProgrammeRevision

router = APIRouter(tags=["programmes"])
# A first programme from a start suggestion aims at this pelvic drop until the therapist says otherwise.
DEFAULT_TARGET_DEG = 2.0


class Acceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str


def _pending(request: Request, clinic_id: str, patient_id: str) -> dict[str, Any]:
    from gaitstream.services.report.pending import suggestion_path

    reports_dir = request.app.state.settings.reports_dir
    path = None if reports_dir is None else suggestion_path(reports_dir / clinic_id, patient_id)
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no session report of patient {patient_id!r} yet")
    pending = json.loads(path.read_text(encoding="utf-8"))
    if pending.get("suggestion") is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the latest report of {patient_id!r} suggests nothing")
    return pending


@router.get(
    "/clinics/{clinic_id}/patients/{patient_id}/programme/suggestion",
    summary="What the rules propose after the patient's latest session, and the measurements behind it",
)
def get_suggestion(request: Request, clinic_id: Id, patient_id: Id, _principal: ScopedDep) -> dict[str, Any]:
    return _pending(request, clinic_id, patient_id)


def proposed_programme(current: ProgrammeRevision | None, suggestion: dict[str, Any]) -> ProgrammeIn:
    """The current programme with the proposal applied (pure but for reading ``current``)."""
    base: dict[str, Any] = (
        {"phase": "none", "sides": [], "target_pelvic_drop_deg": DEFAULT_TARGET_DEG, "exercises": []}
        if current is None
        else {
            "phase": current.phase,
            "sides": list(current.sides),
            "target_pelvic_drop_deg": current.target_pelvic_drop_deg,
            "feedback_plan": current.feedback_plan,
            "exercises": list(current.exercises),
            "note": current.note,
        }
    )
    propose = suggestion["propose"]
    for key in ("phase", "sides", "feedback_plan"):
        if key in propose:
            base[key] = propose[key]
    if "exercises" in propose:
        kept = {e["exercise_id"]: e for e in base["exercises"]}
        base["exercises"] = [kept.get(e, {"exercise_id": e}) for e in propose["exercises"]]
    base["source"] = f"suggestion:{suggestion['rule']}"
    return ProgrammeIn.model_validate(base)


@router.post(
    "/clinics/{clinic_id}/patients/{patient_id}/programme/suggestion/accept",
    response_model=ProgrammeOut,
    summary="Accept the pending suggestion: a new programme revision with it applied",
)
def accept_suggestion(
    request: Request,
    clinic_id: Id,
    patient_id: Id,
    body: Acceptance,
    principal: ScopedDep,
    session: SessionDep,
    library: LibraryDep,
    response: Response,
) -> ProgrammeRevision:
    pending = _pending(request, clinic_id, patient_id)
    if pending["session_id"] != body.session_id:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"the pending suggestion is now session {pending['session_id']}'s: read it again before accepting",
        )
    try:
        current = get_programme(clinic_id, patient_id, principal, session)
    except HTTPException:
        current = None
    try:
        programme = proposed_programme(current, pending["suggestion"])
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"the suggestion cannot be applied: {exc}") from exc
    return put_programme(clinic_id, patient_id, programme, principal, session, library, response)


@router.get(
    "/clinics/{clinic_id}/patients/{patient_id}/programme.fhir.json",
    summary="The current programme as FHIR: a CarePlan whose activities are ServiceRequests",
    responses={200: {"content": {"application/fhir+json": {}}}},
)
def programme_fhir(
    clinic_id: Id, patient_id: Id, principal: ScopedDep, session: SessionDep, library: LibraryDep
) -> Response:
    from gaitstream.services.report.fhir_programme import ProgrammeForExport, programme_care_plan

    row = get_programme(clinic_id, patient_id, principal, session)  # 404 without one
    created_at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    bundle = programme_care_plan(
        ProgrammeForExport(
            clinic_id=row.clinic_id,
            patient_id=row.patient_id,
            revision=row.revision,
            phase=row.phase,
            sides=list(row.sides),
            target_pelvic_drop_deg=row.target_pelvic_drop_deg,
            feedback_plan=row.feedback_plan,
            exercises=list(row.exercises),
            note=row.note,
            created_at=created_at,
        ),
        library=library,
    )
    return Response(bundle.model_dump_json(exclude_none=True), media_type="application/fhir+json")
