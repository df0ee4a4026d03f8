"""The FHIR export validates, codes every measure in the local CodeSystem, carries the figures per
side, says why a value is absent, names the patient by pseudonym only and is the same every time;
the programme's CarePlan points at ServiceRequests in its own Bundle."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.codesystem import CodeSystem

from gaitstream.gait.classification import Classification
from gaitstream.services.programme.library import Library, load_library
from gaitstream.services.report.fhir import (
    SYSTEM_URL,
    FhirExportError,
    ProgrammeForExport,
    UnknownExerciseError,
    code_system_resource,
    programme_care_plan,
    session_bundle,
    write_fhir,
)
from gaitstream.services.report.figures import SessionFigures, session_figures
from tests.report.crafted import crafted_record, without_side

MEASURES = {
    "pelvic-drop", "trunk-lean", "cadence", "step-time-asymmetry", "pelvic-drop-asymmetry", "feedback-dose",
    "gait-classification",
}  # fmt: skip
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
VALUE_KEYS = ("valueQuantity", "valueCodeableConcept", "valueString", "valueInteger")
IDENTIFYING_KEYS = {"name", "birthDate", "address", "telecom", "gender", "contact", "photo", "deceasedBoolean"}


def _json(bundle: Bundle) -> dict:
    return json.loads(bundle.model_dump_json())


def _observations(figures: SessionFigures, **options) -> dict[str, dict]:
    data = _json(session_bundle(figures, **options))
    return {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in data["entry"]}


def _components(observation: dict) -> dict[str, dict]:
    return {c["code"]["coding"][0]["code"]: c for c in observation["component"]}


def _absent_reason(element: dict) -> str:
    assert not any(key in element for key in VALUE_KEYS), element
    (coding,) = element["dataAbsentReason"]["coding"]
    assert coding["system"] == ABSENT
    return coding["code"]


def _codings(node, system: str) -> set[str]:
    """Every code of ``system`` anywhere in ``node``."""
    if isinstance(node, dict):
        own = {node["code"]} if node.get("system") == system and "code" in node else set()
        return own.union(*(_codings(v, system) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_codings(v, system) for v in node))
    return set()


def _keys(node) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(v) for v in node))
    return set()


def _code_system_codes(resource: CodeSystem) -> set[str]:
    data = json.loads(resource.model_dump_json())
    return {c["code"] for c in data["concept"]} | {c["code"] for p in data["concept"] for c in p.get("concept", [])}


def test_a_session_bundle_validates_round_trips_and_carries_the_figures_per_side(tmp_path: Path) -> None:
    figures = session_figures(crafted_record())
    bundle = session_bundle(figures)
    assert Bundle.model_validate_json(bundle.model_dump_json()) == bundle
    path = tmp_path / "s-1.fhir.json"
    write_fhir(bundle, path)
    assert Bundle.model_validate_json(path.read_text(encoding="utf-8")) == bundle
    assert [p.name for p in tmp_path.iterdir()] == ["s-1.fhir.json"]  # no temporary file left
    data = _json(bundle)
    assert data["type"] == "collection" and data["identifier"]["value"] == "s-1"
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in data["entry"])
    observations = _observations(figures)
    assert set(observations) == MEASURES
    for observation in observations.values():
        assert observation["resourceType"] == "Observation" and observation["status"] == "final"
        assert observation["code"]["coding"][0]["system"] == SYSTEM_URL
        assert observation["category"][0]["coding"][0]["code"] == "activity"
        assert observation["effectivePeriod"] == {"start": "2025-11-24T16:00:00Z", "end": "2025-11-24T16:03:20Z"}
    drop = _components(observations["pelvic-drop"])
    assert list(drop) == [
        "pelvic-drop-left-median", "pelvic-drop-left-p90", "pelvic-drop-right-median", "pelvic-drop-right-p90"
    ]  # fmt: skip
    for side in ("left", "right"):
        s = figures.sides[side]
        for stat, value in (("median", s.pelvic_drop_deg_median), ("p90", s.pelvic_drop_deg_p90)):
            quantity = drop[f"pelvic-drop-{side}-{stat}"]["valueQuantity"]
            assert quantity == {
                "value": round(value, 2),
                "unit": "deg",
                "system": "http://unitsofmeasure.org",
                "code": "deg",
            }
        assert drop[f"pelvic-drop-{side}-median"]["referenceRange"][0]["high"]["value"] == 5.0
    assert observations["cadence"]["valueQuantity"] == {
        "value": 120.0, "unit": "steps/min", "system": "http://unitsofmeasure.org", "code": "/min"
    }  # fmt: skip
    assert observations["step-time-asymmetry"]["valueQuantity"]["value"] == round(figures.step_time_asymmetry_pct, 2)
    assert observations["pelvic-drop-asymmetry"]["valueQuantity"]["value"] == round(
        figures.pelvic_drop_asymmetry_deg, 2
    )
    assert observations["feedback-dose"]["valueQuantity"]["value"] == round(100 * figures.dose, 2)
    assert observations["gait-classification"]["valueCodeableConcept"]["coding"] == [
        {"system": SYSTEM_URL, "code": "trendelenburg_left", "display": "Trendelenburg left"}
    ]


def test_trunk_lean_components_carry_the_trunk_figures() -> None:
    figures = session_figures(crafted_record(trunk=True))
    lean = _components(_observations(figures)["trunk-lean"])
    for side in ("left", "right"):
        value = figures.sides[side].trunk_lean_deg_median
        assert lean[f"trunk-lean-{side}-median"]["valueQuantity"]["value"] == round(value, 2)


def test_absent_values_say_why_and_carry_no_value() -> None:
    figures = session_figures(without_side(crafted_record(screen=False), "right"))
    observations = _observations(figures)
    assert {_absent_reason(c) for c in observations["trunk-lean"]["component"]} == {"not-applicable"}
    drop = _components(observations["pelvic-drop"])
    assert _absent_reason(drop["pelvic-drop-right-median"]) == "not-performed"
    assert _absent_reason(drop["pelvic-drop-right-p90"]) == "not-performed"
    assert "valueQuantity" in drop["pelvic-drop-left-median"] and "valueQuantity" in drop["pelvic-drop-left-p90"]
    assert _absent_reason(observations["step-time-asymmetry"]) == "not-performed"
    assert _absent_reason(observations["pelvic-drop-asymmetry"]) == "not-performed"
    assert _absent_reason(observations["feedback-dose"]) == "not-applicable"
    assert "valueQuantity" in observations["cadence"]


def test_a_session_without_steps_or_stop_still_validates() -> None:
    record = replace(crafted_record(steps=0, screen=False, trunk=True), stopped_us=None, classification=None)
    observations = _observations(session_figures(record))
    assert "end" not in observations["cadence"]["effectivePeriod"]
    assert _absent_reason(observations["cadence"]) == "not-performed"
    assert _absent_reason(observations["gait-classification"]) == "unknown"
    # A trunk sensor was worn, but there were no steps to measure.
    assert {_absent_reason(c) for c in observations["trunk-lean"]["component"]} == {"not-performed"}


def test_classification_flags_are_noted_and_an_unknown_label_is_kept_as_text() -> None:
    flagged = replace(crafted_record(), classification_flags=("trunk_lean_reference_walking",))
    observation = _observations(session_figures(flagged))["gait-classification"]
    assert "trunk_lean_reference_walking" in observation["note"][0]["text"]
    newer = replace(crafted_record(), classification="future_label")
    value = _observations(session_figures(newer))["gait-classification"]["valueCodeableConcept"]
    assert value == {"text": "future_label"}


def test_the_patient_is_named_by_pseudonym_only() -> None:
    figures = session_figures(crafted_record(trunk=True))
    for data in (_json(session_bundle(figures)), _json(programme_care_plan(_programme()))):
        assert not _keys(data) & IDENTIFYING_KEYS
        assert not any(e["resource"]["resourceType"] == "Patient" for e in data["entry"])
        for entry in data["entry"]:
            subject = entry["resource"]["subject"]
            assert set(subject) == {"identifier"} and subject["identifier"]["value"] == "P-0042"
            assert subject["identifier"]["system"].endswith("/patient-pseudonym/clinic-1")
    observations = _observations(figures, pseudonym_system="urn:oid:1.2.3")
    assert {o["subject"]["identifier"]["system"] for o in observations.values()} == {"urn:oid:1.2.3"}


def test_exports_repeat_exactly(tmp_path: Path) -> None:
    first, second = (session_bundle(session_figures(crafted_record())) for _ in range(2))
    assert first.model_dump_json() == second.model_dump_json()
    write_fhir(first, tmp_path / "a.json")
    write_fhir(second, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    other = _json(session_bundle(session_figures(crafted_record(session_id="s-2"))))
    assert not {e["resource"]["id"] for e in _json(first)["entry"]} & {e["resource"]["id"] for e in other["entry"]}
    plans = [programme_care_plan(_programme()).model_dump_json() for _ in range(2)]
    assert plans[0] == plans[1]


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s-1.fhir.json"
    path.write_text("previous")

    def refuse(*_args) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_fhir(session_bundle(session_figures(crafted_record())), path)
    assert path.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["s-1.fhir.json"]


def test_the_code_system_defines_every_code_the_bundle_uses() -> None:
    resource = code_system_resource()
    CodeSystem.model_validate_json(resource.model_dump_json())
    assert resource.status == "active" and resource.content == "complete" and resource.url == SYSTEM_URL
    codes = _code_system_codes(resource)
    assert resource.count == len(codes)
    assert all(c.display and c.definition for p in resource.concept for c in (p, *(p.concept or [])))
    classes = next(c for c in resource.concept if c.code == "gait-classification").concept
    assert {c.code for c in classes} == {str(label) for label in Classification}
    for record in (crafted_record(trunk=True), without_side(crafted_record(screen=False), "left")):
        assert _codings(_json(session_bundle(session_figures(record))), SYSTEM_URL) <= codes
    custom = "https://clinic.example/fhir/CodeSystem/gait"
    data = _json(session_bundle(session_figures(crafted_record()), system_url=custom))
    assert _codings(data, custom) >= MEASURES and not _codings(data, SYSTEM_URL)
    assert code_system_resource(custom).url == custom


def _programme(**changes) -> ProgrammeForExport:
    values = {
        "clinic_id": "clinic-1",
        "patient_id": "P-0042",
        "revision": 3,
        "phase": "retraining",
        "sides": ["left"],
        "target_pelvic_drop_deg": 2.0,
        "feedback_plan": "none:2m,faded:10m,none:2m",
        "exercises": [
            {
                "exercise_id": "clams",
                "dosage": {"sets": 3, "reps": 15, "hold_s": 2, "rest_s": 30, "times_per_day": 2, "days_per_week": 5},
            },
            {
                "exercise_id": "single-leg-squat-band",
                "dosage": {"sets": 2, "reps": 10, "hold_s": 0, "rest_s": 60, "times_per_day": 1, "days_per_week": 7},
            },
        ],
        "note": "Mirror at home for the first week.",
        "created_at": datetime(2026, 12, 1, 9, tzinfo=UTC),
    }
    return ProgrammeForExport(**{**values, **changes})


def _care_plan(programme: ProgrammeForExport, **options) -> tuple[dict, list[dict]]:
    """The CarePlan and, in its activities' order, the resources they reference in the Bundle."""
    data = _json(programme_care_plan(programme, **options))
    Bundle.model_validate(data)
    by_url = {e["fullUrl"]: e["resource"] for e in data["entry"]}
    (plan,) = [r for r in by_url.values() if r["resourceType"] == "CarePlan"]
    return plan, [by_url[a["plannedActivityReference"]["reference"]] for a in plan.get("activity", [])]


