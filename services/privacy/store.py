"""The alert store's side: a patient's alerts (with their deliveries), subscriptions, mutes and
programme revisions (with the therapists' notes) exported and deleted; audit rows that name the
patient exported and redacted (what was done stays, whom it concerned goes); rows past retention
purged. A patient is a pseudonym within a clinic: every query matches both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from gaitstream.services.alerts.store.models import (
    Alert,
    AuditEntry,
    Delivery,
    Mute,
    ProgrammeRevision,
    Subscription,
)

# What an erased patient's id becomes in the audit rows that named it.
ERASED = "<erased>"


def _row(obj) -> dict:
    values = {}
    for column in inspect(obj).mapper.column_attrs:
        value = getattr(obj, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


def _of(model, clinic: str, pseudonym: str):
    return (model.clinic_id == clinic) & (model.patient_id == pseudonym)


def _audit_rows(session: Session, clinic: str, pseudonym: str) -> list[AuditEntry]:
    """Audit rows whose path parameters name this clinic and patient (``clinic_id=…,patient_id=…``)."""
    candidates = session.scalars(select(AuditEntry).where(AuditEntry.object_id.contains(f"patient_id={pseudonym}")))
    out = []
    for row in candidates:
        params = dict(part.split("=", 1) for part in (row.object_id or "").split(",") if "=" in part)
        if params.get("patient_id") == pseudonym and params.get("clinic_id") == clinic:
            out.append(row)
    return out


def export_rows(sessions: sessionmaker[Session], clinic: str, pseudonym: str) -> dict[str, list[dict]]:
    """Alerts (acknowledgements are their columns), their deliveries, subscriptions, mutes,
    programme revisions (notes included) and the audit rows that name the patient."""
    with sessions() as session:
        alerts = session.scalars(select(Alert).where(_of(Alert, clinic, pseudonym))).all()
        ids = [a.alert_id for a in alerts]
        deliveries = session.scalars(select(Delivery).where(Delivery.alert_id.in_(ids))).all() if ids else []
        subscriptions = session.scalars(select(Subscription).where(_of(Subscription, clinic, pseudonym))).all()
        mutes = session.scalars(select(Mute).where(_of(Mute, clinic, pseudonym))).all()
        revisions = session.scalars(
            select(ProgrammeRevision)
            .where(_of(ProgrammeRevision, clinic, pseudonym))
            .order_by(ProgrammeRevision.revision)
        ).all()
        out = {
            "alerts": [_row(a) for a in alerts],
            "deliveries": [_row(d) for d in deliveries],
            "subscriptions": [_row(s) for s in subscriptions],
            "mutes": [_row(m) for m in mutes],
            "programme_revisions": [_row(r) for r in revisions],
            "audit": [_row(a) for a in _audit_rows(session, clinic, pseudonym)],
        }
    for subscription in out["subscriptions"]:
        subscription.pop("webhook_secret", None)  # a credential of the clinic, not the patient's data
    return out


def delete_rows(sessions: sessionmaker[Session], clinic: str, pseudonym: str) -> dict[str, int]:
    """Delete the patient's rows; deliveries first (explicitly: SQLite may run without cascades)."""
    with sessions.begin() as session:
        ids = session.scalars(select(Alert.alert_id).where(_of(Alert, clinic, pseudonym))).all()
        subs = session.scalars(select(Subscription.id).where(_of(Subscription, clinic, pseudonym))).all()
        counts = {"deliveries": 0}
        if ids or subs:
            condition = Delivery.alert_id.in_(ids) | Delivery.subscription_id.in_(subs)
            counts["deliveries"] = session.execute(delete(Delivery).where(condition)).rowcount or 0
        counts["alerts"] = session.execute(delete(Alert).where(_of(Alert, clinic, pseudonym))).rowcount or 0
        counts["subscriptions"] = (
            session.execute(delete(Subscription).where(_of(Subscription, clinic, pseudonym))).rowcount or 0
        )
        counts["mutes"] = session.execute(delete(Mute).where(_of(Mute, clinic, pseudonym))).rowcount or 0
        counts["programme_revisions"] = (
            session.execute(delete(ProgrammeRevision).where(_of(ProgrammeRevision, clinic, pseudonym))).rowcount or 0
        )
        audit = _audit_rows(session, clinic, pseudonym)
        for row in audit:
            row.object_id = row.object_id.replace(f"patient_id={pseudonym}", f"patient_id={ERASED}")
        counts["audit_redacted"] = len(audit)
    return counts


def purge_older(
    sessions: sessionmaker[Session], days: float, *, audit_days: float | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Alerts opened more than ``days`` ago (with their deliveries), mutes that ended before, and
    audit rows older than ``audit_days`` (default ``days``)."""
    now = now or datetime.now(UTC)
    cutoff = now.replace(tzinfo=None) - timedelta(days=days)
    cutoff_us = int((now - timedelta(days=days)).timestamp() * 1e6)
    with sessions.begin() as session:
        old = session.scalars(select(Alert.alert_id).where(Alert.opened_at_us < cutoff_us)).all()
        deliveries = session.execute(delete(Delivery).where(Delivery.alert_id.in_(old))).rowcount or 0 if old else 0
        alerts = session.execute(delete(Alert).where(Alert.alert_id.in_(old))).rowcount or 0 if old else 0
        mutes = session.execute(delete(Mute).where(Mute.until < cutoff)).rowcount or 0
        audit_cutoff = now.replace(tzinfo=None) - timedelta(days=days if audit_days is None else audit_days)
        audit = session.execute(delete(AuditEntry).where(AuditEntry.at < audit_cutoff)).rowcount or 0
    return {"alerts": alerts, "deliveries": deliveries, "mutes": mutes, "audit": audit}
