"""Fixtures of the alert service tests: migrated stores on SQLite (a file per test) and on a
real PostgreSQL server.

PostgreSQL: ``GAITSTREAM_TEST_POSTGRES_URL`` (an admin URL of an existing server, e.g. in CI)
is used when set; otherwise a throwaway server is started for the session with the machine's
``initdb``/``pg_ctl`` (PostgreSQL 15 on the project's machines) on a free 127.0.0.1 port, data
and unix socket in a temporary directory, and removed at the end. Without binaries the
PostgreSQL tests are skipped with the reason.

Fixtures for every alert test module (the dispatcher's too):

- ``alerts_database_url``: a migrated SQLite file in ``tmp_path``.
- ``postgres_server``: session; the admin URL (database ``postgres``) of the server.
- ``postgres_url``: session; a migrated database ``gaitstream_alerts`` on that server.
- ``fresh_postgres_url``: a new, migrated, empty database per test on that server.
- ``store_url``: parametrized over ``sqlite`` and ``postgresql`` (a fresh store per test).
- ``alerts_api``: the HTTP API on real uvicorn (127.0.0.1, free port) over ``store_url``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
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

# initdb + a first start take 2-5 s on the shared 2-core machines; more means something is wrong.
POSTGRES_STARTUP_TIMEOUT_S = 60
POSTGRES_USER = "gaitstream"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_postgres_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, newest major first."""
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates.append(Path("/usr/local/bin"))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for directory in candidates:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _run_as(user: str | None) -> list[str]:
    """initdb and postgres refuse to run as root: drop to ``user`` first when we are root."""
    return ["runuser", "-u", user, "--"] if user else []


def _unprivileged_user() -> str | None:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def _sqlalchemy_url(host: str, port: int, database: str) -> str:
    return f"postgresql+psycopg://{POSTGRES_USER}@{host}:{port}/{database}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    existing = os.environ.get("GAITSTREAM_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL not exercised: no initdb/pg_ctl/postgres found (on PATH, /usr/local/bin, "
                    "/usr/lib/postgresql/*/bin) and GAITSTREAM_TEST_POSTGRES_URL is not set")
    run_as_user = None
    if os.geteuid() == 0:
        run_as_user = _unprivileged_user()
        if run_as_user is None or shutil.which("runuser") is None:
            pytest.skip("PostgreSQL not exercised: running as root and no unprivileged user/runuser to start it")
    # Not under pytest's tmp dir: that is private to us, and the server may run as another user.
    root = Path(tempfile.mkdtemp(prefix="gaitstream-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "postgres.log"
    sockets.mkdir()
    if run_as_user:
        entry = pwd.getpwnam(run_as_user)
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    prefix = _run_as(run_as_user)
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", POSTGRES_USER, "--auth=trust",
                        "--encoding=UTF8", "--no-sync"], check=True, capture_output=True, text=True,
                       timeout=POSTGRES_STARTUP_TIMEOUT_S)
        # fsync off: a test server, thrown away at the end; this saves seconds on a shared disk.
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                        "-w", "-t", str(POSTGRES_STARTUP_TIMEOUT_S), "start"], check=True, capture_output=True,
                       text=True, timeout=POSTGRES_STARTUP_TIMEOUT_S + 10)
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "") + (log.read_text() if log.exists() else "")
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL from {bindir} did not start: {detail[-2000:]}")
    try:
        yield _sqlalchemy_url("127.0.0.1", port, "postgres")
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


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
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
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
