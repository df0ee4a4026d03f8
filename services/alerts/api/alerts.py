"""``/v1/alerts`` (what the dispatcher has seen, within the key's clinics), acknowledgements,
and ``/v1/mutes`` (a supervisor silencing a station, patient, kind or alert for a while).

An acknowledged alert gets no more reminders (``repeat_interval_s``): the dispatcher reads
``acknowledged_at``. The first acknowledgement is kept; acknowledging again changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from gaitstream.logging import kv
from gaitstream.services.alerts.api.auth import Principal, PrincipalDep, SessionDep
from gaitstream.services.alerts.api.schemas import AlertOut, AlertState, Id, MuteCreate, MuteOut
from gaitstream.services.alerts.api.subscriptions import UNPROCESSABLE, own_row
from gaitstream.services.alerts.store.accounts import utcnow
from gaitstream.services.alerts.store.models import Alert, Mute

log = logging.getLogger(__name__)
router = APIRouter(
    tags=["alerts"],
    responses={
        401: {"description": "Missing, invalid or revoked API key"},
        403: {"description": "Clinic outside the key's scope"},
    },
)

MAX_LIST = 500


def _clinics(principal: Principal, clinic_id: str | None) -> list[str]:
    if clinic_id is None:
        return sorted(principal.clinics)
    principal.require_clinic(clinic_id)
    return [clinic_id]


def alert_in_scope(session, principal: Principal, alert_id: str) -> Alert:
    row = session.get(Alert, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert with id {alert_id!r}")
    principal.require_clinic(row.clinic_id)
    return row


@router.get("/alerts", response_model=list[AlertOut], summary="Alerts of the key's clinics, newest first")
def list_alerts(
    principal: PrincipalDep,
    session: SessionDep,
    clinic_id: Annotated[Id | None, Query()] = None,
    state: Annotated[AlertState | None, Query()] = None,
    acknowledged: Annotated[bool | None, Query()] = None,
    station_id: Annotated[Id | None, Query()] = None,
    patient_id: Annotated[Id | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[Alert]:
    query = select(Alert).where(Alert.clinic_id.in_(_clinics(principal, clinic_id)))
    if state is not None:
        query = query.where(Alert.state == state)
    if acknowledged is not None:
        query = query.where(Alert.acknowledged_at.is_not(None) if acknowledged else Alert.acknowledged_at.is_(None))
    if station_id is not None:
        query = query.where(Alert.station_id == station_id)
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    return list(session.scalars(query.order_by(Alert.opened_at_us.desc(), Alert.alert_id).limit(limit)))


# Alert ids are "<session>:<kind>:<side>:<time_us>"; :path keeps an id with a slash in one piece.
@router.get("/alerts/{alert_id:path}/ack", include_in_schema=False)
def _ack_is_a_post(alert_id: str) -> None:
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, "acknowledge with POST", headers={"Allow": "POST"})


@router.post(
    "/alerts/{alert_id:path}/ack",
    response_model=AlertOut,
    summary="Acknowledge an alert: no more reminders; records who and when (first one kept)",
)
def acknowledge(alert_id: str, principal: PrincipalDep, session: SessionDep) -> Alert:
    row = alert_in_scope(session, principal, alert_id)
    if row.acknowledged_at is None:
        row.acknowledged_at = utcnow()
        row.acknowledged_by = principal.supervisor_id
        session.commit()
        log.info(kv("alert acknowledged", alert_id=alert_id, supervisor_id=principal.supervisor_id))
    return row


@router.get("/alerts/{alert_id:path}", response_model=AlertOut)
def get_alert(alert_id: str, principal: PrincipalDep, session: SessionDep) -> Alert:
    return alert_in_scope(session, principal, alert_id)


@router.post(
    "/mutes",
    status_code=status.HTTP_201_CREATED,
    response_model=MuteOut,
    tags=["mutes"],
    summary="Silence your deliveries for a station, patient, kind or one alert",
)
def create_mute(body: MuteCreate, principal: PrincipalDep, session: SessionDep) -> Mute:
    clinic_id = body.clinic_id
    if body.alert_id is not None:
        alert = alert_in_scope(session, principal, body.alert_id)
        if clinic_id is not None and clinic_id != alert.clinic_id:
            raise HTTPException(
                UNPROCESSABLE,
                [
                    {
                        "type": "value_error",
                        "loc": ["body", "clinic_id"],
                        "msg": f"alert {body.alert_id!r} belongs to clinic {alert.clinic_id!r}",
                    }
                ],
            )
        clinic_id = alert.clinic_id
    assert clinic_id is not None  # MuteCreate requires clinic_id or alert_id
    principal.require_clinic(clinic_id)
    now = utcnow()
    row = Mute(
        supervisor_id=principal.supervisor_id,
        clinic_id=clinic_id,
        station_id=body.station_id,
        patient_id=body.patient_id,
        kind=body.kind,
        alert_id=body.alert_id,
        until=now + timedelta(seconds=body.duration_s),
        created_at=now,
    )
    session.add(row)
    session.commit()
    log.info(
        kv(
            "mute created",
            mute_id=row.id,
            supervisor_id=row.supervisor_id,
            clinic_id=clinic_id,
            duration_s=body.duration_s,
        )
    )
    return row


@router.get("/mutes", response_model=list[MuteOut], tags=["mutes"], summary="Your mutes (active ones by default)")
def list_mutes(
    principal: PrincipalDep,
    session: SessionDep,
    clinic_id: Annotated[Id | None, Query()] = None,
    include_expired: bool = False,
) -> list[Mute]:
    query = select(Mute).where(
        Mute.supervisor_id == principal.supervisor_id, Mute.clinic_id.in_(_clinics(principal, clinic_id))
    )
    if not include_expired:
        query = query.where(Mute.until > utcnow())
    return list(session.scalars(query.order_by(Mute.id)))


@router.delete("/mutes/{mute_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["mutes"])
def delete_mute(mute_id: int, principal: PrincipalDep, session: SessionDep) -> None:
    row = own_row(session, principal, Mute, mute_id, "mute")
    session.delete(row)
    session.commit()
    log.info(kv("mute deleted", mute_id=mute_id))
