"""Tables of the alert service (SQLAlchemy 2.0 declarative). Shared by the API and the
dispatcher; the schema itself is created and upgraded only by the Alembic migrations.

Times are timezone-aware UTC ``datetime``s, except the pipeline's alert times which keep the
wire's integer microseconds (``*_us``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SEVERITIES = ("info", "warning", "critical")
CHANNELS = ("email", "webhook", "apprise")
# Delivery life cycle: pending (to send, maybe after next_attempt_at) -> sending (claimed by a
# dispatcher) -> sent | failed (gave up) | suppressed (quiet hours, mute) | digested (folded
# into a digest delivery).
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "suppressed", "digested")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Supervisor(Base):
    __tablename__ = "supervisors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime]

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="supervisor")
    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="supervisor")


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` (first characters, shown in lists)
    finds the row. ``clinics`` is the scope: the clinic ids this key may see and act on."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("supervisors.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    clinics: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)

    supervisor: Mapped[Supervisor] = relationship(back_populates="api_keys")


class ClinicSettings(Base):
    """Per-clinic dispatch settings."""

    __tablename__ = "clinic_settings"

    clinic_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Webhooks to loopback/private/link-local addresses are refused unless this is set.
    allow_private_webhooks: Mapped[bool] = mapped_column(Boolean, default=False)
    # More than digest_after deliveries to one subscription within digest_window_s: the rest of
    # the window goes out as one digest.
    digest_after: Mapped[int] = mapped_column(Integer, default=5)
    digest_window_s: Mapped[int] = mapped_column(Integer, default=300)
    # Where an open alert goes when a supervisor's channel keeps failing: after
    # escalate_after_failures failed attempts of one delivery, one escalation message goes to
    # this channel and target (e.g. the ward's shared inbox or pager webhook). None: no fallback.
    fallback_channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    fallback_target: Mapped[str | None] = mapped_column(Text, nullable=True)
    fallback_webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    escalate_after_failures: Mapped[int] = mapped_column(Integer, default=3, server_default="3")


class Subscription(Base):
    """What a supervisor wants to hear about, and where. ``None`` filters match everything."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("supervisors.id", ondelete="CASCADE"))
    clinic_id: Mapped[str] = mapped_column(String(100))
    station_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kinds: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    channel: Mapped[str] = mapped_column(String(16))  # one of CHANNELS
    # e-mail address, webhook URL or apprise URL (e.g. ntfy://, slack://, msteams://).
    target: Mapped[str] = mapped_column(Text)
    # HMAC-SHA256 key of a webhook subscription (generated at creation, shown once).
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Quiet hours in the subscription's time zone, "HH:MM" each; may wrap midnight.
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Remind about an alert still open and unacknowledged every repeat_interval_s (None: never).
    repeat_interval_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    muted_until: Mapped[datetime | None] = mapped_column(nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    supervisor: Mapped[Supervisor] = relationship(back_populates="subscriptions")


class Alert(Base):
    """The latest state of every alert the dispatcher has consumed (``schemas/avro/alert``)."""

    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # open | resolved
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    clinic_id: Mapped[str] = mapped_column(String(100), index=True)
    station_id: Mapped[str] = mapped_column(String(100))
    session_id: Mapped[str] = mapped_column(String(100))
    patient_id: Mapped[str] = mapped_column(String(100))
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    dashboard_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    # alert v2: what ``value`` measures (e.g. pelvic_drop_deg_median), the patient's baseline
    # (worsening), the sensor and fault (sensor_fault). The resolve's own message says why it
    # resolved (back under the threshold, or the session ended).
    metric: Mapped[str | None] = mapped_column(String(64), nullable=True)
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    sensor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fault: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resolve_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_at_us: Mapped[int] = mapped_column(BigInteger)
    resolved_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("supervisors.id", ondelete="SET NULL"), nullable=True
    )
    received_at: Mapped[datetime]


class Mute(Base):
    """A supervisor silences a station, a patient, a kind or one alert until ``until``."""

    __tablename__ = "mutes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("supervisors.id", ondelete="CASCADE"))
    clinic_id: Mapped[str] = mapped_column(String(100))
    station_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    alert_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    until: Mapped[datetime]
    created_at: Mapped[datetime]


class Delivery(Base):
    """The delivery log: one row per (alert, subscription, state change), enforced by a unique
    constraint, so no restart or redelivery of the alerts topic sends twice.

    ``state_change`` is ``open``, ``resolved``, ``repeat-<n>`` (the n-th reminder),
    ``digest-<id>`` or ``escalate-<id>`` (delivery ``id`` kept failing: the clinic's fallback).
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "subscription_id", "state_change", name="uq_delivery_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    state_change: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    digest_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AuditEntry(Base):
    """Who read or changed what through the API, when, and how it ended (``ok``, ``denied`` or
    ``error``). ``action`` is the route (``GET /v1/alerts``), ``object_id`` its path parameters:
    never a request body, a key or a secret."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(128), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


# A programme's phase: the library's three (``services/programme/library.PHASES``), or none (no
# exercises prescribed yet, or a pause).
PROGRAMME_PHASES = ("activation", "strengthening", "retraining", "none")


class ProgrammeRevision(Base):
    """One revision of a patient's therapy programme. A change adds a revision
    (1, 2, … per clinic and patient); none is ever updated, so the rows are the history and the
    highest revision is the current programme. ``patient_id`` is the clinic's pseudonym, and
    ``author`` the API key's prefix: never a name."""

    __tablename__ = "programme_revisions"
    __table_args__ = (UniqueConstraint("clinic_id", "patient_id", "revision", name="uq_programme_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(String(100))
    patient_id: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16))  # one of PROGRAMME_PHASES
    sides: Mapped[list[str]] = mapped_column(JSON)  # the weak side(s) trained: "left", "right"
    target_pelvic_drop_deg: Mapped[float] = mapped_column(Float)
    # The treadmill sessions' feedback blocks (``services/feedback/schedule.parse_plan`` syntax).
    feedback_plan: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [{"exercise_id": …, "dosage": {…}}]: the dosage as prescribed, the library's resolved in.
    exercises: Mapped[list[dict]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(128))  # "therapist" or "suggestion:<rule id>"
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
