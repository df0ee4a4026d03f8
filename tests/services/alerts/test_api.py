"""The subscription API on real uvicorn over a real store (SQLite file and PostgreSQL), through
HTTP: auth and clinic scope, validation, CRUD, webhook policy, acknowledgements, mutes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from gaitstream.services.alerts.api.app import create_app
from gaitstream.services.alerts.settings import AlertServiceSettings
from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
from gaitstream.services.alerts.store.models import Alert, ApiKey
from tests.services.alerts.conftest import RunningApi, serve_in_thread

EMAIL_SUB = {
    "clinic_id": "clinic-a",
    "channel": "email",
    "target": "pt-lead@clinic-a.example.org",
    "min_severity": "warning",
    "kinds": ["pelvic_drop_sustained"],
    "station_id": "tm-01",
    "quiet_start": "22:00",
    "quiet_end": "06:30",
    "timezone": "Europe/Berlin",
    "repeat_interval_s": 600,
}


def insert_alert(database_url: str, alert_id: str, clinic_id: str, **fields) -> None:
    """An alert as the dispatcher stores it after consuming the alerts topic."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            session.add(
                Alert(
                    **{
                        "alert_id": alert_id,
                        "state": "open",
                        "kind": "pelvic_drop_sustained",
                        "severity": "warning",
                        "clinic_id": clinic_id,
                        "station_id": "tm-01",
                        "session_id": "s-1",
                        "patient_id": "p-7",
                        "side": "left",
                        "value": 9.5,
                        "threshold": 8.0,
                        "message": "pelvic drop over threshold",
                        "opened_at_us": 1_700_000_000_000_000,
                        "received_at": datetime.now(UTC),
                        **fields,
                    }
                )
            )
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture()
def two_clinics(alerts_api: RunningApi) -> tuple[str, str]:
    """Keys of a supervisor of clinic-a and of one of clinic-b."""
    return alerts_api.new_supervisor("Ana", ["clinic-a"])[1], alerts_api.new_supervisor("Ben", ["clinic-b"])[1]


