"""Request and response bodies of the programme API. Requests forbid unknown fields,
like the rest of the API: a typo is a 422 naming the field.

Whether an exercise exists, and the dosage it gets when none or only part is given, needs the
exercise library: the route checks that (``programmes.resolve_exercises``) in the same 422 shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from gaitstream.services.alerts.api.schemas import Request, Response, UtcDatetime

Phase = Literal["activation", "strengthening", "retraining", "none"]
Side = Literal["left", "right"]
# The pelvic drop the therapist aims for: above 0 (a level pelvis is the limit, not a target the
# feedback can hold) and at most 15 deg, past which the feedback schedule refuses a target too.
MAX_TARGET_PELVIC_DROP_DEG = 15.0
MAX_NOTE_CHARS = 2000
MAX_PLAN_CHARS = 2000
# A home programme of more exercises than this is not one a patient does.
MAX_EXERCISES = 30
# "therapist", or "suggestion:<rule id>" when the therapist accepts a rule's suggestion
# (``services/programme/rules.yaml`` ids).
SOURCE_PATTERN = r"^(therapist|suggestion:[a-z0-9][a-z0-9_.-]{0,99})$"
EXERCISE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"

ExerciseId = Annotated[str, StringConstraints(pattern=EXERCISE_ID_PATTERN)]


class DosageIn(Request):
    """A dosage, whole or in part: what is left out is the library's (``library.Dosage`` checks
    the result); an explicit null clears ``session_min`` or ``feedback_plan``."""

    sets: int | None = None
    reps: int | None = None
    hold_s: float | None = None
    rest_s: float | None = None
    times_per_day: int | None = None
    days_per_week: int | None = None
    session_min: float | None = None
    feedback_plan: str | None = None


class PrescribedExercise(Request):
    exercise_id: ExerciseId
    dosage: DosageIn | None = Field(None, description="Left out (or in part): the library's dosage")


def _check_plan(text: str | None) -> str | None:
    if text is not None:
        from gaitstream.services.feedback.schedule import parse_plan

        parse_plan(text)  # a ValueError names the block
    return text


class ProgrammeIn(Request):
    """A patient's programme as the therapist sets it; saving adds a revision."""

    phase: Phase
    sides: list[Side] = Field(max_length=2, description="The weak side(s) trained; empty only with phase none")
    target_pelvic_drop_deg: float = Field(gt=0, le=MAX_TARGET_PELVIC_DROP_DEG)
    feedback_plan: str | None = Field(
        None,
        max_length=MAX_PLAN_CHARS,
        description="Treadmill sessions' feedback blocks, e.g. none:2m,faded:10m:from=1:to=0,none:2m",
    )
    exercises: list[PrescribedExercise] = Field(default_factory=list, max_length=MAX_EXERCISES)
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS)
    source: str = Field("therapist", pattern=SOURCE_PATTERN)

    _plan_reads = field_validator("feedback_plan")(_check_plan)

    @field_validator("sides")
    @classmethod
    def _sides_once(cls, sides: list[str], info: ValidationInfo) -> list[str]:
        if len(set(sides)) != len(sides):
            raise ValueError("each side at most once")
        phase = info.data.get("phase")
        if not sides and phase not in (None, "none"):
            raise ValueError(f"phase {phase} trains a side: give left, right or both")
        return sorted(sides)

    @field_validator("exercises")
    @classmethod
    def _exercises_once(cls, exercises: list[PrescribedExercise]) -> list[PrescribedExercise]:
        ids = [e.exercise_id for e in exercises]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"exercises listed twice: {', '.join(twice)}")
        return exercises


class ExerciseOut(Response):
    exercise_id: str
    dosage: dict[str, Any]


class ProgrammeOut(Response):
    id: int
    clinic_id: str
    patient_id: str
    revision: int
    phase: str
    sides: list[str]
    target_pelvic_drop_deg: float
    feedback_plan: str | None
    exercises: list[ExerciseOut]
    note: str | None
    source: str
    author: str = Field(description="The prefix of the API key that saved this revision")
    created_at: UtcDatetime
