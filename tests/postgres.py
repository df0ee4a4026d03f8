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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    existing = os.environ.get("GAITSTREAM_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL not exercised: no initdb/pg_ctl/postgres found (on PATH, /usr/local/bin, "
            "/usr/lib/postgresql/*/bin) and GAITSTREAM_TEST_POSTGRES_URL is not set"
        )
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
        subprocess.run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                POSTGRES_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=POSTGRES_STARTUP_TIMEOUT_S,
        )
        # fsync off: a test server, thrown away at the end; this saves seconds on a shared disk.
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "-t",
                str(POSTGRES_STARTUP_TIMEOUT_S),
                "start",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=POSTGRES_STARTUP_TIMEOUT_S + 10,
        )
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "") + (log.read_text() if log.exists() else "")
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL from {bindir} did not start: {detail[-2000:]}")
    try:
        yield _sqlalchemy_url("127.0.0.1", port, "postgres")
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
            capture_output=True,
            timeout=60,
        )
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
