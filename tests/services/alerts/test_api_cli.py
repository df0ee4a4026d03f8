"""``gaitstream alerts serve`` as a real process over a store it migrates itself (SQLite and
PostgreSQL), driven by the CLI's admin bootstrap and client commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gaitstream.cli import build_app
from gaitstream.processes import stop_processes
from tests.services.alerts.conftest import create_database, free_port
from tests.services.alerts.test_api import insert_alert

# Import, migrate, bind: about a second; the rest is headroom for a loaded shared machine.
SERVE_STARTUP_TIMEOUT_S = 30.0


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store nobody has migrated yet: ``serve`` must build the schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'alerts.db'}"
    return create_database(request.getfixturevalue("postgres_server"), f"alerts_cli_{uuid.uuid4().hex[:12]}")


@pytest.fixture()
def served(empty_store_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``gaitstream alerts serve`` on a free port; yields (base URL, store URL)."""
    port = free_port()
    env = {
        **os.environ,
        "GAITSTREAM_ALERTS_DATABASE_URL": empty_store_url,
        "GAITSTREAM_ALERTS_PORT": str(port),
        "GAITSTREAM_ALERTS_HOST": "127.0.0.1",
    }
    env.pop("GAITSTREAM_ALERTS_ADMIN_TOKEN", None)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gaitstream", "alerts", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVE_STARTUP_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited with {process.returncode}: {(tmp_path / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"serve not healthy within {SERVE_STARTUP_TIMEOUT_S} s: {(tmp_path / 'serve.log').read_text()}"
                )
            time.sleep(0.1)
        yield base_url, empty_store_url
    finally:
        stop_processes([process], grace_s=15)
        log.close()
    assert "request method=GET path=/healthz status=200" in (tmp_path / "serve.log").read_text()


def run(args: list[str], **env: str):
    result = CliRunner().invoke(build_app(), ["alerts", *args], env={"GAITSTREAM_ALERTS_API_KEY": None, **env})
    return result


def add_supervisor(store_url: str, name: str, clinic: str) -> str:
    result = run(["admin", "add-supervisor", name, "--clinic", clinic, "--database-url", store_url])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("API key"))
    return line.rsplit(" ", 1)[1]


def test_serve_migrates_and_the_cli_round_trip_works(served: tuple[str, str]) -> None:
    base_url, store_url = served
    with httpx.Client(base_url=base_url) as anonymous:
        assert anonymous.get("/openapi.json").status_code == 200
        # No admin token configured: the HTTP admin API says so; the CLI bootstrap is the way in.
        assert anonymous.post("/v1/admin/supervisors", json={"name": "x"}).status_code == 503
    key = add_supervisor(store_url, "Ana Lima", "clinic-a")
    assert key.startswith("gsk_")
    client = {"GAITSTREAM_ALERTS_API_URL": base_url, "GAITSTREAM_ALERTS_API_KEY": key}

    created = run(
        [
            "subscribe",
            "--clinic",
            "clinic-a",
            "--channel",
            "email",
            "--target",
            "ana@clinic-a.example.org",
            "--kind",
            "pelvic_drop_sustained",
            "--kind",
            "trunk_lean_sustained",
            "--quiet",
            "22:00-06:00",
            "--timezone",
            "Europe/Lisbon",
            "--repeat",
            "15m",
            "--json",
        ],
        **client,
    )
    assert created.exit_code == 0, created.output
    sub = json.loads(created.stdout)
    assert (sub["quiet_start"], sub["quiet_end"], sub["repeat_interval_s"], sub["kinds"]) == (
        "22:00",
        "06:00",
        900,
        ["pelvic_drop_sustained", "trunk_lean_sustained"],
    )

    listed = run(["list", "subscriptions", "--json"], **client)
    assert [s["id"] for s in json.loads(listed.stdout)] == [sub["id"]]
    table = run(["list", "subscriptions"], **client)
    assert "subscriptions (1)" in table.stdout and "clinic-a" in table.stdout

    alert_id = "s-1:pelvic_drop_sustained:left:1700000000000000"
    insert_alert(store_url, alert_id, "clinic-a")
    alerts = json.loads(run(["list", "--unacknowledged", "--json"], **client).stdout)
    assert [a["alert_id"] for a in alerts] == [alert_id]
    acked = run(["ack", alert_id], **client)
    assert acked.exit_code == 0, acked.output
    assert "acknowledged alert_id=" in acked.stderr
    assert json.loads(run(["list", "--unacknowledged", "--json"], **client).stdout) == []

    muted = run(["mute", "--clinic", "clinic-a", "--station", "tm-01", "--for", "30m"], **client)
    assert muted.exit_code == 0, muted.output
    mutes = json.loads(run(["list", "mutes", "--json"], **client).stdout)
    assert [(m["station_id"], m["clinic_id"]) for m in mutes] == [("tm-01", "clinic-a")]
    assert run(["unmute", str(mutes[0]["id"])], **client).exit_code == 0
    assert run(["unsubscribe", str(sub["id"])], **client).exit_code == 0
    assert json.loads(run(["list", "subscriptions", "--json"], **client).stdout) == []


