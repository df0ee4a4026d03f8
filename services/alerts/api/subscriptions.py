"""``/v1/subscriptions`` (a supervisor's own subscriptions) and ``/v1/me``.

Look-ups answer 404 for an id that does not exist or belongs to another supervisor, and 403 for
one in a clinic outside the key's scope.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import ValidationError
from sqlalchemy import select

from gaitstream.logging import kv
from gaitstream.services.alerts.api.auth import PrincipalDep, SessionDep
from gaitstream.services.alerts.api.schemas import (
    Id,
    Me,
    MuteFor,
    SubscriptionCreate,
    SubscriptionFields,
    SubscriptionOut,
    SubscriptionSaved,
    SubscriptionUpdate,
    SupervisorOut,
    check_target,
)
from gaitstream.services.alerts.store.accounts import clinic_settings, utcnow
from gaitstream.services.alerts.store.models import Subscription, Supervisor
from gaitstream.services.alerts.urlguard import (
    UnsafeWebhookTarget,
    apprise_http_host,
    check_apprise_scheme,
    check_webhook_url,
)

log = logging.getLogger(__name__)
router = APIRouter(
    tags=["subscriptions"],
    responses={
        401: {"description": "Missing, invalid or revoked API key"},
        403: {"description": "Clinic outside the key's scope"},
    },
)

# Starlette renamed the 422 constant (…_ENTITY -> …_CONTENT); the number is what clients see.
UNPROCESSABLE = 422
# 32 random bytes: the HMAC-SHA256 key the dispatcher signs webhook bodies with.
WEBHOOK_SECRET_BYTES = 32


def set_fallback(row, channel: str | None, target: str | None) -> str | None:
    """Set a clinic's fallback channel and target on its settings ``row``; a webhook fallback gets
    a new signing secret when it is set or changed, returned (to show once), else None."""
    changed = (row.fallback_channel, row.fallback_target) != (channel, target)
    row.fallback_channel, row.fallback_target = channel, target
    if channel != "webhook":
        row.fallback_webhook_secret = None
    elif changed or row.fallback_webhook_secret is None:
        row.fallback_webhook_secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
        return row.fallback_webhook_secret
    return None


def invalid_field(field: str, message: str, value: Any = None) -> HTTPException:
    """A 422 in FastAPI's own validation-error shape, for checks that need the database or DNS."""
    return HTTPException(
        UNPROCESSABLE, [{"type": "value_error", "loc": ["body", field], "msg": message, "input": value}]
    )


def check_channel_target(session, *, clinic_id: str, channel: str, target: str) -> None:
    try:
        check_target(channel, target)
        if channel == "apprise":
            check_apprise_scheme(target)
        # apprise's json://, xml://, form:// and a self-hosted ntfy are webhooks under another name.
        url = target if channel == "webhook" else apprise_http_host(target) if channel == "apprise" else None
        if url is not None:
            allow = clinic_settings(session, clinic_id).allow_private_webhooks
            check_webhook_url(url, allow_private=allow)
    except (ValueError, UnsafeWebhookTarget) as error:
        raise invalid_field("target", str(error), target) from error


