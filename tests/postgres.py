"""A real PostgreSQL server for the tests (a pytest plugin: ``tests/conftest.py`` loads it).

``GAITSTREAM_TEST_POSTGRES_URL`` (an admin URL of an existing server, e.g. in CI) is used when
set; otherwise a throwaway server is started for the session with the machine's
``initdb``/``pg_ctl`` (PostgreSQL 15 on the project's machines) on a free 127.0.0.1 port, data
and unix socket in a temporary directory, and removed at the end. Without binaries the tests
that need it are skipped with the reason. Fixture: ``postgres_server`` (session; the admin URL,
database ``postgres``). Helpers: ``create_database``, ``free_port``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
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


class PostgresError(RuntimeError):
    """The server did not start (the message carries its log's tail)."""


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary directory on a free 127.0.0.1 port; it can be
    stopped and started again on the same data and port (the fault campaign takes it down)."""

    def __init__(self, bindir: Path, run_as_user: str | None) -> None:
        self.bindir, self.prefix = bindir, _run_as(run_as_user)
        # Not under pytest's tmp dir: that is private to us, and the server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="gaitstream-pg-"))
        self.data, self.sockets, self.log = self.root / "data", self.root / "sock", self.root / "postgres.log"
        self.sockets.mkdir()
        if run_as_user:
            entry = pwd.getpwnam(run_as_user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.port = free_port()

    @property
    def admin_url(self) -> str:
        return _sqlalchemy_url("127.0.0.1", self.port, "postgres")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust", "--encoding=UTF8", "--no-sync")

    def start(self) -> None:
        # fsync off: a test server, thrown away at the end; this saves seconds on a shared disk.
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        timeout = str(POSTGRES_STARTUP_TIMEOUT_S)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", timeout, "start")

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"],
            capture_output=True,
            timeout=60,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        try:
            subprocess.run(
                [*self.prefix, str(self.bindir / program), *args],
                check=True,
                capture_output=True,
                text=True,
                timeout=POSTGRES_STARTUP_TIMEOUT_S + 10,
            )
        except subprocess.CalledProcessError as error:
            detail = (error.stderr or "") + (self.log.read_text() if self.log.exists() else "")
            raise PostgresError(f"{program} from {self.bindir} failed: {detail[-2000:]}") from error


def new_postgres_server() -> PostgresServer | str:
    """A started server, or why there can be none here (no binaries; root without a user to run as)."""
    bindir = find_postgres_bin()
    if bindir is None:
        return (
            "no initdb/pg_ctl/postgres found (on PATH, /usr/local/bin, /usr/lib/postgresql/*/bin) "
            "and GAITSTREAM_TEST_POSTGRES_URL is not set"
        )
    run_as_user = None
    if os.geteuid() == 0:
        run_as_user = _unprivileged_user()
        if run_as_user is None or shutil.which("runuser") is None:
            return "running as root and no unprivileged user/runuser to start it"
    server = PostgresServer(bindir, run_as_user)
    try:
        server.init()
        server.start()
    except PostgresError:
        shutil.rmtree(server.root, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    existing = os.environ.get("GAITSTREAM_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    try:
        server = new_postgres_server()
    except PostgresError as error:
        pytest.fail(str(error))
    if isinstance(server, str):
        pytest.skip(f"PostgreSQL not exercised: {server}")
    try:
        yield server.admin_url
    finally:
        server.remove()


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
