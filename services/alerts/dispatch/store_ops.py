"""Small store helpers shared by ingest and sender: portable insert-if-absent, a new delivery row
and UTC now."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def pending_delivery(alert_id: str, subscription_id: int, state_change: str, now: datetime) -> dict[str, Any]:
    """A delivery-log row to insert (``insert_ignore``): not attempted yet, due at once."""
    return {
        "alert_id": alert_id,
        "subscription_id": subscription_id,
        "state_change": state_change,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }


def insert_ignore(session: Session, model: type, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); returns rows inserted.

    The delivery log's unique (alert, subscription, state change) makes a replayed alert or a
    reminder scheduled twice a no-op instead of an error that would abort the transaction.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise ValueError(f"unsupported database {dialect!r}; valid: sqlite, postgresql")
    from sqlalchemy import inspect

    key = inspect(model).primary_key[0]
    inserted = 0
    for row in rows:  # RETURNING says whether the row went in (rowcount is -1 on psycopg here)
        statement = insert(model).values(**row).on_conflict_do_nothing().returning(key)
        inserted += session.execute(statement).first() is not None
    return inserted
