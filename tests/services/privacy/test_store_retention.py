"""Retention of the alert store's rows, the audit log's included (SQLite: no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
from gaitstream.services.alerts.store.migrate import upgrade_database
from gaitstream.services.alerts.store.models import AuditEntry
from gaitstream.services.privacy.store import purge_older


def test_audit_rows_past_their_retention_are_purged_and_recent_ones_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    upgrade_database(url)
    sessions = make_sessionmaker(make_engine(url))
    now = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    with sessions.begin() as session:
        for age_days in (400, 366, 364, 1):
            session.add(
                AuditEntry(
                    at=now - timedelta(days=age_days),
                    actor="key:abc",
                    action="GET /v1/alerts",
                    object_type="alerts",
                    outcome="denied",
                    status_code=401,
                )
            )
    purged = purge_older(sessions, 365.0, audit_days=365.0, now=now)
    assert purged["audit"] == 2
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    assert purge_older(sessions, 365.0, audit_days=30.0, now=now)["audit"] == 1