def test_the_programme_is_a_care_plan_whose_activities_are_its_service_requests() -> None:
    library = load_library()
    plan, requests = _care_plan(_programme())
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    assert "retraining" in plan["description"] and "2°" in plan["description"]
    assert plan["note"] == [{"text": "Mirror at home for the first week."}]
    assert {r["resourceType"] for r in requests} == {"ServiceRequest"}
    assert all(r["basedOn"] == [{"reference": f"urn:uuid:{plan['id']}"}] for r in requests)
    assert all((r["status"], r["intent"]) == ("active", "order") for r in requests)
    clams, squat, treadmill = requests
    assert clams["code"]["concept"]["text"] == library.exercises["clams"].name
    assert clams["code"]["concept"]["coding"][0]["code"] == "clams"
    assert clams["occurrenceTiming"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    assert clams["occurrenceTiming"]["code"]["text"] == "2 times a day, 5 days a week"
    instruction = clams["patientInstruction"][0]["instructionMarkdown"]
    assert instruction == "3 × 15 reps, hold 2 s, rest 30 s; 2 times a day, 5 days a week"
    assert squat["patientInstruction"][0]["instructionMarkdown"].startswith("2 × 10 reps, rest 60 s;")
    # The programme has no treadmill exercise: its feedback sessions get a request of their own.
    assert treadmill["code"]["concept"]["coding"][0]["code"] == "treadmill-feedback"
    text = treadmill["patientInstruction"][0]["instructionMarkdown"]
    assert "none:2m,faded:10m,none:2m" in text and "2°" in text


def test_a_treadmill_exercise_carries_the_feedback_plan_once() -> None:
    treadmill = {
        "exercise_id": "treadmill-feedback",
        "dosage": {"sets": 1, "reps": 1, "hold_s": 0, "rest_s": 0, "times_per_day": 1, "days_per_week": 3,
                   "session_min": 14, "feedback_plan": "continuous:14m"},
    }  # fmt: skip
    _, requests = _care_plan(_programme(exercises=[treadmill]))
    (request,) = requests
    assert request["occurrenceTiming"]["repeat"]["duration"] == 14
    text = request["patientInstruction"][0]["instructionMarkdown"]
    assert text.startswith("14 min;") and "none:2m,faded:10m,none:2m" in text  # the programme's plan wins
    _, requests = _care_plan(_programme(exercises=[treadmill], feedback_plan=None))
    assert "continuous:14m" in requests[0]["patientInstruction"][0]["instructionMarkdown"]


def test_without_a_feedback_plan_there_is_no_treadmill_request() -> None:
    plan, requests = _care_plan(_programme(phase="strengthening", feedback_plan=None))
    assert [r["code"]["concept"]["coding"][0]["code"] for r in requests] == ["clams", "single-leg-squat-band"]
    plan, requests = _care_plan(_programme(phase="none", feedback_plan=None, exercises=[]))
    assert requests == [] and "activity" not in plan


def test_a_clinic_library_names_the_exercises() -> None:
    built_in = load_library()
    clams = built_in.exercises["clams"].model_copy(update={"name": "Clamshells (clinic)"})
    library = Library(exercises={**built_in.exercises, "clams": clams})
    _, requests = _care_plan(_programme(), library=library)
    assert requests[0]["code"]["concept"]["text"] == "Clamshells (clinic)"


def test_an_exercise_outside_the_library_is_named() -> None:
    programme = _programme(exercises=[{"exercise_id": "hip-thrust-9000", "dosage": {}}])
    with pytest.raises(UnknownExerciseError, match="'hip-thrust-9000' is not in the exercise library") as caught:
        programme_care_plan(programme)
    assert caught.value.exercise_id == "hip-thrust-9000"


def test_a_broken_dosage_or_programme_is_named() -> None:
    broken = [{"exercise_id": "clams", "dosage": {"sets": 3, "reps": 15, "hold_s": 2, "rest_s": 30}}]
    with pytest.raises(FhirExportError, match="'clams': dosage: times_per_day: Field required"):
        programme_care_plan(_programme(exercises=broken))
    with pytest.raises(FhirExportError, match="phase 'walking'"):
        _programme(phase="walking")
    with pytest.raises(FhirExportError, match="sides"):
        _programme(sides=["middle"])
    with pytest.raises(FhirExportError, match="timezone"):
        _programme(created_at=datetime(2026, 12, 1, 9))
    clams = _programme().exercises[0]
    with pytest.raises(FhirExportError, match="'clams': listed twice"):
        programme_care_plan(_programme(exercises=[clams, clams]))
    with pytest.raises(FhirExportError, match="no exercise_id"):
        programme_care_plan(_programme(exercises=[{"dosage": clams["dosage"]}]))
