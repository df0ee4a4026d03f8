"""The FHIR export validates, codes every measure in the local CodeSystem, says why a value is
absent, names the patient by pseudonym only and is the same every time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.codesystem import CodeSystem

from gaitstream.services.programme.library import load_library
from gaitstream.services.report.fhir import (
    CONCEPTS,
    SYSTEM_URL,
    ProgrammeForExport,
    code_system_resource,
    programme_care_plan,
    session_bundle,
    write_fhir,
)
from gaitstream.services.report.figures import session_figures
from tests.report.crafted import crafted_record, without_side


def _observations(bundle: Bundle) -> dict[str, dict]:
    data = json.loads(bundle.model_dump_json(exclude_none=True))
    return {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in data["entry"]}


def test_a_session_bundle_validates_and_carries_the_figures_per_side(tmp_path: Path) -> None:
    figures = session_figures(crafted_record())
    bundle = session_bundle(figures)
    path = tmp_path / "s-1.fhir.json"
    write_fhir(bundle, path)
    assert Bundle.model_validate_json(path.read_text()).model_dump() == bundle.model_dump()
    observations = _observations(bundle)
    assert set(observations) == {
        "pelvic-drop", "trunk-lean", "cadence", "step-time-asymmetry", "pelvic-drop-asymmetry", "feedback-dose",
        "gait-classification",
    }  # fmt: skip
    for observation in observations.values():
        assert observation["code"]["coding"][0]["system"] == SYSTEM_URL and observation["status"] == "final"
        assert observation["subject"] == {
            "identifier": {"system": observation["subject"]["identifier"]["system"], "value": "P-0042"}
        }
    components = {c["code"]["coding"][0]["code"]: c for c in observations["pelvic-drop"]["component"]}
    for side in ("left", "right"):
        s = figures.sides[side]
        assert components[f"pelvic-drop-median-{side}"]["valueQuantity"]["value"] == round(s.pelvic_drop_deg_median, 3)
        assert components[f"pelvic-drop-p90-{side}"]["valueQuantity"]["code"] == "deg"
    assert observations["cadence"]["valueQuantity"] == {
        "value": 120.0, "unit": "steps/min", "system": "http://unitsofmeasure.org", "code": "/min"
    }  # fmt: skip
    assert observations["gait-classification"]["valueCodeableConcept"]["coding"][0]["code"] == "trendelenburg_left"


def test_absent_values_say_why_and_carry_no_value() -> None:
    figures = session_figures(without_side(crafted_record(screen=False), "right"))
    observations = _observations(session_bundle(figures))
    lean = observations["trunk-lean"]["component"]
    assert all(c["dataAbsentReason"]["coding"][0]["code"] == "not-applicable" for c in lean)
    assert all("valueQuantity" not in c for c in lean)
    drop = {c["code"]["coding"][0]["code"]: c for c in observations["pelvic-drop"]["component"]}
    assert drop["pelvic-drop-median-right"]["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueQuantity" in drop["pelvic-drop-median-left"]
    assert observations["feedback-dose"]["dataAbsentReason"]["coding"][0]["code"] == "not-applicable"


def test_nothing_but_the_pseudonym_identifies_the_patient_and_exports_repeat_exactly() -> None:
    figures = session_figures(crafted_record())
    text = session_bundle(figures).model_dump_json(exclude_none=True)
    assert text == session_bundle(figures).model_dump_json(exclude_none=True)
    data = json.loads(text)
    assert not any(e["resource"]["resourceType"] == "Patient" for e in data["entry"])
    for forbidden in ('"name"', '"birthDate"', '"address"', '"telecom"', '"gender"'):
        assert forbidden not in text


def test_the_code_system_defines_every_code_used() -> None:
    resource = code_system_resource()
    CodeSystem.model_validate(resource)
    assert {c["code"] for c in resource["concept"]} == set(CONCEPTS)


def _programme(**changes) -> ProgrammeForExport:
    values = {
        "clinic_id": "clinic-1",
        "patient_id": "P-0042",
        "revision": 3,
        "phase": "retraining",
        "sides": ("left",),
        "target_pelvic_drop_deg": 2.0,
        "feedback_plan": "none:2m,faded:10m,none:2m",
        "exercises": (
            {
                "exercise_id": "clams",
                "dosage": {"sets": 3, "reps": 15, "hold_s": 2, "rest_s": 30, "times_per_day": 2, "days_per_week": 5},
            },
        ),  # fmt: skip
        "created_at": datetime(2026, 12, 1, 9, tzinfo=UTC),
    }
    return ProgrammeForExport(**{**values, **changes})


def test_the_programme_is_a_care_plan_whose_activities_are_its_service_requests() -> None:
    names = {key: exercise.name for key, exercise in load_library().exercises.items()}
    bundle = programme_care_plan(_programme(), exercise_names=names)
    data = json.loads(bundle.model_dump_json(exclude_none=True))
    Bundle.model_validate(data)
    resources = {f"urn:uuid:{e['resource']['id']}": e["resource"] for e in data["entry"]}
    (plan,) = [r for r in resources.values() if r["resourceType"] == "CarePlan"]
    targets = [a["plannedActivityReference"]["reference"] for a in plan["activity"]]
    requests = [resources[t] for t in targets]
    assert [r["resourceType"] for r in requests] == ["ServiceRequest", "ServiceRequest"]
    clams, treadmill = requests
    assert clams["code"]["concept"]["text"] == names["clams"]
    assert clams["occurrenceTiming"]["repeat"] == {"frequency": 2, "period": 1.0, "periodUnit": "d"}
    assert clams["patientInstruction"][0]["instructionMarkdown"].startswith("3 x 15 reps, hold 2 s, rest 30 s")
    assert "none:2m,faded:10m,none:2m" in treadmill["patientInstruction"][0]["instructionMarkdown"]
    assert "retraining" in plan["description"] and plan["subject"]["identifier"]["value"] == "P-0042"


def test_an_exercise_outside_the_library_is_named() -> None:
    with pytest.raises(ValueError, match="'hip-thrust-9000'"):
        programme_care_plan(
            _programme(exercises=({"exercise_id": "hip-thrust-9000", "dosage": {}},)), exercise_names={"clams": "Clams"}
        )