def own_row(session, principal, model, row_id: int, noun: str):
    """The caller's own ``model`` row: 403 outside the key's clinics, 404 when unknown or another
    supervisor's (whose ids are not the caller's business)."""
    row = session.get(model, row_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {noun} with id {row_id}")
    principal.require_clinic(row.clinic_id)
    if row.supervisor_id != principal.supervisor_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {noun} with id {row_id}")
    return row


def own_subscription(session, principal, subscription_id: int) -> Subscription:
    return own_row(session, principal, Subscription, subscription_id, "subscription")


def _saved(row: Subscription, *, show_secret: bool) -> SubscriptionSaved:
    out = SubscriptionSaved.model_validate(row)
    out.webhook_secret = row.webhook_secret if show_secret else None
    return out


@router.get("/me", response_model=Me, summary="The supervisor and clinic scope of the calling key")
def me(principal: PrincipalDep, session: SessionDep) -> Me:
    supervisor = session.get(Supervisor, principal.supervisor_id)
    return Me(
        supervisor=SupervisorOut.model_validate(supervisor),
        key_prefix=principal.key_prefix,
        clinics=sorted(principal.clinics),
    )


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionSaved,
    summary="Subscribe (a webhook subscription's signing secret is in this response only)",
)
def create_subscription(body: SubscriptionCreate, principal: PrincipalDep, session: SessionDep) -> SubscriptionSaved:
    principal.require_clinic(body.clinic_id)
    check_channel_target(session, clinic_id=body.clinic_id, channel=body.channel, target=body.target)
    now = utcnow()
    row = Subscription(
        supervisor_id=principal.supervisor_id,
        **body.model_dump(),
        created_at=now,
        updated_at=now,
        webhook_secret=secrets.token_urlsafe(WEBHOOK_SECRET_BYTES) if body.channel == "webhook" else None,
    )
    session.add(row)
    session.commit()
    log.info(
        kv(
            "subscription created",
            subscription_id=row.id,
            supervisor_id=row.supervisor_id,
            clinic_id=row.clinic_id,
            channel=row.channel,
        )
    )
    return _saved(row, show_secret=True)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(
    principal: PrincipalDep, session: SessionDep, clinic_id: Annotated[Id | None, Query()] = None
) -> list[Subscription]:
    query = select(Subscription).where(Subscription.supervisor_id == principal.supervisor_id)
    if clinic_id is not None:
        principal.require_clinic(clinic_id)
        query = query.where(Subscription.clinic_id == clinic_id)
    else:
        query = query.where(Subscription.clinic_id.in_(sorted(principal.clinics)))
    return list(session.scalars(query.order_by(Subscription.id)))


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(subscription_id: int, principal: PrincipalDep, session: SessionDep) -> Subscription:
    return own_subscription(session, principal, subscription_id)


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionSaved,
    summary="Change a subscription (a new webhook secret is returned when the channel becomes webhook)",
)
def update_subscription(
    subscription_id: int, body: SubscriptionUpdate, principal: PrincipalDep, session: SessionDep
) -> SubscriptionSaved:
    row = own_subscription(session, principal, subscription_id)
    changes = body.model_dump(exclude_unset=True)
    current = {name: getattr(row, name) for name in SubscriptionFields.model_fields}
    merged = {**current, **changes}
    # Check the result as a whole (quiet hours in pairs, target against channel).
    try:
        SubscriptionFields.model_validate(merged)
    except ValidationError as error:
        raise HTTPException(
            UNPROCESSABLE, [{"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"]} for e in error.errors()]
        ) from error
    check_channel_target(session, clinic_id=row.clinic_id, channel=merged["channel"], target=merged["target"])
    new_secret = merged["channel"] == "webhook" and row.channel != "webhook"
    for name, value in changes.items():
        setattr(row, name, value)
    if new_secret:
        row.webhook_secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
    elif row.channel != "webhook":
        row.webhook_secret = None
    row.updated_at = utcnow()
    session.commit()
    log.info(kv("subscription updated", subscription_id=row.id, fields=",".join(sorted(changes)) or "-"))
    return _saved(row, show_secret=new_secret)


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(subscription_id: int, principal: PrincipalDep, session: SessionDep) -> None:
    row = own_subscription(session, principal, subscription_id)
    session.delete(row)
    session.commit()
    log.info(kv("subscription deleted", subscription_id=subscription_id))


@router.post(
    "/subscriptions/{subscription_id}/mute",
    response_model=SubscriptionOut,
    summary="Silence this subscription for duration_s",
)
def mute_subscription(
    subscription_id: int, body: MuteFor, principal: PrincipalDep, session: SessionDep
) -> Subscription:
    row = own_subscription(session, principal, subscription_id)
    row.muted_until = utcnow() + timedelta(seconds=body.duration_s)
    row.updated_at = utcnow()
    session.commit()
    log.info(kv("subscription muted", subscription_id=row.id, duration_s=body.duration_s))
    return row


@router.delete("/subscriptions/{subscription_id}/mute", response_model=SubscriptionOut)
def unmute_subscription(subscription_id: int, principal: PrincipalDep, session: SessionDep) -> Subscription:
    row = own_subscription(session, principal, subscription_id)
    row.muted_until = None
    row.updated_at = utcnow()
    session.commit()
    return row
