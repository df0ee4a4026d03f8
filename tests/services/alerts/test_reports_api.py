"""Session reports served by the alerts API: to a key scoped to the clinic (bearer, or the Basic
password a browser sends after the challenge), never to another clinic's key, 404 until made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services.alerts.conftest import TEST_ADMIN_TOKEN, RunningApi, serve_in_thread


@pytest.fixture()
def api_with_reports(alerts_database_url: str, tmp_path: Path) -> Iterator[tuple[RunningApi, Path]]:
    from gaitstream.services.alerts.api.app import create_app
    from gaitstream.services.alerts.settings import AlertServiceSettings

    reports = tmp_path / "reports"
    (reports / "clinic-a").mkdir(parents=True)
    (reports / "clinic-a" / "s1.html").write_text("<html>report s1</html>")
    (reports / "clinic-a" / "s1.pdf").write_bytes(b"%PDF-1.4 report")
    (reports / "clinic-a" / "s1.fhir.json").write_text('{"resourceType": "Bundle"}')
    (reports / "clinic-b").mkdir()
    (reports / "clinic-b" / "s2.html").write_text("<html>clinic b</html>")
    settings = AlertServiceSettings(database_url=alerts_database_url, admin_token=TEST_ADMIN_TOKEN, reports_dir=reports)
    with serve_in_thread(create_app(settings)) as base_url:
        yield RunningApi(base_url=base_url, admin_token=TEST_ADMIN_TOKEN, database_url=alerts_database_url), reports


def test_a_clinic_key_gets_each_form_of_the_report(api_with_reports) -> None:
    api, _ = api_with_reports
    _, key = api.new_supervisor("therapist", ["clinic-a"])
    with api.client(key) as client:
        for kind, media, body in (
            ("html", "text/html", "report s1"),
            ("pdf", "application/pdf", "%PDF"),
            ("fhir.json", "application/fhir+json", "Bundle"),
        ):
            response = client.get(f"/v1/clinics/clinic-a/sessions/s1/report.{kind}")
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith(media) and body in response.text
            assert response.headers["cache-control"] == "private, no-store"
    # a browser following a dashboard link: challenged, then the key as the Basic password
    challenged = httpx.get(f"{api.base_url}/v1/clinics/clinic-a/sessions/s1/report.html")
    assert challenged.status_code == 401 and challenged.headers["www-authenticate"].startswith("Basic ")
    basic = httpx.get(f"{api.base_url}/v1/clinics/clinic-a/sessions/s1/report.html", auth=("anyone", key))
    assert basic.status_code == 200 and "report s1" in basic.text
    assert (
        httpx.get(f"{api.base_url}/v1/clinics/clinic-a/sessions/s1/report.html", auth=("x", "gsk_wrong")).status_code
        == 401
    )


def test_another_clinic_or_a_missing_report_is_refused(api_with_reports) -> None:
    api, _ = api_with_reports
    _, key = api.new_supervisor("therapist", ["clinic-a"])
    with api.client(key) as client:
        other = client.get("/v1/clinics/clinic-b/sessions/s2/report.html")
        assert other.status_code == 403 and "clinic b" not in other.text
        missing = client.get("/v1/clinics/clinic-a/sessions/s9/report.pdf")
        assert missing.status_code == 404 and "made when a session stops" in missing.text
        assert client.get("/v1/clinics/clinic-a/sessions/s1/report.exe").status_code == 422
        for sneaky in ("..%2Fclinic-b%2Fs2", "%2E%2E", ".hidden"):
            assert client.get(f"/v1/clinics/clinic-a/sessions/{sneaky}/report.html").status_code in (404, 422)
