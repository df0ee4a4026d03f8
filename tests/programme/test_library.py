"""The exercise library as data: gaitstream's exercises, a clinic's own, and clear refusals."""

from __future__ import annotations

import pytest

from gaitstream.services.programme.library import PHASES, LibraryError, load_library


def test_every_phase_has_its_exercises_with_dosage_and_evidence() -> None:
    library = load_library()
    assert {phase: len(library.by_phase(phase)) for phase in PHASES} == {
        "activation": 1,
        "strengthening": 3,
        "retraining": 2,
    }
    for exercise in library.exercises.values():
        assert exercise.cues and exercise.instructions and exercise.evidence, exercise.id
        assert exercise.dosage.days_per_week >= 1
    # the muscle activity figures as measured, with their source
    side_plank = library.exercises["side-plank-hip-abduction"].evidence[0]
    assert (side_plank.muscle, side_plank.activity_pct_mvic, side_plank.source) == (
        "gluteus medius",
        (89.0, 103.0),
        "Boren et al. 2011",
    )
    squat = library.exercises["single-leg-squat-band"].evidence
    assert sorted(e.activity_pct_mvic[0] for e in squat) == [52.0, 64.0, 82.0]
    assert library.exercises["treadmill-feedback"].dosage.feedback_plan.startswith("none:2m")


def _clinic_file(tmp_path, body: str):
    (tmp_path / "ours.yaml").write_text("version: 1\nexercises:\n" + body)
    return tmp_path


EXERCISE = """  - id: {id}
    name: Bridge with band
    phase: strengthening
    purpose: Hip extensors and abductors together.
    position: Supine, knees bent, band above the knees.
    instructions: [Lift the pelvis, push the knees apart.]
    cues: [Pelvis level.]
    cautions: []
    dosage: {{sets: 3, reps: 10, hold_s: 3, rest_s: 60, times_per_day: 1, days_per_week: 3}}
    evidence: [{{finding: Clinic's own practice., source: Clinic A protocol 2026}}]
{extra}"""


def test_a_clinic_adds_its_own_and_replaces_one_only_by_saying_so(tmp_path) -> None:
    clinic = _clinic_file(tmp_path, EXERCISE.format(id="bridge-band", extra=""))
    library = load_library(clinic)
    assert library.exercises["bridge-band"].origin == "clinic:ours.yaml"
    assert len(library.by_phase("strengthening")) == 4
    (tmp_path / "ours.yaml").unlink()
    replacing = _clinic_file(tmp_path, EXERCISE.format(id="clams-clinic", extra="    replaces: clams\n"))
    library = load_library(replacing)
    assert "clams" not in library.exercises and "clams-clinic" in library.exercises


@pytest.mark.parametrize(
    ("exercise", "says"),
    [
        (EXERCISE.format(id="clams", extra=""), "exercise clams exists already"),
        (EXERCISE.format(id="x-new", extra="    replaces: nope\n"), "replaces nope, which does not exist"),
        (EXERCISE.format(id="x-new", extra="").replace("strengthening", "stretching"), "exercise x-new: phase"),
        (EXERCISE.format(id="x-new", extra="").replace("sets: 3", "sets: 0"), "dosage.sets"),
        (
            EXERCISE.format(id="x-new", extra="").replace("{finding: Clinic's own practice., ", "{"),
            "either activity_pct_mvic",
        ),
    ],
)
def test_a_wrong_clinic_exercise_names_file_exercise_and_field(tmp_path, exercise: str, says: str) -> None:
    with pytest.raises(LibraryError) as caught:
        load_library(_clinic_file(tmp_path, exercise))
    assert "ours.yaml" in str(caught.value) and says in str(caught.value)
