"""Alembic environment: run by ``gaitstream.services.alerts.store.migrate.upgrade_database`` (which passes
the engine's connection in ``config.attributes``) or by the ``alembic`` command with
``-x database_url=...`` while writing a new revision."""

from __future__ import annotations

from alembic import context

from gaitstream.services.alerts.store.db import make_engine
from gaitstream.services.alerts.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rewrites the table instead.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x database_url=... or use upgrade_database()")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
