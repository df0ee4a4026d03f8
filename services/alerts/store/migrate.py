"""Create or upgrade the alert store's schema with the packaged Alembic migrations.

Called by ``gaitstream alerts serve``, the dispatcher and the tests. The Alembic configuration is
built in code, so nothing but the package is needed at runtime (no alembic.ini).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gaitstream.logging import kv
from services.alerts.store.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
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


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
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
