"""The packaged Alembic migrations build exactly the schema of ``store/models.py`` (SQLite and
PostgreSQL); a model change without a revision fails here."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gaitstream.services.alerts.store.db import make_engine
from gaitstream.services.alerts.store.migrate import head_revision, upgrade_database
from gaitstream.services.alerts.store.models import Base


def test_migrated_schema_equals_the_models(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diff = compare_metadata(context, Base.metadata)
            assert context.get_current_revision() == head_revision()
    finally:
        engine.dispose()
    assert diff == [], f"models.py and the migrations differ; add a revision: {diff}"


def test_upgrade_is_idempotent_and_creates_every_table(store_url: str) -> None:
    upgrade_database(store_url)  # a second run at head changes nothing
    engine = make_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_sqlite_directory_is_created(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'dir' / 'alerts.db'}"
    upgrade_database(url)
    assert (tmp_path / "new" / "dir" / "alerts.db").exists()


def test_downgrade_to_base_and_back(store_url: str) -> None:
    upgrade_database(store_url)
    engine = make_engine(store_url)
    try:
        from alembic import command

        from gaitstream.services.alerts.store.migrate import alembic_config

        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade_database(store_url)
    engine = make_engine(store_url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_first_starts_all_succeed(backend: str, tmp_path, request: pytest.FixtureRequest) -> None:
    """The API and the dispatcher start together on an empty store and both upgrade it (without
    the migration locks, about one start in twenty fails here with "table already exists")."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'alerts.db'}"
    else:
        from tests.services.alerts.conftest import create_database

        url = create_database(request.getfixturevalue("postgres_server"), f"alerts_race_{uuid.uuid4().hex[:12]}")
    code = (
        "import sys; from gaitstream.services.alerts.store.migrate import upgrade_database; "
        "upgrade_database(sys.argv[1])"
    )
    starts = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(3)]
    failures = [err for process in starts for _, err in [process.communicate(timeout=120)] if process.returncode]
    assert failures == []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    finally:
        engine.dispose()