def test_openapi_and_docs_are_served(alerts_api: RunningApi) -> None:
    with alerts_api.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert {"/v1/subscriptions", "/v1/alerts/{alert_id}/ack", "/v1/mutes", "/healthz"} <= set(spec["paths"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_healthz_checks_the_database(alerts_api: RunningApi) -> None:
    with alerts_api.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["schema_revision"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/subscriptions"),
        ("POST", "/v1/subscriptions"),
        ("GET", "/v1/alerts"),
        ("POST", "/v1/alerts/x/ack"),
        ("GET", "/v1/mutes"),
        ("GET", "/v1/me"),
    ],
)
def test_no_key_is_401(alerts_api: RunningApi, method: str, path: str) -> None:
    with alerts_api.client() as client:
        response = client.request(method, path, json=EMAIL_SUB if method == "POST" else None)
    assert response.status_code == 401
    assert "missing API key" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("key", ["not-a-key", "gsk_0123456789ab_" + "A" * 43, "Bearer"])
def test_malformed_or_unknown_key_is_401(alerts_api: RunningApi, key: str) -> None:
    with alerts_api.client(key) as client:
        response = client.get("/v1/subscriptions")
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


def test_x_api_key_header_works_too(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    with httpx.Client(base_url=alerts_api.base_url, headers={"X-API-Key": two_clinics[0]}) as client:
        response = client.get("/v1/me")
    assert response.status_code == 200
    assert response.json()["clinics"] == ["clinic-a"]


def test_another_clinics_key_is_403(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    key_a, key_b = two_clinics
    insert_alert(alerts_api.database_url, "s-1:pelvic_drop_sustained:left:1", "clinic-a")
    with alerts_api.client(key_a) as a:
        sub = a.post("/v1/subscriptions", json=EMAIL_SUB).json()
        mute = a.post("/v1/mutes", json={"clinic_id": "clinic-a", "station_id": "tm-01", "duration_s": 600}).json()
    with alerts_api.client(key_b) as b:
        refused = [
            b.post("/v1/subscriptions", json=EMAIL_SUB),
            b.get(f"/v1/subscriptions/{sub['id']}"),
            b.patch(f"/v1/subscriptions/{sub['id']}", json={"enabled": False}),
            b.delete(f"/v1/subscriptions/{sub['id']}"),
            b.get("/v1/subscriptions", params={"clinic_id": "clinic-a"}),
            b.get("/v1/alerts", params={"clinic_id": "clinic-a"}),
            b.get("/v1/alerts/s-1:pelvic_drop_sustained:left:1"),
            b.post("/v1/alerts/s-1:pelvic_drop_sustained:left:1/ack"),
            b.post("/v1/mutes", json={"clinic_id": "clinic-a", "station_id": "tm-01", "duration_s": 600}),
            b.delete(f"/v1/mutes/{mute['id']}"),
        ]
        # Unscoped lists show only clinic-b: nothing of clinic-a leaks.
        assert b.get("/v1/alerts").json() == []
        assert b.get("/v1/subscriptions").json() == []
    for response in refused:
        assert response.status_code == 403, (response.request.method, response.request.url, response.text)
        assert "not scoped to clinic 'clinic-a'" in response.json()["detail"]


def test_unknown_ids_inside_the_scope_are_404(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    with alerts_api.client(two_clinics[0]) as a:
        responses = [
            a.get("/v1/subscriptions/999999"),
            a.delete("/v1/subscriptions/999999"),
            a.get("/v1/alerts/nope"),
            a.post("/v1/alerts/nope/ack"),
            a.delete("/v1/mutes/999999"),
            a.post("/v1/mutes", json={"alert_id": "nope", "duration_s": 600}),
        ]
    for response in responses:
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.json()["detail"].startswith("no ")


def test_another_supervisors_subscription_in_the_same_clinic_is_404(alerts_api: RunningApi) -> None:
    _, key_1 = alerts_api.new_supervisor("One", ["clinic-a"])
    _, key_2 = alerts_api.new_supervisor("Two", ["clinic-a"])
    with alerts_api.client(key_1) as one:
        sub = one.post("/v1/subscriptions", json=EMAIL_SUB).json()
    with alerts_api.client(key_2) as two:
        assert two.get(f"/v1/subscriptions/{sub['id']}").status_code == 404
        assert two.get("/v1/subscriptions").json() == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"channel": None}, "channel", "Field required"),
        ({"channel": "pager"}, "channel", "'email', 'webhook' or 'apprise'"),
        ({"target": "not-an-address"}, "target", "not an e-mail address"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown IANA time zone"),
        ({"quiet_start": "25:00"}, "quiet_start", "HH:MM"),
        ({"quiet_end": None}, None, "quiet_start and quiet_end go together"),
        ({"repeat_interval_s": 30}, "repeat_interval_s", "greater than or equal to 60"),
        ({"min_severity": "loud"}, "min_severity", "'info', 'warning' or 'critical'"),
        ({"kinds": ["Pelvic Drop"]}, "kinds", "pattern"),
        ({"station_id": "tm/01"}, "station_id", "pattern"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"clinic_id": None}, "clinic_id", "Field required"),
        ({"channel": "apprise", "target": "json://127.0.0.1/hook"}, "target", "private/loopback"),
        ({"channel": "apprise", "target": "ntfy://10.1.2.3/topic"}, "target", "private/loopback"),
        ({"channel": "apprise", "target": "nosuchservice://x"}, "target", "not an apprise URL"),
        ({"channel": "webhook", "target": "ftp://example.org/x"}, "target", "http:// or https://"),
    ],
)
def test_malformed_body_is_422_naming_the_field(
    alerts_api: RunningApi, two_clinics: tuple[str, str], change: dict, field: str | None, words: str
) -> None:
    body = {k: v for k, v in {**EMAIL_SUB, **change}.items() if v is not None}
    with alerts_api.client(two_clinics[0]) as a:
        response = a.post("/v1/subscriptions", json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any((field is None or e["loc"][-1] == field or field in e["loc"]) and words in e["msg"] for e in errors), (
        errors
    )


def test_a_body_that_is_not_json_is_422(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    with alerts_api.client(two_clinics[0]) as a:
        response = a.post("/v1/subscriptions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_revoked_key_is_401(alerts_api: RunningApi) -> None:
    supervisor_id, key = alerts_api.new_supervisor("Cy", ["clinic-a"])
    with alerts_api.client(key) as client:
        assert client.get("/v1/me").status_code == 200
        with alerts_api.admin() as admin:
            keys = admin.get(f"/v1/admin/supervisors/{supervisor_id}/keys").json()
            revoked = admin.post(f"/v1/admin/keys/{keys[0]['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert "key" not in revoked.json()
        response = client.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


def test_subscription_crud_round_trip(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    with alerts_api.client(two_clinics[0]) as a:
        created = a.post("/v1/subscriptions", json=EMAIL_SUB)
        assert created.status_code == 201, created.text
        sub = created.json()
        assert {k: sub[k] for k in EMAIL_SUB} == EMAIL_SUB
        assert sub["webhook_secret"] is None and sub["enabled"] is True
        assert a.get(f"/v1/subscriptions/{sub['id']}").json() == {k: v for k, v in sub.items() if k != "webhook_secret"}
        assert [s["id"] for s in a.get("/v1/subscriptions").json()] == [sub["id"]]

        patched = a.patch(
            f"/v1/subscriptions/{sub['id']}",
            json={"min_severity": "critical", "quiet_start": None, "quiet_end": None, "kinds": None},
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["min_severity"], patched.json()["quiet_start"], patched.json()["kinds"]) == (
            "critical",
            None,
            None,
        )
        assert patched.json()["target"] == EMAIL_SUB["target"]
        half = a.patch(f"/v1/subscriptions/{sub['id']}", json={"quiet_start": "23:00"})
        assert half.status_code == 422 and "go together" in half.text
        moved = a.patch(f"/v1/subscriptions/{sub['id']}", json={"clinic_id": "clinic-b"})
        assert moved.status_code == 422

        muted = a.post(f"/v1/subscriptions/{sub['id']}/mute", json={"duration_s": 3600}).json()
        assert datetime.fromisoformat(muted["muted_until"]) > datetime.now(UTC)
        assert a.delete(f"/v1/subscriptions/{sub['id']}/mute").json()["muted_until"] is None

        assert a.delete(f"/v1/subscriptions/{sub['id']}").status_code == 204
        assert a.get(f"/v1/subscriptions/{sub['id']}").status_code == 404
        assert a.get("/v1/subscriptions").json() == []


def test_apprise_subscription_is_accepted(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    body = {**EMAIL_SUB, "channel": "apprise", "target": "ntfy://gaitstream-clinic-a"}
    with alerts_api.client(two_clinics[0]) as a:
        response = a.post("/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["webhook_secret"] is None


def test_apprise_http_notifiers_follow_the_clinics_webhook_policy(
    alerts_api: RunningApi, two_clinics: tuple[str, str]
) -> None:
    body = {**EMAIL_SUB, "channel": "apprise", "target": "json://127.0.0.1:9/hook"}
    with alerts_api.client(two_clinics[0]) as a:
        assert a.post("/v1/subscriptions", json=body).status_code == 422
        with alerts_api.admin() as admin:
            assert admin.put("/v1/admin/clinics/clinic-a", json={"allow_private_webhooks": True}).status_code == 200
        assert a.post("/v1/subscriptions", json=body).status_code == 201


def test_loopback_webhook_refused_unless_the_clinic_allows_it(
    alerts_api: RunningApi, two_clinics: tuple[str, str]
) -> None:
    body = {**EMAIL_SUB, "channel": "webhook", "target": "http://127.0.0.1:9/hook"}
    with alerts_api.client(two_clinics[0]) as a:
        refused = a.post("/v1/subscriptions", json=body)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "target"]
        assert "private/loopback/link-local" in refused.json()["detail"][0]["msg"]

        with alerts_api.admin() as admin:
            put = admin.put("/v1/admin/clinics/clinic-a", json={"allow_private_webhooks": True})
            assert put.status_code == 200 and put.json()["allow_private_webhooks"] is True
            assert admin.get("/v1/admin/clinics/clinic-b").json()["allow_private_webhooks"] is False
        created = a.post("/v1/subscriptions", json=body)
        assert created.status_code == 201, created.text
        secret = created.json()["webhook_secret"]
        assert secret and len(secret) >= 40
        # Shown once: later reads do not carry it.
        assert "webhook_secret" not in a.get(f"/v1/subscriptions/{created.json()['id']}").json()
        # Back to e-mail and to a webhook again: a new secret, shown in that response.
        sub_id = created.json()["id"]
        assert (
            a.patch(
                f"/v1/subscriptions/{sub_id}", json={"channel": "email", "target": "x@clinic-a.example.org"}
            ).status_code
            == 200
        )
        again = a.patch(f"/v1/subscriptions/{sub_id}", json={"channel": "webhook", "target": body["target"]}).json()
        assert again["webhook_secret"] and again["webhook_secret"] != secret
    with alerts_api.client(two_clinics[1]) as b:
        other = b.post("/v1/subscriptions", json={**body, "clinic_id": "clinic-b"})
    assert other.status_code == 422  # clinic-b did not allow private webhooks


def test_acknowledge_records_who_and_when_once(alerts_api: RunningApi) -> None:
    supervisor_id, key = alerts_api.new_supervisor("Dee", ["clinic-a"])
    _, other_key = alerts_api.new_supervisor("Eve", ["clinic-a"])
    alert_id = "s-9:trunk_lean_sustained:-:1700000000000000"
    insert_alert(
        alerts_api.database_url,
        alert_id,
        "clinic-a",
        kind="trunk_lean_sustained",
        side=None,
        metric="trunk_lean_deg_median",
        baseline=3.5,
    )
    insert_alert(
        alerts_api.database_url,
        "s-9:station_silent:-:5",
        "clinic-a",
        kind="station_silent",
        opened_at_us=1_600_000_000_000_000,
    )
    with alerts_api.client(key) as client:
        newest = client.get("/v1/alerts", params={"acknowledged": "false"}).json()[0]
        assert newest["alert_id"] == alert_id
        assert (newest["metric"], newest["baseline"]) == ("trunk_lean_deg_median", 3.5)
        before = datetime.now(UTC)
        acked = client.post(f"/v1/alerts/{alert_id}/ack")
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged_by"] == supervisor_id
        assert datetime.fromisoformat(acked.json()["acknowledged_at"]) >= before.replace(microsecond=0)
        assert [a["alert_id"] for a in client.get("/v1/alerts", params={"acknowledged": "true"}).json()] == [alert_id]
        assert len(client.get("/v1/alerts", params={"state": "open"}).json()) == 2
        assert client.get("/v1/alerts", params={"state": "resolved"}).json() == []
        assert client.get(f"/v1/alerts/{alert_id}/ack").status_code == 405
    with alerts_api.client(other_key) as other:
        second = other.post(f"/v1/alerts/{alert_id}/ack").json()
    assert (second["acknowledged_by"], second["acknowledged_at"]) == (supervisor_id, acked.json()["acknowledged_at"])
    engine = make_engine(alerts_api.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            row = session.get(Alert, alert_id)
            assert row.acknowledged_by == supervisor_id and row.acknowledged_at is not None
    finally:
        engine.dispose()


def test_mutes_create_list_delete(alerts_api: RunningApi, two_clinics: tuple[str, str]) -> None:
    alert_id = "s-2:pelvic_drop_sustained:right:7"
    insert_alert(alerts_api.database_url, alert_id, "clinic-a")
    with alerts_api.client(two_clinics[0]) as a:
        by_station = a.post("/v1/mutes", json={"clinic_id": "clinic-a", "station_id": "tm-01", "duration_s": 900})
        by_alert = a.post("/v1/mutes", json={"alert_id": alert_id, "duration_s": 3600})
        assert by_station.status_code == 201 and by_alert.status_code == 201, (by_station.text, by_alert.text)
        assert by_alert.json()["clinic_id"] == "clinic-a"
        until = datetime.fromisoformat(by_station.json()["until"]) - datetime.fromisoformat(
            by_station.json()["created_at"]
        )
        assert until.total_seconds() == pytest.approx(900, abs=1)
        nothing = a.post("/v1/mutes", json={"clinic_id": "clinic-a", "duration_s": 900})
        assert nothing.status_code == 422 and "at least one of" in nothing.text
        too_long = a.post("/v1/mutes", json={"clinic_id": "clinic-a", "kind": "x", "duration_s": 10**9})
        assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "duration_s"]
        assert {m["id"] for m in a.get("/v1/mutes").json()} == {by_station.json()["id"], by_alert.json()["id"]}
        assert a.delete(f"/v1/mutes/{by_station.json()['id']}").status_code == 204
        assert [m["id"] for m in a.get("/v1/mutes").json()] == [by_alert.json()["id"]]


def test_api_keys_are_hashed_at_rest(alerts_api: RunningApi) -> None:
    _, key = alerts_api.new_supervisor("Fay", ["clinic-a"])
    prefix, secret = key.split("_")[1], key.split("_", 2)[2]
    engine = make_engine(alerts_api.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
            assert len(row.key_sha256) == 64 and secret not in row.key_sha256
            # The plaintext is nowhere in the database, whatever the backend.
            if engine.dialect.name == "postgresql":
                from sqlalchemy import text

                dump = session.execute(text("SELECT string_agg(t::text, '|') FROM api_keys t")).scalar()
                assert secret not in dump
    finally:
        engine.dispose()
    if alerts_api.database_url.startswith("sqlite:///"):
        db_file = Path(alerts_api.database_url.removeprefix("sqlite:///"))
        for path in db_file.parent.glob(db_file.name + "*"):  # the file, its WAL and shared memory
            assert secret.encode() not in path.read_bytes(), path


def test_admin_endpoints_refuse_without_or_with_a_wrong_token(alerts_api: RunningApi) -> None:
    with alerts_api.client() as anonymous:
        assert anonymous.post("/v1/admin/supervisors", json={"name": "x"}).status_code == 401
    with alerts_api.client("wrong-token-0123456789abcdef") as wrong:
        response = wrong.post("/v1/admin/supervisors", json={"name": "x"})
    assert response.status_code == 401 and response.json()["detail"] == "invalid admin token"
    _, key = alerts_api.new_supervisor("Gil", ["clinic-a"])
    with alerts_api.client(key) as supervisor:  # a supervisor's key is not an admin token
        assert supervisor.get("/v1/admin/supervisors").status_code == 401


def test_admin_api_is_disabled_without_a_configured_token(alerts_database_url: str) -> None:
    app = create_app(AlertServiceSettings(database_url=alerts_database_url, admin_token=None))
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url) as client:
        response = client.post(
            "/v1/admin/supervisors", json={"name": "x"}, headers={"Authorization": "Bearer anything-at-all-0123456789"}
        )
    assert response.status_code == 503
    assert "GAITSTREAM_ALERTS_ADMIN_TOKEN is not set" in response.json()["detail"]


def test_admin_validates_key_scope_and_supervisor(alerts_api: RunningApi) -> None:
    with alerts_api.admin() as admin:
        assert admin.post("/v1/admin/supervisors/424242/keys", json={"clinics": ["c"]}).status_code == 404
        sup = admin.post("/v1/admin/supervisors", json={"name": "Hal", "email": "hal@example.org"}).json()
        empty = admin.post(f"/v1/admin/supervisors/{sup['id']}/keys", json={"clinics": []})
        assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "clinics"]
        bad_email = admin.post("/v1/admin/supervisors", json={"name": "Ivy", "email": "ivy"})
        assert bad_email.status_code == 422 and bad_email.json()["detail"][0]["loc"] == ["body", "email"]
        bad_digest = admin.put("/v1/admin/clinics/clinic-a", json={"digest_after": 0})
        assert bad_digest.status_code == 422
        assert admin.post("/v1/admin/keys/424242/revoke").status_code == 404


def test_a_clinic_fallback_is_checked_and_its_webhook_secret_shown_once(alerts_api: RunningApi) -> None:
    with alerts_api.admin() as admin:
        half = admin.put("/v1/admin/clinics/clinic-f", json={"fallback_channel": "email"})
        assert half.status_code == 422 and "go together" in half.text
        bad = admin.put("/v1/admin/clinics/clinic-f", json={"fallback_channel": "email", "fallback_target": "nobody"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "target"]
        # an on-premises pager (a loopback or private address needs the clinic's permission)
        body = {
            "allow_private_webhooks": True,
            "fallback_channel": "webhook",
            "fallback_target": "http://127.0.0.1:9/p",
        }
        refused = admin.put("/v1/admin/clinics/clinic-f", json={**body, "allow_private_webhooks": False})
        assert refused.status_code == 422 and "private/loopback" in refused.text
        saved = admin.put("/v1/admin/clinics/clinic-f", json={**body, "escalate_after_failures": 2})
        assert saved.status_code == 200, saved.text
        assert saved.json()["fallback_webhook_secret"] and saved.json()["escalate_after_failures"] == 2
        again = admin.put("/v1/admin/clinics/clinic-f", json=body)  # unchanged target: the secret stays
        assert again.json()["fallback_webhook_secret"] is None and again.json()["escalate_after_failures"] == 3
        shown = admin.get("/v1/admin/clinics/clinic-f").json()
        assert shown["fallback_target"] == body["fallback_target"] and "fallback_webhook_secret" not in shown


def test_settings_refuse_a_weak_admin_token() -> None:
    with pytest.raises(ValueError, match="at least 24 characters"):
        AlertServiceSettings(admin_token="short")
    with pytest.raises(ValueError, match="placeholder"):
        AlertServiceSettings(admin_token="changeme-changeme-changeme-1")
    assert AlertServiceSettings(admin_token="").admin_token is None
