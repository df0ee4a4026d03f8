"""The programme API (issue 19) on real uvicorn over a real store (SQLite file and PostgreSQL):
revisions and their history, the library's dosage, and the alerts API's refusals (no key, another
clinic's key, malformed body)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from gaitstream.services.programme.library import load_library
from tests.services.alerts.conftest import RunningApi

PROGRAMME = "/v1/clinics/clinic-a/patients/{patient}/programme"
FIRST = {
    "phase": "activation",
    "sides": ["left"],
    "target_pelvic_drop_deg": 4.0,
    "exercises": [{"exercise_id": "hip-dip-and-raise"}, {"exercise_id": "clams", "dosage": {"sets": 2, "reps": 12}}],
    "note": "started with activation; mirror at first",
}
SECOND = {
    "phase": "retraining",
    "sides": ["right", "left"],
    "target_pelvic_drop_deg": 2.5,
    "feedback_plan": "none:2m,faded:10m:from=1:to=0,none:2m",
    "exercises": [{"exercise_id": "treadmill-feedback"}],
    "source": "suggestion:to-retraining",
}


@pytest.fixture()
def keys(alerts_api: RunningApi) -> tuple[str, str]:
    """Keys of a therapist of clinic-a and of one of clinic-b."""
    return alerts_api.new_supervisor("Ana", ["clinic-a"])[1], alerts_api.new_supervisor("Ben", ["clinic-b"])[1]


def clams(**dosage) -> dict:
    return {"exercise_id": "clams", "dosage": dosage}


def error_locs(response) -> list[str]:
    """The fields a 422 names, ``exercises.0.dosage.sets`` (without FastAPI's leading ``body``)."""
    return [".".join(str(p) for p in e["loc"] if p != "body") for e in response.json()["detail"]]


def test_revisions_are_added_and_kept_as_history(alerts_api: RunningApi, keys: tuple[str, str]) -> None:
    key = keys[0]
    prefix = key.split("_", 2)[1]
    library = load_library()
    path = PROGRAMME.format(patient="p-7")
    with alerts_api.client(key) as client:
        first = client.put(path, json=FIRST)
        second = client.put(path, json=SECOND)
        current = client.get(path)
        history = client.get(f"{path}/history")
    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    saved = first.json()
    assert set(saved) == {
        "id",
        "clinic_id",
        "patient_id",
        "revision",
        "phase",
        "sides",
        "target_pelvic_drop_deg",
        "feedback_plan",
        "exercises",
        "note",
        "source",
        "author",
        "created_at",
    }
    assert (saved["clinic_id"], saved["patient_id"], saved["revision"]) == ("clinic-a", "p-7", 1)
    assert (saved["source"], saved["author"], saved["feedback_plan"]) == ("therapist", prefix, None)
    assert datetime.fromisoformat(saved["created_at"]).utcoffset() == UTC.utcoffset(None)
    # Left out: the library's dosage; given in part: the rest is the library's.
    hip_dip, clams = saved["exercises"]
    assert hip_dip["dosage"] == library.exercises["hip-dip-and-raise"].dosage.model_dump()
    assert clams["dosage"] == {**library.exercises["clams"].dosage.model_dump(), "sets": 2, "reps": 12}

    assert current.status_code == 200 and current.json() == second.json()
    assert current.json()["revision"] == 2 and current.json()["sides"] == ["left", "right"]
    assert current.json()["source"] == "suggestion:to-retraining"
    assert current.json()["exercises"][0]["dosage"]["session_min"] == 14
    assert history.status_code == 200
    assert [r["revision"] for r in history.json()] == [1, 2]
    assert history.json() == [saved, second.json()]  # revision 1 unchanged by the update

    with alerts_api.admin() as admin:
        audited = admin.get("/v1/admin/audit", params={"actor": f"key:{prefix}"}).json()
    assert [(e["action"], e["status_code"]) for e in reversed(audited)] == [
        ("PUT /v1/clinics/{clinic_id}/patients/{patient_id}/programme", 201),
        ("PUT /v1/clinics/{clinic_id}/patients/{patient_id}/programme", 200),
        ("GET /v1/clinics/{clinic_id}/patients/{patient_id}/programme", 200),
        ("GET /v1/clinics/{clinic_id}/patients/{patient_id}/programme/history", 200),
    ]
    assert audited[0]["object_id"] == "clinic_id=clinic-a,patient_id=p-7"


def test_refusals_as_for_the_alerts_api(alerts_api: RunningApi, keys: tuple[str, str]) -> None:
    key, other_clinic_key = keys
    path = PROGRAMME.format(patient="p-7")
    with alerts_api.client(key) as client:
        assert client.put(path, json=FIRST).status_code == 201
        assert client.get(PROGRAMME.format(patient="p-unknown")).status_code == 404
        assert client.get(PROGRAMME.format(patient="p-unknown") + "/history").status_code == 404
        assert client.get(PROGRAMME.format(patient="bad id!")).status_code == 422
    reads = [path, f"{path}/history", "/v1/clinics/clinic-a/programmes"]
    with alerts_api.client() as anonymous:
        assert anonymous.put(path, json=SECOND).status_code == 401
        assert {anonymous.get(p).status_code for p in reads} == {401}
    with alerts_api.client("gsk_0123456789ab_" + "x" * 30) as unknown:
        assert unknown.put(path, json=SECOND).status_code == 401
    with alerts_api.client(other_clinic_key) as other:
        refused = other.put(path, json=SECOND)
        # The scope is checked before the body: another clinic learns nothing of its validation.
        malformed = other.put(path, json={"colour": "red"})
        read = [other.get(p) for p in reads]
    assert refused.status_code == 403 and "not scoped to clinic 'clinic-a'" in refused.json()["detail"]
    assert malformed.status_code == 403
    assert [r.status_code for r in read] == [403, 403, 403]
    with alerts_api.client(key) as client:
        assert client.get(f"{path}/history").json()[-1]["revision"] == 1  # nothing was saved


def test_malformed_bodies_are_refused_naming_the_field(alerts_api: RunningApi, keys: tuple[str, str]) -> None:
    path = PROGRAMME.format(patient="p-9")
    cases = [
        ({**FIRST, "exercises": [{"exercise_id": "moonwalk"}]}, "exercises.0.exercise_id", "moonwalk"),
        ({**FIRST, "feedback_plan": "continuous:soon"}, "feedback_plan", "feedback block 1"),
        ({**FIRST, "phase": "warm-up"}, "phase", "activation"),
        ({**FIRST, "colour": "red"}, "colour", "Extra inputs"),
        ({**FIRST, "target_pelvic_drop_deg": 0}, "target_pelvic_drop_deg", "greater than 0"),
        ({**FIRST, "target_pelvic_drop_deg": 16}, "target_pelvic_drop_deg", "15"),
        ({**FIRST, "sides": ["left", "left"]}, "sides", "at most once"),
        ({**FIRST, "sides": []}, "sides", "give left, right or both"),
        ({**FIRST, "sides": ["middle"]}, "sides.0", "left"),
        ({**FIRST, "note": "x" * 2001}, "note", "2000"),
        ({**FIRST, "source": "my boss"}, "source", "pattern"),
        ({**FIRST, "exercises": [clams(sets=0)]}, "exercises.0.dosage.sets", "greater than or equal to 1"),
        ({**FIRST, "exercises": [clams(load_kg=2)]}, "exercises.0.dosage.load_kg", "Extra inputs"),
        ({**FIRST, "exercises": [{"exercise_id": "clams"}] * 2}, "exercises", "listed twice: clams"),
        ({key: v for key, v in FIRST.items() if key != "phase"}, "phase", "required"),
    ]
    with alerts_api.client(keys[0]) as client:
        for body, loc, words in cases:
            response = client.put(path, json=body)
            assert response.status_code == 422, (loc, response.text)
            assert loc in error_locs(response), (loc, response.text)
            assert words in response.text, (loc, response.text)
        # phase none trains no side; nothing of the refused bodies was stored before it.
        paused = client.put(path, json={"phase": "none", "sides": [], "target_pelvic_drop_deg": 3})
        assert paused.status_code == 201 and paused.json()["revision"] == 1, paused.text


def test_the_clinic_list_has_each_patient_once_with_the_current_revision(
    alerts_api: RunningApi, keys: tuple[str, str]
) -> None:
    key, other_clinic_key = keys
    with alerts_api.client(key) as client:
        assert client.get("/v1/clinics/clinic-a/programmes").json() == []
        for patient, body in (("p-2", FIRST), ("p-1", FIRST), ("p-2", SECOND)):
            assert client.put(PROGRAMME.format(patient=patient), json=body).status_code in (200, 201)
        listed = client.get("/v1/clinics/clinic-a/programmes")
    with alerts_api.client(other_clinic_key) as other:
        other.put("/v1/clinics/clinic-b/patients/p-1/programme", json=SECOND).raise_for_status()
        theirs = other.get("/v1/clinics/clinic-b/programmes").json()
    assert listed.status_code == 200
    assert [(p["patient_id"], p["revision"], p["phase"]) for p in listed.json()] == [
        ("p-1", 1, "activation"),
        ("p-2", 2, "retraining"),
    ]
    assert [(p["clinic_id"], p["patient_id"]) for p in theirs] == [("clinic-b", "p-1")]


def test_concurrent_saves_get_distinct_revisions(alerts_api: RunningApi, keys: tuple[str, str]) -> None:
    path = PROGRAMME.format(patient="p-3")
    bodies = [{**FIRST, "note": f"save {n}"} for n in range(8)]

    def save(body: dict) -> int:
        with alerts_api.client(keys[0]) as client:
            return client.put(path, json=body).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(save, bodies))
    with alerts_api.client(keys[0]) as client:
        history = client.get(f"{path}/history").json()
    # A save that lost every round to another is a 409 to retry, never a lost or doubled revision.
    assert set(codes) <= {200, 201, 409} and codes.count(201) == 1, codes
    assert [r["revision"] for r in history] == list(range(1, len(history) + 1))
    assert len(history) == codes.count(200) + 1
