"""Create or upgrade the alert store's schema with the packaged Alembic migrations.

Called by ``gaitstream alerts serve``, the dispatcher and the tests. The Alembic configuration is
built in code, so nothing but the package is needed at runtime (no alembic.ini).
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from gaitstream.logging import kv
from gaitstream.services.alerts.store.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL advisory lock id held while migrating ("gaitstrm" in ASCII): the API and the
# dispatcher start together and both upgrade; the second waits, then finds the schema at head.
PG_MIGRATION_LOCK_ID = 0x6761697473747270 & 0x7FFFFFFFFFFFFFFF
# Alembic's ``context`` and ``op`` proxies are module globals: one migration per process at once.
_PROCESS_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (and at ``database_url``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite runs DDL outside transactions: serialize migrations with a lock file beside it."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(Path(database).with_name(Path(database).name + ".migrate.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision``, one migrating process at a time
    (PostgreSQL: in one transaction under an advisory lock; SQLite: under a file lock)."""
    config = alembic_config()
    with _PROCESS_LOCK, _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    log.info(kv("alerts store migrated", revision=revision, dialect=engine.dialect.name))


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Create or upgrade the schema at ``database_url`` (SQLite files get their directory)."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()