def test_cli_errors_name_the_status_and_exit_non_zero(served: tuple[str, str]) -> None:
    base_url, store_url = served
    key = add_supervisor(store_url, "Ben", "clinic-b")
    client = {"GAITSTREAM_ALERTS_API_URL": base_url, "GAITSTREAM_ALERTS_API_KEY": key}
    other_clinic = run(
        ["subscribe", "--clinic", "clinic-a", "--channel", "email", "--target", "b@x.example.org"], **client
    )
    assert other_clinic.exit_code == 1
    assert "error: HTTP 403: this API key is not scoped to clinic 'clinic-a'" in other_clinic.stderr
    bad_target = run(
        ["subscribe", "--clinic", "clinic-b", "--channel", "webhook", "--target", "http://127.0.0.1:9/x"], **client
    )
    assert bad_target.exit_code == 1 and "HTTP 422: target:" in bad_target.stderr
    unknown = run(["ack", "no-such-alert"], **client)
    assert unknown.exit_code == 1 and "HTTP 404: no alert with id 'no-such-alert'" in unknown.stderr
    wrong_key = run(["list"], GAITSTREAM_ALERTS_API_URL=base_url, GAITSTREAM_ALERTS_API_KEY="gsk_x")
    assert wrong_key.exit_code == 1 and "HTTP 401: invalid or revoked API key" in wrong_key.stderr
    no_key = run(["list"], GAITSTREAM_ALERTS_API_URL=base_url)
    assert no_key.exit_code == 2 and "GAITSTREAM_ALERTS_API_KEY" in no_key.output
    unreachable = run(
        ["list"], GAITSTREAM_ALERTS_API_URL=f"http://127.0.0.1:{free_port()}", GAITSTREAM_ALERTS_API_KEY=key
    )
    assert unreachable.exit_code == 1 and "cannot reach the alerts API" in unreachable.stderr
    bad_duration = run(["mute", "--clinic", "clinic-b", "--kind", "x", "--for", "soon"], **client)
    assert bad_duration.exit_code == 2 and "30m" in bad_duration.output


def test_admin_cli_issues_and_revokes_keys(alerts_database_url: str) -> None:
    key = add_supervisor(alerts_database_url, "Cy", "clinic-a")
    issued = run(
        [
            "admin",
            "issue-key",
            "1",
            "--clinic",
            "clinic-a",
            "--clinic",
            "clinic-b",
            "--database-url",
            alerts_database_url,
        ]
    )
    assert issued.exit_code == 0, issued.output
    assert "clinics=clinic-a,clinic-b" in issued.stderr
    second = issued.stdout.strip().rsplit(" ", 1)[1]
    assert second.startswith("gsk_") and second != key
    listed = run(["admin", "list-supervisors", "--database-url", alerts_database_url])
    assert key.split("_")[1] in listed.stdout and key not in listed.stdout
    revoked = run(["admin", "revoke-key", "1", "--database-url", alerts_database_url])
    assert revoked.exit_code == 0 and "key_revoked key_id=1" in revoked.stderr
    assert run(["admin", "revoke-key", "99", "--database-url", alerts_database_url]).exit_code == 1
    assert run(["admin", "issue-key", "99", "--clinic", "c", "--database-url", alerts_database_url]).exit_code == 1
    bad_clinic = run(["admin", "add-supervisor", "Dee", "--clinic", "no spaces", "--database-url", alerts_database_url])
    assert bad_clinic.exit_code == 2 and "invalid clinic ids" in bad_clinic.output
    saved = run(["admin", "clinic", "clinic-a", "--allow-private-webhooks", "--database-url", alerts_database_url])
    assert saved.exit_code == 0 and "allow_private_webhooks=True" in saved.stderr
    # Every change made on the store is in the audit log, as the API's are (never a key).
    from sqlalchemy import select

    from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
    from gaitstream.services.alerts.store.models import AuditEntry

    with make_sessionmaker(make_engine(alerts_database_url))() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.action, r.object_id) for r in rows] == [
        ("CLI alerts admin add-supervisor", "supervisor_id=1,key_id=1"),
        ("CLI alerts admin issue-key", "supervisor_id=1,key_id=2"),
        ("CLI alerts admin revoke-key", "key_id=1"),
        ("CLI alerts admin clinic", "clinic_id=clinic-a"),
    ]
    assert all(r.actor.startswith("cli:") and r.outcome == "ok" for r in rows)
    assert not any("gsk_" in f"{r.action}{r.object_id}" for r in rows)
