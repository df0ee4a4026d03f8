"""The exercise library: gaitstream's exercises (``exercises.yaml``) and a clinic's own (pure but
for reading the files). Every exercise has its phase, purpose, dosage, cues, cautions and evidence;
a clinic file may add exercises, never silently replace one (``replaces: <id>`` says so)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gaitstream.exceptions import GaitstreamError

PHASES = ("activation", "strengthening", "retraining")
BUILT_IN = Path(__file__).with_name("exercises.yaml")


class LibraryError(GaitstreamError):
    """An exercise file cannot be used (the message names the file, the exercise and the field)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dosage(_Strict):
    sets: int = Field(ge=1, le=20)
    reps: int = Field(ge=1, le=200)
    hold_s: float = Field(ge=0, le=600)
    rest_s: float = Field(ge=0, le=600)
    times_per_day: int = Field(ge=1, le=10)
    days_per_week: int = Field(ge=1, le=7)
    session_min: float | None = Field(None, gt=0, le=120)  # treadmill sessions
    feedback_plan: str | None = None  # treadmill sessions: the screen's blocks (services/feedback)

    @model_validator(mode="after")
    def _plan_reads(self) -> Dosage:
        if self.feedback_plan is not None:
            from gaitstream.services.feedback.schedule import parse_plan

            parse_plan(self.feedback_plan)  # a ValueError names the block
        return self


class Evidence(_Strict):
    """A measured muscle activity (% of maximal voluntary isometric contraction, a range or one
    value as [x, x], with its spread when reported) or a finding, and where it comes from."""

    source: str = Field(min_length=3)
    muscle: str | None = None
    activity_pct_mvic: tuple[float, float] | None = None
    spread_pct_mvic: float | None = Field(None, ge=0)
    finding: str | None = None

    @model_validator(mode="after")
    def _what(self) -> Evidence:
        if (self.activity_pct_mvic is None) == (self.finding is None):
            raise ValueError("give either activity_pct_mvic (with muscle) or a finding")
        if self.activity_pct_mvic is not None:
            low, high = self.activity_pct_mvic
            if self.muscle is None or not 0 <= low <= high <= 200:
                raise ValueError("activity_pct_mvic is [low, high] within 0..200, with its muscle")
        return self


class Exercise(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=3)
    phase: Literal["activation", "strengthening", "retraining"]
    purpose: str = Field(min_length=10)
    position: str
    instructions: list[str] = Field(min_length=1)
    cues: list[str]
    cautions: list[str]
    dosage: Dosage
    dosage_note: str | None = None
    evidence: list[Evidence]
    replaces: str | None = None  # a clinic's own version of a built-in exercise
    origin: str = "gaitstream"


class Library(BaseModel):
    exercises: dict[str, Exercise]

    def by_phase(self, phase: str) -> list[Exercise]:
        return [e for e in self.exercises.values() if e.phase == phase]


def _read(path: Path, origin: str) -> list[Exercise]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise LibraryError(f"{path}: cannot be read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise LibraryError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("exercises"), list):
        raise LibraryError(f"{path}: expected 'version: 1' and a list 'exercises'")
    out = []
    for number, item in enumerate(data["exercises"], start=1):
        name = item.get("id", f"#{number}") if isinstance(item, dict) else f"#{number}"
        try:
            out.append(Exercise.model_validate({**item, "origin": origin}))
        except (ValidationError, TypeError) as exc:
            problems = (
                "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(exercise)'}: {e['msg']}" for e in exc.errors())
                if isinstance(exc, ValidationError)
                else str(exc)
            )
            raise LibraryError(f"{path}: exercise {name}: {problems}") from None
    return out


def load_library(clinic_dir: Path | None = None) -> Library:
    """The built-in exercises, then every ``*.yaml`` of ``clinic_dir`` (sorted by name)."""
    exercises: dict[str, Exercise] = {e.id: e for e in _read(BUILT_IN, "gaitstream")}
    for path in sorted(clinic_dir.glob("*.yaml")) if clinic_dir is not None else []:
        for exercise in _read(path, f"clinic:{path.name}"):
            if exercise.id in exercises:
                raise LibraryError(f"{path}: exercise {exercise.id} exists already; give it another id")
            if exercise.replaces is not None:
                if exercise.replaces not in exercises:
                    raise LibraryError(
                        f"{path}: exercise {exercise.id} replaces {exercise.replaces}, which does not exist"
                    )
                del exercises[exercise.replaces]
            exercises[exercise.id] = exercise
    return Library(exercises=exercises)
