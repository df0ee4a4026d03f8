"""The programme as FHIR R5: a CarePlan whose activities are ServiceRequests, in a ``collection``
Bundle (PROGRAMME.md "What platforms hold in a prescription").

1. Each exercise is a ServiceRequest (status ``active``, intent ``order``): code = its library id
   in the exercise CodeSystem, with the library's name as text; ``occurrenceTiming`` repeats
   ``times_per_day`` per day (plus the session length for treadmill sessions); the dosage in
   words as ``patientInstruction``.
2. The treadmill sessions with feedback carry the programme's feedback plan and target pelvic
   drop: on the programme's treadmill exercise (``treadmill-feedback``, or one with ``session_min``
   or a ``feedback_plan`` in its dosage) when it has one, else on a ServiceRequest of their own, made when the programme
   has a feedback plan.
3. The CarePlan (status ``active``, intent ``plan``) states the phase, sides and target and lists
   the ServiceRequests as ``activity.plannedActivityReference``; they point back by ``basedOn``.

Notes: FHIR Timing cannot say "5 days a week" beside "2 times a day" without naming the weekdays,
which a programme leaves to the patient; the days per week go into the Timing's ``code.text`` and
the instruction. The programme's feedback plan overrides the one in an exercise's dosage (the
programme's is what the station runs and what the suggestion rules change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from fhir.resources.bundle import Bundle
from pydantic import ValidationError

from gaitstream.exceptions import GaitstreamError
from gaitstream.services.programme.library import Dosage, Library, load_library
from gaitstream.services.report.fhir_codes import EXERCISE_SYSTEM_URL, pseudonym_subject, resource_id
from gaitstream.services.report.figures import SIDES

Phase = Literal["activation", "strengthening", "retraining", "none"]
PHASES: tuple[str, ...] = get_args(Phase)
#: The library's treadmill exercise: the code of a treadmill ServiceRequest of its own (step 2).
TREADMILL_EXERCISE_ID = "treadmill-feedback"


class FhirExportError(GaitstreamError, ValueError):
    """A programme cannot be exported (the message names the field or the exercise)."""


class UnknownExerciseError(FhirExportError):
    """The programme names an exercise the library does not have."""

    def __init__(self, exercise_id: str) -> None:
        super().__init__(f"exercise {exercise_id!r} is not in the exercise library")
        self.exercise_id = exercise_id


@dataclass(frozen=True)
class ProgrammeForExport:
    """A programme revision as the export reads it; the caller converts its store's form into it.
    ``exercises``: ``{"exercise_id": ..., "dosage": {sets, reps, hold_s, rest_s, times_per_day,
    days_per_week, session_min?, feedback_plan?}}``; ``created_at`` timezone-aware."""

    clinic_id: str
    patient_id: str  # a pseudonym
    revision: int
    phase: Phase
    sides: Sequence[str]
    target_pelvic_drop_deg: float
    feedback_plan: str | None
    exercises: Sequence[Mapping[str, Any]]
    note: str | None
    created_at: datetime

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise FhirExportError(f"phase {self.phase!r}: expected one of {', '.join(PHASES)}")
        if not set(self.sides) <= set(SIDES):
            raise FhirExportError(f"sides {list(self.sides)!r}: expected a subset of {', '.join(SIDES)}")
        if self.created_at.tzinfo is None:
            raise FhirExportError("created_at must be timezone-aware")


def _schedule(dosage: Dosage) -> str:
    """E.g. "2 times a day, 5 days a week"."""
    per_day, per_week = dosage.times_per_day, dosage.days_per_week
    return f"{per_day} time{'s' * (per_day != 1)} a day, {per_week} day{'s' * (per_week != 1)} a week"


def _timing(dosage: Dosage) -> dict:
    repeat: dict[str, Any] = {"frequency": dosage.times_per_day, "period": 1, "periodUnit": "d"}
    if dosage.session_min is not None:
        repeat |= {"duration": dosage.session_min, "durationUnit": "min"}
    return {"repeat": repeat, "code": {"text": _schedule(dosage)}}


def _dosage_text(dosage: Dosage) -> str:
    """E.g. "3 × 15 reps, hold 2 s, rest 30 s; 2 times a day, 5 days a week"."""
    first = f"{dosage.session_min:g} min" if dosage.session_min is not None else f"{dosage.sets} × {dosage.reps} reps"
    parts = [
        first,
        *(f"{label} {value:g} s" for label, value in (("hold", dosage.hold_s), ("rest", dosage.rest_s)) if value),
    ]
    return f"{', '.join(parts)}; {_schedule(dosage)}"


def _feedback_text(plan: str | None, target_deg: float) -> str:
    return f"Feedback plan {plan or 'none'}; keep the pelvic drop at or under {target_deg:g}°."


def programme_care_plan(
    programme: ProgrammeForExport,
    *,
    library: Library | None = None,
    exercise_system: str = EXERCISE_SYSTEM_URL,
    pseudonym_system: str | None = None,
) -> Bundle:
    """The programme's CarePlan and ServiceRequests in a ``collection`` Bundle (validated).

    ``library``: where exercise names come from (default: the built-in library; pass
    ``load_library(clinic_dir)`` for a clinic's own). An exercise not in it raises
    :class:`UnknownExerciseError`; a dosage the library's ``Dosage`` refuses, :class:`FhirExportError`.
    """
    library = library or load_library()
    key = ("programme", programme.clinic_id, programme.patient_id, str(programme.revision))
    subject = pseudonym_subject(programme.clinic_id, programme.patient_id, pseudonym_system)
    plan_url = f"urn:uuid:{resource_id(*key, 'careplan')}"

    def request(code: str, name: str, instruction: str, **content) -> dict:
        return {
            "resourceType": "ServiceRequest",
            "id": resource_id(*key, "exercise", code),
            "basedOn": [{"reference": plan_url}],
            "status": "active",
            "intent": "order",
            "code": {"concept": {"coding": [{"system": exercise_system, "code": code, "display": name}], "text": name}},
            "subject": subject,
            "patientInstruction": [{"instructionMarkdown": instruction}],
            **content,
        }

    # 1. One ServiceRequest per exercise.
    requests, treadmill_done, seen = [], False, set()
    for item in programme.exercises:
        exercise_id = item.get("exercise_id")
        if not exercise_id or exercise_id in seen:
            raise FhirExportError(f"exercise {exercise_id!r}: {'listed twice' if exercise_id else 'no exercise_id'}")
        if exercise_id not in library.exercises:
            raise UnknownExerciseError(str(exercise_id))
        seen.add(exercise_id)
        try:
            dosage = Dosage.model_validate(item.get("dosage"))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'dosage'}: {e['msg']}" for e in exc.errors())
            raise FhirExportError(f"exercise {exercise_id!r}: dosage: {problems}") from None
        exercise = library.exercises[exercise_id]
        instruction = _dosage_text(dosage)
        # 2. The treadmill exercise carries the feedback plan and target.
        if exercise_id == TREADMILL_EXERCISE_ID or dosage.session_min is not None or dosage.feedback_plan is not None:
            instruction += ". " + _feedback_text(
                programme.feedback_plan or dosage.feedback_plan, programme.target_pelvic_drop_deg
            )
            treadmill_done = True
        requests.append(
            request(
                exercise_id,
                exercise.name,
                instruction,
                occurrenceTiming=_timing(dosage),
                note=[{"text": exercise.purpose}],
            )
        )
    if programme.feedback_plan is not None and not treadmill_done:
        treadmill = library.exercises.get(TREADMILL_EXERCISE_ID)
        name = treadmill.name if treadmill else "Treadmill walking with feedback"
        text = _feedback_text(programme.feedback_plan, programme.target_pelvic_drop_deg)
        requests.append(request(TREADMILL_EXERCISE_ID, name, text))

    # 3. The CarePlan over them.
    sides = " and ".join(programme.sides) or "none named"
    plan = {
        "resourceType": "CarePlan",
        "id": resource_id(*key, "careplan"),
        "status": "active",
        "intent": "plan",
        "title": f"Trendelenburg gait re-training, phase {programme.phase}",
        "description": (
            f"Phase {programme.phase}; side(s) {sides}; target pelvic drop at most "
            f"{programme.target_pelvic_drop_deg:g}°; programme revision {programme.revision}."
        ),
        "subject": subject,
        "created": programme.created_at.isoformat(),
        **(
            {"activity": [{"plannedActivityReference": {"reference": f"urn:uuid:{r['id']}"}} for r in requests]}
            if requests
            else {}
        ),
        **({"note": [{"text": programme.note}]} if programme.note else {}),
    }
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": resource_id(*key, "bundle"),
            "type": "collection",
            "timestamp": programme.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in (plan, *requests)],
        }
    )
