"""The API under attack: brute force throttled, every read and change audited (real uvicorn,
SQLite and PostgreSQL), store errors without their parameters."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from gaitstream.services.alerts.api.app import create_app
from gaitstream.services.alerts.settings import AlertServiceSettings
from gaitstream.services.alerts.store.db import make_engine
from tests.services.alerts.conftest import TEST_ADMIN_TOKEN, RunningApi, serve_in_thread


@pytest.fixture()
def strict_api(store_url: str):
    settings = AlertServiceSettings(
        database_url=store_url, admin_token=TEST_ADMIN_TOKEN, auth_max_failures=3, auth_window_s=60, auth_block_s=120
    )
    with serve_in_thread(create_app(settings)) as base_url:
        yield RunningApi(base_url=base_url, admin_token=TEST_ADMIN_TOKEN, database_url=store_url)


def test_guessing_keys_is_throttled_with_retry_after(strict_api: RunningApi) -> None:
    _, good = strict_api.new_supervisor("sam", ["c1"])
    prefix = good.split("_", 2)[1]
    with strict_api.client(good) as client:
        assert client.get("/v1/alerts", params={"clinic_id": "c1"}).status_code == 200
    answers = []
    for guess in range(4):
        with strict_api.client(f"gsk_{prefix}_{'x' * 30}{guess}") as client:
            answers.append(client.get("/v1/alerts", params={"clinic_id": "c1"}))
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 120
    # That key prefix and this client wait now, even with the right key: the guesser learns nothing.
    with strict_api.client(good) as client:
        assert client.get("/v1/alerts", params={"clinic_id": "c1"}).status_code == 429


@pytest.fixture()
def proxied_api(store_url: str):
    """The API behind a reverse proxy on 127.0.0.1 (every connection comes from it)."""
    settings = AlertServiceSettings(
        database_url=store_url,
        admin_token=TEST_ADMIN_TOKEN,
        auth_max_failures=3,
        auth_window_s=60,
        auth_block_s=120,
        trusted_proxies="127.0.0.1, 10.9.0.0/16",
    )
    with serve_in_thread(create_app(settings)) as base_url:
        yield RunningApi(base_url=base_url, admin_token=TEST_ADMIN_TOKEN, database_url=store_url)


def test_one_client_behind_the_proxy_guessing_keys_never_blocks_another(proxied_api: RunningApi) -> None:
    """20 wrong keys from one client (each with its own prefix) block that client, not the proxy:
    another client's valid request behind the same proxy is answered at once."""
    import secrets
    import time

    _, good = proxied_api.new_supervisor("sam", ["c1"])
    codes = []
    for _ in range(20):
        guess = f"gsk_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"
        with proxied_api.client(guess) as client:
            codes.append(client.get("/v1/alerts", params={"clinic_id": "c1"}, headers=_via("203.0.113.5")).status_code)
    assert codes[:3] == [401, 401, 401] and set(codes[3:]) == {429}
    with proxied_api.client(good) as client:
        started = time.monotonic()
        answer = client.get("/v1/alerts", params={"clinic_id": "c1"}, headers=_via("198.51.100.9"))
        assert answer.status_code == 200 and time.monotonic() - started < 2.0
        # the header's earlier entries are the client's word: the last untrusted address counts
        spoofed = client.get(
            "/v1/alerts", params={"clinic_id": "c1"}, headers=_via("198.51.100.9", "203.0.113.5", "10.9.1.2")
        )
        assert spoofed.status_code == 429
        assert client.get("/v1/alerts", params={"clinic_id": "c1"}, headers=_via("203.0.113.5")).status_code == 429


def _via(*addresses: str) -> dict[str, str]:
    return {"X-Forwarded-For": ", ".join(addresses)}


def test_without_trusted_proxies_the_forwarded_header_is_ignored(strict_api: RunningApi) -> None:
    """Anyone can send X-Forwarded-For: without a configured proxy it cannot buy a guesser new tries."""
    codes = []
    for n in range(4):
        with strict_api.client(f"gsk_{n:08x}_{'y' * 30}") as client:
            codes.append(
                client.get("/v1/alerts", params={"clinic_id": "c1"}, headers=_via(f"203.0.113.{n}")).status_code
            )
    assert codes == [401, 401, 401, 429]


