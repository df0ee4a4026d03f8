"""The packaged Alembic migrations build exactly the schema of ``store/models.py`` (SQLite and
PostgreSQL); a model change without a revision fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from services.alerts.store.db import make_engine
from services.alerts.store.migrate import head_revision, upgrade_database
from services.alerts.store.models import Base


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
