"""Fixtures of the alert service tests: migrated stores on SQLite (a file per test) and on a
real PostgreSQL server.

PostgreSQL: the server of ``tests/postgres.py`` (fixture ``postgres_server``).

Fixtures for every alert test module (the dispatcher's too):

- ``alerts_database_url``: a migrated SQLite file in ``tmp_path``.
- ``postgres_url``: session; a migrated database ``gaitstream_alerts`` on that server.
- ``fresh_postgres_url``: a new, migrated, empty database per test on that server.
- ``store_url``: parametrized over ``sqlite`` and ``postgresql`` (a fresh store per test).
- ``alerts_api``: the HTTP API on real uvicorn (127.0.0.1, free port) over ``store_url``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from gaitstream.services.alerts.store.migrate import upgrade_database
from tests.postgres import create_database, free_port

__all__ = ["create_database", "free_port"]  # also used by the test modules


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> str:
    url = create_database(postgres_server, f"gaitstream_alerts_{uuid.uuid4().hex[:8]}")
    upgrade_database(url)
    return url


@pytest.fixture()
def fresh_postgres_url(postgres_server: str) -> str:
    url = create_database(postgres_server, f"alerts_test_{uuid.uuid4().hex[:12]}")
    upgrade_database(url)
    return url


@pytest.fixture()
def alerts_database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    upgrade_database(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("alerts_database_url")
    return request.getfixturevalue("fresh_postgres_url")


# --- the HTTP API on a real uvicorn --------------------------------------------------------------

# uvicorn starts in well under a second; the budget covers a loaded shared machine.
API_STARTUP_TIMEOUT_S = 20.0
TEST_ADMIN_TOKEN = "test-admin-token-" + uuid.uuid4().hex


@dataclass
class RunningApi:
    """A live alerts API: ``base_url``, the admin token it accepts and its store."""

    base_url: str
    admin_token: str
    database_url: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10.0)

    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    def new_supervisor(self, name: str, clinics: list[str]) -> tuple[int, str]:
        """A supervisor and an API key scoped to ``clinics``, through the admin API."""
        with self.admin() as admin:
            created = admin.post("/v1/admin/supervisors", json={"name": name})
            assert created.status_code == 201, created.text
            supervisor_id = created.json()["id"]
            key = admin.post(f"/v1/admin/supervisors/{supervisor_id}/keys", json={"clinics": clinics})
            assert key.status_code == 201, key.text
        return supervisor_id, key.json()["key"]


@contextmanager
def serve_in_thread(app, *, port: int | None = None) -> Iterator[str]:
    """Run ``app`` on real uvicorn on 127.0.0.1 in a thread; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"alerts-api-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + API_STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"alerts API did not start on {base_url} within {API_STARTUP_TIMEOUT_S} s")
        time.sleep(0.02)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture()
def alerts_api(store_url: str) -> Iterator[RunningApi]:
    """The API over a fresh store, on SQLite and on PostgreSQL, with the admin API enabled."""
    from gaitstream.services.alerts.api.app import create_app
    from gaitstream.services.alerts.settings import AlertServiceSettings

    settings = AlertServiceSettings(database_url=store_url, admin_token=TEST_ADMIN_TOKEN)
    with serve_in_thread(create_app(settings)) as base_url:
        yield RunningApi(base_url=base_url, admin_token=TEST_ADMIN_TOKEN, database_url=store_url)
