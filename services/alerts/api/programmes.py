"""``/v1/clinics/{clinic_id}/…/programme``: a patient's therapy programme, set by the
therapist and kept as history.

Every save adds a revision (1, 2, … per clinic and patient) and none is ever changed: the highest
is the current programme. Scoped like the rest of the API: 401 without a valid key, 403 for a
clinic outside the key's scope (checked before the body, so an unscoped caller learns nothing of
its validation), 422 for a malformed body naming the field. The audit log records every call.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gaitstream.logging import kv
from gaitstream.services.alerts.api.auth import Principal, PrincipalDep, SessionDep
from gaitstream.services.alerts.api.programme_schemas import PrescribedExercise, ProgrammeIn, ProgrammeOut
from gaitstream.services.alerts.api.schemas import Id
from gaitstream.services.alerts.store.accounts import utcnow
from gaitstream.services.alerts.store.models import ProgrammeRevision
from gaitstream.services.programme.library import Dosage, Library, load_library

log = logging.getLogger(__name__)
router = APIRouter(
    tags=["programmes"],
    responses={
        401: {"description": "Missing, invalid or revoked API key"},
        403: {"description": "Clinic outside the key's scope"},
    },
)

# Starlette renamed the 422 constant (…_ENTITY -> …_CONTENT); the number is what clients see.
UNPROCESSABLE = 422
# Two saves for one patient at once both compute the next revision; the unique constraint lets one
# win and the other tries again with the next number. Three rounds cover a therapist's double click.
SAVE_ATTEMPTS = 3


def load_exercise_library(clinic_dir: Path | None = None) -> Library:
    """The built-in exercises and the clinic's own (a folder of ``*.yaml``,
    ``GAITSTREAM_ALERTS_PROGRAMME_LIBRARY_DIR``); a broken file raises ``LibraryError`` naming it,
    at the app's creation."""
    return load_library(clinic_dir)


def scoped_clinic(clinic_id: Id, principal: PrincipalDep) -> Principal:
    """The caller, once its key is known to cover ``clinic_id`` (a dependency: it runs before
    the body is validated)."""
    principal.require_clinic(clinic_id)
    return principal


ScopedDep = Annotated[Principal, Depends(scoped_clinic)]


def _library(request: Request) -> Library:
    return request.app.state.exercise_library


LibraryDep = Annotated[Library, Depends(_library)]


def resolve_exercises(library: Library, exercises: list[PrescribedExercise]) -> list[dict[str, Any]]:
    """Each exercise with its whole dosage: the library's, with what the therapist gave over it.
    An unknown exercise or a dosage out of range: 422 at the exercise's field."""
    errors: list[dict[str, Any]] = []
    resolved = []
    for index, item in enumerate(exercises):
        exercise = library.exercises.get(item.exercise_id)
        if exercise is None:
            errors.append(
                {
                    "type": "value_error",
                    "loc": ["body", "exercises", index, "exercise_id"],
                    "msg": f"unknown exercise {item.exercise_id!r} (not in the exercise library)",
                    "input": item.exercise_id,
                }
            )
            continue
        given = item.dosage.model_dump(exclude_unset=True) if item.dosage is not None else {}
        try:
            dosage = Dosage.model_validate({**exercise.dosage.model_dump(), **given})
        except ValidationError as error:
            errors.extend(
                {"type": e["type"], "loc": ["body", "exercises", index, "dosage", *e["loc"]], "msg": e["msg"]}
                for e in error.errors()
            )
            continue
        resolved.append({"exercise_id": item.exercise_id, "dosage": dosage.model_dump()})
    if errors:
        raise HTTPException(UNPROCESSABLE, errors)
    return resolved


def _revisions(clinic_id: str, patient_id: str):
    return select(ProgrammeRevision).where(
        ProgrammeRevision.clinic_id == clinic_id, ProgrammeRevision.patient_id == patient_id
    )


