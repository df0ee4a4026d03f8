"""Request and response bodies of the HTTP API (pydantic). Requests forbid unknown fields, so a
typo is a 422 naming the field rather than a silently ignored setting.

What needs the database or the network (the clinic's webhook policy, DNS of a webhook host) is
checked by the routes, and reported in the same 422 shape.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gaitstream.services.alerts.store.accounts import ID_PATTERN

Severity = Literal["info", "warning", "critical"]
Channel = Literal["email", "webhook", "apprise"]
AlertState = Literal["open", "resolved"]

# A day is the longest sensible reminder gap for an open alert; a minute the shortest that is
# not spam (the dispatcher polls for due reminders on that order anyway).
MIN_REPEAT_INTERVAL_S = 60
MAX_REPEAT_INTERVAL_S = 24 * 3600
# Mutes: a minute at least, 30 days at most (a longer silence is a subscription to delete).
MIN_MUTE_S = 60
MAX_MUTE_S = 30 * 24 * 3600

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _utc(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def check_email(value: str) -> str:
    if len(value) > 320 or not _EMAIL_RE.match(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Berlin, UTC)") from error
    return value


def check_hhmm(value: str) -> str:
    if not _HHMM_RE.match(value):
        raise ValueError(f"time must be HH:MM (00:00-23:59), got {value!r}")
    return value


def check_target(channel: str, target: str) -> str:
    """The target's syntax for its channel (the webhook policy is the route's: it needs the clinic;
    apprise URLs that post to a chosen host get the same policy there)."""
    if channel == "email":
        return check_email(target)
    if channel == "apprise":
        return check_apprise_url(target)
    if not target.lower().startswith(("http://", "https://")):
        raise ValueError("webhook target must be an http:// or https:// URL")
    return target


def check_apprise_url(value: str) -> str:
    import apprise

    if apprise.Apprise.instantiate(value, suppress_exceptions=True) is None:
        raise ValueError(
            "not an apprise URL apprise can use (e.g. ntfy://topic, slack://…, msteams://…); "
            "see https://github.com/caronc/apprise/wiki"
        )
    return value


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Email = Annotated[str, AfterValidator(check_email)]
HHMM = Annotated[str, AfterValidator(check_hhmm)]
TimeZone = Annotated[str, AfterValidator(check_timezone)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- admin -----------------------------------------------------------------------------------


class SupervisorCreate(Request):
    name: str = Field(min_length=1, max_length=200)
    email: Email | None = None


class SupervisorOut(Response):
    id: int
    name: str
    email: str | None
    created_at: UtcDatetime


class KeyCreate(Request):
    clinics: list[Id] = Field(min_length=1, max_length=100, description="Clinic ids this key may see and act on")


class KeyOut(Response):
    id: int
    supervisor_id: int
    prefix: str
    clinics: list[str]
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key. Shown this once: only its SHA-256 is stored")


class ClinicSettingsIn(Request):
    allow_private_webhooks: bool = False
    digest_after: int = Field(5, ge=1, le=1000)
    digest_window_s: int = Field(300, ge=10, le=86400)
    fallback_channel: Channel | None = Field(
        None, description="Where an open alert escalates when a supervisor's channel keeps failing; null: nowhere"
    )
    fallback_target: str | None = Field(None, min_length=1, max_length=2000)
    escalate_after_failures: int = Field(3, ge=1, le=100, description="Failed attempts of one delivery first")

    @model_validator(mode="after")
    def _fallback_pair(self) -> ClinicSettingsIn:
        if (self.fallback_channel is None) != (self.fallback_target is None):
            raise ValueError("fallback_channel and fallback_target go together: set both or neither")
        return self


class ClinicSettingsOut(Response):
    clinic_id: str
    allow_private_webhooks: bool
    digest_after: int
    digest_window_s: int
    fallback_channel: str | None = None
    fallback_target: str | None = None
    escalate_after_failures: int = 3


class ClinicSettingsSaved(ClinicSettingsOut):
    fallback_webhook_secret: str | None = Field(
        None, description="HMAC-SHA256 key of a webhook fallback, shown only when it is set or changed"
    )


# --- subscriptions ---------------------------------------------------------------------------


class SubscriptionFields(Request):
    """What a subscription is, without its clinic (fixed at creation). ``target`` is checked
    against ``channel`` by the route (with the clinic's webhook policy), as field ``target``."""

    station_id: Id | None = None
    patient_id: Id | None = None
    kinds: list[Kind] | None = Field(None, min_length=1, description="Alert kinds; null: every kind")
    min_severity: Severity = "warning"
    channel: Channel
    target: str = Field(
        min_length=1,
        max_length=2000,
        description="E-mail address, webhook URL (http/https) or apprise URL, per channel",
    )
    quiet_start: HHMM | None = Field(None, description="Quiet hours start, HH:MM in `timezone`")
    quiet_end: HHMM | None = Field(None, description="Quiet hours end, HH:MM in `timezone`; may wrap midnight")
    timezone: TimeZone = "UTC"
    repeat_interval_s: int | None = Field(
        None,
        ge=MIN_REPEAT_INTERVAL_S,
        le=MAX_REPEAT_INTERVAL_S,
        description="Remind about an open, unacknowledged alert; null: never",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> SubscriptionFields:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start and quiet_end go together: set both or neither")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet_start equals quiet_end: an empty quiet period; leave both null instead")
        return self


class SubscriptionCreate(SubscriptionFields):
    clinic_id: Id


class SubscriptionUpdate(Request):
    """Fields to change; the rest stay. ``null`` clears an optional field."""

    station_id: Id | None = None
    patient_id: Id | None = None
    kinds: list[Kind] | None = Field(None, min_length=1)
    min_severity: Severity | None = None
    channel: Channel | None = None
    target: str | None = Field(None, min_length=1, max_length=2000)
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None
    timezone: TimeZone | None = None
    repeat_interval_s: int | None = Field(None, ge=MIN_REPEAT_INTERVAL_S, le=MAX_REPEAT_INTERVAL_S)
    enabled: bool | None = None


class SubscriptionOut(Response):
    id: int
    supervisor_id: int
    clinic_id: str
    station_id: str | None
    patient_id: str | None
    kinds: list[str] | None
    min_severity: str
    channel: str
    target: str
    quiet_start: str | None
    quiet_end: str | None
    timezone: str
    repeat_interval_s: int | None
    muted_until: UtcDatetime | None
    enabled: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SubscriptionSaved(SubscriptionOut):
    webhook_secret: str | None = Field(
        None, description="HMAC-SHA256 key of a webhook subscription, shown only when it is created"
    )


class MuteFor(Request):
    duration_s: int = Field(ge=MIN_MUTE_S, le=MAX_MUTE_S)


# --- alerts and mutes ------------------------------------------------------------------------


class AlertOut(Response):
    alert_id: str
    state: str
    kind: str
    severity: str
    clinic_id: str
    station_id: str
    session_id: str
    patient_id: str
    side: str | None
    value: float | None
    threshold: float | None
    message: str
    # alert v2 details: what value measures, the patient's baseline, the sensor and its fault.
    metric: str | None = None
    baseline: float | None = None
    sensor: str | None = None
    fault: str | None = None
    resolve_message: str | None = None
    dashboard_url: str | None
    opened_at_us: int
    resolved_at_us: int | None
    acknowledged_at: UtcDatetime | None
    acknowledged_by: int | None
    received_at: UtcDatetime


class MuteCreate(Request):
    """Silence this supervisor's deliveries for a station, a patient, a kind or one alert (the
    fields given all have to match) for ``duration_s``."""

    clinic_id: Id | None = Field(None, description="Required unless alert_id is given (then the alert's clinic)")
    station_id: Id | None = None
    patient_id: Id | None = None
    kind: Kind | None = None
    alert_id: str | None = Field(None, min_length=1, max_length=200)
    duration_s: int = Field(ge=MIN_MUTE_S, le=MAX_MUTE_S)

    @model_validator(mode="after")
    def _something_to_mute(self) -> MuteCreate:
        if not any((self.station_id, self.patient_id, self.kind, self.alert_id)):
            raise ValueError("a mute needs at least one of station_id, patient_id, kind, alert_id")
        if self.clinic_id is None and self.alert_id is None:
            raise ValueError("clinic_id is required unless alert_id is given")
        return self


class MuteOut(Response):
    id: int
    supervisor_id: int
    clinic_id: str
    station_id: str | None
    patient_id: str | None
    kind: str | None
    alert_id: str | None
    until: UtcDatetime
    created_at: UtcDatetime


class Me(BaseModel):
    supervisor: SupervisorOut
    key_prefix: str
    clinics: list[str]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    schema_revision: str | None
