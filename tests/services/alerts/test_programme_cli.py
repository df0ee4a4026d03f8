"""``gaitstream programme set | show | history | list`` against the API on real uvicorn (SQLite and
PostgreSQL): a round trip through the CLI, its ``--exercise`` syntax, and refusals exiting 1."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from gaitstream.cli import build_app
from gaitstream.services.programme.cli import parse_exercise
from gaitstream.services.programme.library import load_library
from tests.services.alerts.conftest import RunningApi


def run(api: RunningApi, key: str, *args: str):
    return CliRunner().invoke(
        build_app(), ["programme", *args, "--url", api.base_url], env={"GAITSTREAM_ALERTS_API_KEY": key}
    )


def test_parse_exercise() -> None:
    assert parse_exercise("clams") == {"exercise_id": "clams"}
    assert parse_exercise("clams:sets=3,reps=15,hold_s=1.5") == {
        "exercise_id": "clams",
        "dosage": {"sets": 3, "reps": 15, "hold_s": 1.5},
    }
    assert parse_exercise("treadmill-feedback:session_min=20,feedback_plan=none:2m,faded:10m:from=1:to=0") == {
        "exercise_id": "treadmill-feedback",
        "dosage": {"session_min": 20, "feedback_plan": "none:2m,faded:10m:from=1:to=0"},
    }
    for bad in ("clams:sets", "clams:sets=many", "clams:load_kg=2", ":sets=3"):
        with pytest.raises(typer.BadParameter):
            parse_exercise(bad)


def test_set_show_history_list_round_trip(alerts_api: RunningApi) -> None:
    _, key = alerts_api.new_supervisor("Ana", ["clinic-a"])
    first = run(
        alerts_api,
        key,
        *("set", "clinic-a", "p-7", "--phase", "activation", "--side", "left", "--target-deg", "4"),
        *("--exercise", "hip-dip-and-raise", "--exercise", "clams:sets=2,reps=12", "--note", "mirror first"),
    )
    assert first.exit_code == 0, first.output
    assert "programme_saved clinic=clinic-a patient=p-7 revision=1" in first.stderr
    second = run(
        alerts_api,
        key,
        *("set", "clinic-a", "p-7", "--phase", "retraining", "--side", "left", "--side", "right"),
        *("--target-deg", "2", "--plan", "none:2m,faded:10m:from=1:to=0,none:2m"),
        *("--exercise", "treadmill-feedback:session_min=20", "--source", "suggestion:to-retraining", "--json"),
    )
    assert second.exit_code == 0, second.output
    saved = json.loads(second.stdout)
    assert (saved["revision"], saved["phase"], saved["sides"]) == (2, "retraining", ["left", "right"])
    assert saved["exercises"][0]["dosage"]["session_min"] == 20
    assert saved["feedback_plan"] == "none:2m,faded:10m:from=1:to=0,none:2m"

    shown = run(alerts_api, key, "show", "clinic-a", "p-7", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == saved
    text = run(alerts_api, key, "show", "clinic-a", "p-7")
    assert text.exit_code == 0, text.output
    assert "revision 2" in text.stdout and "target pelvic drop: 2 deg" in text.stdout
    assert "treadmill-feedback: 1x1" in text.stdout and "20 min" in text.stdout

    history = run(alerts_api, key, "history", "clinic-a", "p-7", "--json")
    assert history.exit_code == 0, history.output
    revisions = json.loads(history.stdout)
    assert [r["revision"] for r in revisions] == [1, 2] and revisions[1] == saved
    clams = revisions[0]["exercises"][1]
    assert clams["dosage"] == {**load_library().exercises["clams"].dosage.model_dump(), "sets": 2, "reps": 12}
    assert revisions[0]["note"] == "mirror first" and revisions[0]["source"] == "therapist"
    table = run(alerts_api, key, "history", "clinic-a", "p-7")
    assert table.exit_code == 0 and "programme of p-7 (2)" in table.stdout

    listed = run(alerts_api, key, "list", "clinic-a", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(p["patient_id"], p["revision"]) for p in json.loads(listed.stdout)] == [("p-7", 2)]
    assert "programmes of clinic-a (1)" in run(alerts_api, key, "list", "clinic-a").stdout


def test_refusals_exit_1_with_status_and_detail(alerts_api: RunningApi) -> None:
    _, key = alerts_api.new_supervisor("Ana", ["clinic-a"])
    _, other_clinic_key = alerts_api.new_supervisor("Ben", ["clinic-b"])
    other = run(alerts_api, other_clinic_key, "show", "clinic-a", "p-7")
    assert other.exit_code == 1
    assert "error: HTTP 403: this API key is not scoped to clinic 'clinic-a'" in other.stderr
    unknown = run(
        alerts_api, key, "set", "clinic-a", "p-7", "--phase", "activation", "--side", "left", "--target-deg", "3",
        "--exercise", "moonwalk",
    )  # fmt: skip
    assert unknown.exit_code == 1 and "HTTP 422: exercises.0.exercise_id: unknown exercise 'moonwalk'" in unknown.stderr
    missing = run(alerts_api, key, "history", "clinic-a", "p-7")
    assert missing.exit_code == 1 and "HTTP 404: no programme for patient 'p-7'" in missing.stderr
    bad_key = run(alerts_api, "gsk_0123456789ab_" + "x" * 30, "list", "clinic-a")
    assert bad_key.exit_code == 1 and "HTTP 401: invalid or revoked API key" in bad_key.stderr
    bad_exercise = run(
        alerts_api, key, "set", "clinic-a", "p-7", "--phase", "activation", "--target-deg", "3",
        "--exercise", "clams:load_kg=2",
    )  # fmt: skip
    assert bad_exercise.exit_code == 2 and "load_kg" in bad_exercise.output