def _latest_number(session, clinic_id: str, patient_id: str) -> int:
    return (
        session.scalar(
            select(func.max(ProgrammeRevision.revision)).where(
                ProgrammeRevision.clinic_id == clinic_id, ProgrammeRevision.patient_id == patient_id
            )
        )
        or 0
    )


def _no_programme(clinic_id: str, patient_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no programme for patient {patient_id!r} in clinic {clinic_id!r}")


@router.put(
    "/clinics/{clinic_id}/patients/{patient_id}/programme",
    response_model=ProgrammeOut,
    status_code=status.HTTP_200_OK,
    responses={201: {"model": ProgrammeOut, "description": "The patient's first programme"}},
    summary="Set a patient's programme: adds a revision (201 for the first, 200 after)",
)
def put_programme(
    clinic_id: Id,
    patient_id: Id,
    body: ProgrammeIn,
    principal: ScopedDep,
    session: SessionDep,
    library: LibraryDep,
    response: Response,
) -> ProgrammeRevision:
    exercises = resolve_exercises(library, body.exercises)
    fields = body.model_dump(exclude={"exercises"})
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        number = _latest_number(session, clinic_id, patient_id) + 1
        row = ProgrammeRevision(
            clinic_id=clinic_id,
            patient_id=patient_id,
            revision=number,
            exercises=exercises,
            author=principal.key_prefix,
            created_at=utcnow(),
            **fields,
        )
        session.add(row)
        try:
            session.commit()
            break
        except IntegrityError:
            session.rollback()
            log.warning(kv("programme revision taken", clinic_id=clinic_id, revision=number, attempt=attempt))
    else:
        raise HTTPException(status.HTTP_409_CONFLICT, "the programme was being changed at the same time: try again")
    response.status_code = status.HTTP_201_CREATED if row.revision == 1 else status.HTTP_200_OK
    log.info(
        kv(
            "programme saved",
            clinic_id=clinic_id,
            revision=row.revision,
            phase=row.phase,
            exercises=len(exercises),
            source=row.source,
            author=row.author,
        )
    )
    return row


@router.get(
    "/clinics/{clinic_id}/patients/{patient_id}/programme",
    response_model=ProgrammeOut,
    summary="A patient's current programme (its latest revision)",
)
def get_programme(clinic_id: Id, patient_id: Id, _principal: ScopedDep, session: SessionDep) -> ProgrammeRevision:
    row = session.scalars(
        _revisions(clinic_id, patient_id).order_by(ProgrammeRevision.revision.desc()).limit(1)
    ).first()
    if row is None:
        raise _no_programme(clinic_id, patient_id)
    return row


@router.get(
    "/clinics/{clinic_id}/patients/{patient_id}/programme/history",
    response_model=list[ProgrammeOut],
    summary="Every revision of a patient's programme, oldest first",
)
def programme_history(
    clinic_id: Id, patient_id: Id, _principal: ScopedDep, session: SessionDep
) -> list[ProgrammeRevision]:
    rows = list(session.scalars(_revisions(clinic_id, patient_id).order_by(ProgrammeRevision.revision)))
    if not rows:
        raise _no_programme(clinic_id, patient_id)
    return rows


@router.get(
    "/clinics/{clinic_id}/programmes",
    response_model=list[ProgrammeOut],
    summary="The current programme of every patient of the clinic who has one, by patient id",
)
def clinic_programmes(clinic_id: Id, _principal: ScopedDep, session: SessionDep) -> list[ProgrammeRevision]:
    latest = (
        select(ProgrammeRevision.patient_id, func.max(ProgrammeRevision.revision).label("revision"))
        .where(ProgrammeRevision.clinic_id == clinic_id)
        .group_by(ProgrammeRevision.patient_id)
        .subquery()
    )
    query = (
        select(ProgrammeRevision)
        .join(
            latest,
            (ProgrammeRevision.patient_id == latest.c.patient_id) & (ProgrammeRevision.revision == latest.c.revision),
        )
        .where(ProgrammeRevision.clinic_id == clinic_id)
        .order_by(ProgrammeRevision.patient_id)
    )
    return list(session.scalars(query))
