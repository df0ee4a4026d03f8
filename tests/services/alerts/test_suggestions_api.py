"""The pending suggestion (written by the report service) through the alerts API, and the
therapist accepting it: a new revision with the proposal applied; nothing changes before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gaitstream.services.programme.suggest import Suggestion
from gaitstream.services.report.pending import write_pending_suggestion
from tests.services.alerts.conftest import TEST_ADMIN_TOKEN, RunningApi, serve_in_thread
from tests.services.alerts.test_programme_api import PROGRAMME, SECOND

SUGGESTION = PROGRAMME + "/suggestion"
FADE = Suggestion(
    "fade-the-cues",
    {"feedback_plan": "none:2m,faded:10m:from=1:to=0,none:2m"},
    "In the probes without cues the pelvis stayed near the target.",
    [{"session": "s-9", "side": "left", "metric": "probe_median_deg", "value": 3.1, "at_most": 4.5}],
)
WHEN = datetime(2026, 12, 4, 9, tzinfo=UTC)


@pytest.fixture()
def api(store_url: str, tmp_path: Path) -> Iterator[tuple[RunningApi, Path]]:
    from gaitstream.services.alerts.api.app import create_app
    from gaitstream.services.alerts.settings import AlertServiceSettings

    reports = tmp_path / "reports"
    settings = AlertServiceSettings(database_url=store_url, admin_token=TEST_ADMIN_TOKEN, reports_dir=reports)
    with serve_in_thread(create_app(settings)) as base_url:
        yield RunningApi(base_url=base_url, admin_token=TEST_ADMIN_TOKEN, database_url=store_url), reports


def test_accepting_a_suggestion_adds_a_revision_with_it_applied(api) -> None:
    running, reports = api
    _, key = running.new_supervisor("Ana", ["clinic-a"])
    with running.client(key) as client:
        assert client.get(SUGGESTION.format(patient="P-1")).status_code == 404  # no report yet
        assert (
            client.put(PROGRAMME.format(patient="P-1"), json={**SECOND, "feedback_plan": "none:14m"}).status_code == 201
        )
        write_pending_suggestion(reports / "clinic-a", "P-1", "s-9", WHEN, FADE)
        pending = client.get(SUGGESTION.format(patient="P-1"))
        assert pending.status_code == 200 and pending.json()["suggestion"]["rule"] == "fade-the-cues"
        assert pending.json()["suggestion"]["measurements"][0]["value"] == 3.1
        assert client.get(PROGRAMME.format(patient="P-1")).json()["revision"] == 1  # nothing changed yet
        stale = client.post(SUGGESTION.format(patient="P-1") + "/accept", json={"session_id": "s-8"})
        assert stale.status_code == 409
        accepted = client.post(SUGGESTION.format(patient="P-1") + "/accept", json={"session_id": "s-9"})
        assert accepted.status_code == 200, accepted.text
        body = accepted.json()
        assert body["revision"] == 2 and body["source"] == "suggestion:fade-the-cues"
        assert body["feedback_plan"] == FADE.propose["feedback_plan"]
        assert body["phase"] == "retraining" and body["target_pelvic_drop_deg"] == SECOND["target_pelvic_drop_deg"]
        assert [e["exercise_id"] for e in body["exercises"]] == ["treadmill-feedback"]


def test_a_start_suggestion_becomes_the_first_programme_and_other_clinics_are_refused(api) -> None:
    running, reports = api
    _, key = running.new_supervisor("Ana", ["clinic-a"])
    _, other = running.new_supervisor("Ben", ["clinic-b"])
    start = Suggestion(
        "start",
        {"phase": "activation", "exercises": ["hip-dip-and-raise", "clams"], "sides": ["left"]},
        "The pelvis drops on the weak side's swing phase.",
        [{"metric": "classification", "value": "trendelenburg_left"}],
    )
    write_pending_suggestion(reports / "clinic-a", "P-2", "s-1", WHEN, start)
    with running.client(other) as client:
        assert client.get(SUGGESTION.format(patient="P-2")).status_code == 403
        assert client.post(SUGGESTION.format(patient="P-2") + "/accept", json={"session_id": "s-1"}).status_code == 403
    with running.client(key) as client:
        assert client.post(SUGGESTION.format(patient="P-2") + "/accept", json={"session": "s-1"}).status_code == 422
        first = client.post(SUGGESTION.format(patient="P-2") + "/accept", json={"session_id": "s-1"})
        assert first.status_code == 201, first.text
        assert first.json()["phase"] == "activation" and first.json()["sides"] == ["left"]
        assert [e["exercise_id"] for e in first.json()["exercises"]] == ["hip-dip-and-raise", "clams"]
        assert all(e["dosage"]["sets"] >= 1 for e in first.json()["exercises"])  # the library's dosage
    write_pending_suggestion(reports / "clinic-a", "P-3", "s-2", WHEN, None)
    with running.client(key) as client:
        assert client.get(SUGGESTION.format(patient="P-3")).status_code == 404


def test_the_cli_shows_the_suggestion_and_accepts_it(api) -> None:
    from typer.testing import CliRunner

    from gaitstream.cli import build_app

    running, reports = api
    _, key = running.new_supervisor("Ana", ["clinic-a"])
    with running.client(key) as client:
        client.put(PROGRAMME.format(patient="P-4"), json=SECOND)
    write_pending_suggestion(reports / "clinic-a", "P-4", "s-9", WHEN, FADE)

    def run(*args: str):
        env = {"GAITSTREAM_ALERTS_API_KEY": key}
        return CliRunner().invoke(build_app(), ["programme", *args, "--url", running.base_url], env=env)

    shown = run("suggestion", "clinic-a", "P-4")
    assert shown.exit_code == 0, shown.output
    assert "rule fade-the-cues" in shown.output and "value=3.1" in shown.output
    assert "gaitstream programme accept clinic-a P-4 --session s-9" in shown.output
    accepted = run("accept", "clinic-a", "P-4", "--session", "s-9", "--json")
    assert accepted.exit_code == 0, accepted.output
    assert '"source": "suggestion:fade-the-cues"' in accepted.output
    assert run("accept", "clinic-a", "P-4", "--session", "s-1").exit_code == 1  # 409: not what was read


def test_the_current_programme_exports_as_a_valid_fhir_care_plan(api) -> None:
    from fhir.resources.bundle import Bundle

    running, _ = api
    _, key = running.new_supervisor("Ana", ["clinic-a"])
    _, other = running.new_supervisor("Ben", ["clinic-b"])
    with running.client(key) as client:
        assert client.get(PROGRAMME.format(patient="P-5") + ".fhir.json").status_code == 404
        client.put(PROGRAMME.format(patient="P-5"), json=SECOND)
        exported = client.get(PROGRAMME.format(patient="P-5") + ".fhir.json")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(exported.text)
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds[0] == "CarePlan" and "ServiceRequest" in kinds and "P-5" in exported.text
    with running.client(other) as client:
        assert client.get(PROGRAMME.format(patient="P-5") + ".fhir.json").status_code == 403