def test_an_oversized_body_is_refused_before_it_is_read(strict_api: RunningApi) -> None:
    _, key = strict_api.new_supervisor("sam", ["c1"])
    big = {"clinic_id": "c1", "channel": "email", "target": "sam@clinic.example", "pad": "x" * 100_000}
    with strict_api.client(key) as client:
        answer = client.post("/v1/subscriptions", json=big)
        assert answer.status_code == 413 and "65536 bytes" in answer.text

        def chunks():
            yield b'{"clinic_id": "c1", "pad": "'
            for _ in range(40):
                yield b"y" * 4096
            yield b'"}'

        streamed = client.post("/v1/subscriptions", content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert client.get("/v1/subscriptions").status_code == 200  # the API goes on


def test_admin_token_guessing_is_throttled(strict_api: RunningApi) -> None:
    codes = []
    for guess in range(4):
        with strict_api.client(f"not-the-admin-token-{guess}") as client:
            codes.append(client.get("/v1/admin/supervisors").status_code)
    assert codes == [401, 401, 401, 429]


def test_reads_and_changes_are_audited_without_secrets(alerts_api: RunningApi) -> None:
    _, key = alerts_api.new_supervisor("sam", ["c1"])
    prefix = key.split("_", 2)[1]
    with alerts_api.client(key) as client:
        assert client.get("/v1/alerts", params={"clinic_id": "c1"}).status_code == 200
        created = client.post(
            "/v1/subscriptions",
            json={"clinic_id": "c1", "channel": "email", "target": "sam@clinic.example"},
        )
        assert created.status_code == 201, created.text
        sub_id = created.json()["id"]
        assert client.delete(f"/v1/subscriptions/{sub_id}").status_code == 204
    unknown = f"gsk_{prefix[::-1]}_{'z' * 30}"  # well-formed, not issued
    with alerts_api.client(unknown) as client:
        assert client.get("/v1/alerts", params={"clinic_id": "c1"}).status_code == 401
    with alerts_api.admin() as admin:
        mine = admin.get("/v1/admin/audit", params={"actor": f"key:{prefix}"}).json()
        denied = admin.get("/v1/admin/audit", params={"outcome": "denied"}).json()
        everything = admin.get("/v1/admin/audit", params={"limit": 1000}).text
    assert [(e["action"], e["outcome"]) for e in reversed(mine)] == [
        ("GET /v1/alerts", "ok"),
        ("POST /v1/subscriptions", "ok"),
        ("DELETE /v1/subscriptions/{subscription_id}", "ok"),
    ]
    assert mine[0]["object_id"] == f"subscription_id={sub_id}" and mine[0]["object_type"] == "subscriptions"
    assert any(e["actor"] == f"key:{prefix[::-1]}" and e["status_code"] == 401 for e in denied), denied
    assert {e["actor"] for e in admin_entries(alerts_api)} == {"admin"}
    assert key not in everything and TEST_ADMIN_TOKEN not in everything


def admin_entries(api: RunningApi) -> list[dict]:
    with api.admin() as admin:
        return admin.get("/v1/admin/audit", params={"action": "POST /v1/admin/supervisors"}).json()


def test_store_errors_do_not_log_their_parameters(alerts_database_url: str, caplog) -> None:
    engine = make_engine(alerts_database_url)
    secretish = "p-do-not-log-0042"
    with pytest.raises(Exception) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table (patient) VALUES (:p)"), {"p": secretish})
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").error("store error: %s", caught.value)
    assert secretish not in str(caught.value) and secretish not in caplog.text
    assert "hide_parameters" in str(caught.value)


@pytest.mark.parametrize("target", ["gotify://10.0.0.5/token", "mailto://nurse:pw@mail.internal"])
def test_apprise_schemes_outside_the_allow_list_are_refused_at_subscription_and_send(
    alerts_api: RunningApi, target: str
) -> None:
    from gaitstream.services.alerts.dispatch.channels import Target
    from gaitstream.services.alerts.dispatch.channels.apprise_channel import AppriseChannel
    from gaitstream.services.alerts.dispatch.exceptions import DeliveryError
    from gaitstream.services.alerts.dispatch.samples import sample_message

    _, key = alerts_api.new_supervisor("sam", ["c1"])
    with alerts_api.client(key) as client:
        refused = client.post("/v1/subscriptions", json={"clinic_id": "c1", "channel": "apprise", "target": target})
    assert refused.status_code == 422 and "not allowed" in refused.text
    with pytest.raises(DeliveryError, match="not allowed"):
        AppriseChannel(timeout_s=2).send(sample_message(), Target("apprise", target, allow_private=False))
