"""``/v1/admin``: supervisors, their API keys, clinic settings (the operator's admin token)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from sqlalchemy import select

from gaitstream.logging import kv
from gaitstream.services.alerts.api.auth import SessionDep, require_admin
from gaitstream.services.alerts.api.schemas import (
    ClinicSettingsIn,
    ClinicSettingsOut,
    ClinicSettingsSaved,
    KeyCreate,
    KeyCreated,
    KeyOut,
    SupervisorCreate,
    SupervisorOut,
)
from gaitstream.services.alerts.api.subscriptions import check_channel_target, set_fallback
from gaitstream.services.alerts.store import accounts
from gaitstream.services.alerts.store.accounts import ID_PATTERN
from gaitstream.services.alerts.store.models import ApiKey, AuditEntry, ClinicSettings, Supervisor

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"description": "Missing or wrong admin token"},
        503: {"description": "GAITSTREAM_ALERTS_ADMIN_TOKEN is not set on the server"},
    },
)

ClinicPath = Annotated[str, Path(pattern=ID_PATTERN)]


def _supervisor(session, supervisor_id: int) -> Supervisor:
    supervisor = session.get(Supervisor, supervisor_id)
    if supervisor is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no supervisor with id {supervisor_id}")
    return supervisor


@router.post("/supervisors", status_code=status.HTTP_201_CREATED, response_model=SupervisorOut)
def create_supervisor(body: SupervisorCreate, session: SessionDep) -> Supervisor:
    supervisor = accounts.create_supervisor(session, name=body.name, email=body.email)
    session.commit()
    log.info(kv("supervisor created", supervisor_id=supervisor.id))
    return supervisor


@router.get("/supervisors", response_model=list[SupervisorOut])
def list_supervisors(session: SessionDep) -> list[Supervisor]:
    return list(session.scalars(select(Supervisor).order_by(Supervisor.id)))


@router.post(
    "/supervisors/{supervisor_id}/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    summary="Issue an API key scoped to clinics (the key is in this response only)",
)
def create_key(supervisor_id: int, body: KeyCreate, session: SessionDep) -> KeyCreated:
    _supervisor(session, supervisor_id)
    issued = accounts.issue_key(session, supervisor_id=supervisor_id, clinics=body.clinics)
    session.commit()
    log.info(
        kv(
            "api key issued",
            supervisor_id=supervisor_id,
            prefix=issued.row.prefix,
            clinics=",".join(issued.row.clinics),
        )
    )
    return KeyCreated(**KeyOut.model_validate(issued.row).model_dump(), key=issued.key)


@router.get("/supervisors/{supervisor_id}/keys", response_model=list[KeyOut])
def list_keys(supervisor_id: int, session: SessionDep) -> list[ApiKey]:
    _supervisor(session, supervisor_id)
    return list(session.scalars(select(ApiKey).where(ApiKey.supervisor_id == supervisor_id).order_by(ApiKey.id)))


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, summary="Revoke an API key (idempotent)")
def revoke_key(key_id: int, session: SessionDep) -> ApiKey:
    row = accounts.revoke_key(session, key_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no API key with id {key_id}")
    session.commit()
    log.info(kv("api key revoked", key_id=key_id, prefix=row.prefix))
    return row


@router.get("/clinics/{clinic_id}", response_model=ClinicSettingsOut)
def get_clinic(clinic_id: ClinicPath, session: SessionDep) -> ClinicSettings:
    return accounts.clinic_settings(session, clinic_id)


@router.put(
    "/clinics/{clinic_id}",
    response_model=ClinicSettingsSaved,
    summary="Set a clinic's dispatch settings (private webhooks, digest)",
)
def put_clinic(clinic_id: ClinicPath, body: ClinicSettingsIn, session: SessionDep) -> ClinicSettingsSaved:
    row = session.get(ClinicSettings, clinic_id)
    if row is None:
        row = ClinicSettings(clinic_id=clinic_id)
        session.add(row)
    row.allow_private_webhooks = body.allow_private_webhooks
    row.digest_after = body.digest_after
    row.digest_window_s = body.digest_window_s
    row.escalate_after_failures = body.escalate_after_failures
    session.flush()
    if body.fallback_channel is not None:
        check_channel_target(session, clinic_id=clinic_id, channel=body.fallback_channel, target=body.fallback_target)
    new_secret = set_fallback(row, body.fallback_channel, body.fallback_target)
    session.commit()
    log.info(
        kv(
            "clinic settings saved",
            clinic_id=clinic_id,
            allow_private_webhooks=row.allow_private_webhooks,
            digest_after=row.digest_after,
            digest_window_s=row.digest_window_s,
            fallback_channel=row.fallback_channel,
            escalate_after_failures=row.escalate_after_failures,
        )
    )
    out = ClinicSettingsSaved.model_validate(row)
    out.fallback_webhook_secret = new_secret
    return out


@router.get("/audit")
def list_audit(
    session: SessionDep,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict]:
    """The audit log, newest first: who read or changed what, when, and how it ended."""
    query = select(AuditEntry)
    for column, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.action, action),
        (AuditEntry.object_type, object_type),
        (AuditEntry.outcome, outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return [
        {
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "outcome": r.outcome,
            "status_code": r.status_code,
            "client": r.client,
        }
        for r in rows
    ]
