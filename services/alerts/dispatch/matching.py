"""Who hears about an alert, and when: pure decisions over an alert, a subscription and mutes
(no database, no network; the ORM rows or any object with the same attributes).

Decisions, made again at send time (a mute or quiet hours may begin after an alert was queued):

1. Filters (at ingest): same clinic; station, patient and kinds match when set; the alert's
   severity is at least the subscription's ``min_severity`` (info < warning < critical).
   The severity is the *opening* one: the pipeline marks resolves ``info``, but a supervisor
   who was told a warning opened must hear that it resolved.
2. Muted (subscription ``muted_until`` or a matching ``Mute`` row): suppressed for good, whatever
   the severity; a mute is a person's explicit decision.
3. Quiet hours (``HH:MM``-``HH:MM`` in the subscription's IANA zone, may wrap midnight;
   start == end means none): critical alerts (e.g. a silent station: a patient possibly
   unattended) are delivered anyway, the resolve of a critical alert too; anything else is
   deferred to the end of the quiet hours, not dropped. An alert opened and resolved during
   quiet hours reaches the supervisor as one resolve message at the end (the resolve
   supersedes the unsent open; the message says when it opened).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; every stored time is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Decision:
    action: Literal["deliver", "suppress", "defer"]
    reason: str = ""
    until: datetime | None = None  # defer: when to look again

    @classmethod
    def deliver(cls) -> Decision:
        return cls("deliver")


def matches(alert: Any, subscription: Any, *, ignore_severity: bool = False) -> bool:
    """Step 1: does ``subscription`` want this alert at all."""
    if not subscription.enabled or subscription.clinic_id != alert.clinic_id:
        return False
    if subscription.station_id is not None and subscription.station_id != alert.station_id:
        return False
    if subscription.patient_id is not None and subscription.patient_id != alert.patient_id:
        return False
    if subscription.kinds and alert.kind not in subscription.kinds:
        return False
    if ignore_severity:
        return True
    return SEVERITY_RANK.get(alert.severity, 0) >= SEVERITY_RANK.get(subscription.min_severity, 1)


def mute_applies(mute: Any, alert: Any, subscription: Any, now: datetime) -> bool:
    """A mute silences its supervisor's alerts of one clinic, narrowed by every field it sets."""
    if mute.supervisor_id != subscription.supervisor_id or mute.clinic_id != alert.clinic_id:
        return False
    if as_utc(mute.until) <= now:
        return False
    return all(
        getattr(mute, field) is None or getattr(mute, field) == getattr(alert, field)
        for field in ("station_id", "patient_id", "kind", "alert_id")
    )


def muted_reason(alert: Any, subscription: Any, mutes: list[Any], now: datetime) -> str | None:
    if subscription.muted_until is not None and as_utc(subscription.muted_until) > now:
        return "subscription_muted"
    for mute in mutes:
        if mute_applies(mute, alert, subscription, now):
            return f"muted:{mute.id}"
    return None


def _parse_hhmm(text: str) -> time:
    hours, _, minutes = text.partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"quiet hours must be 'HH:MM' (00:00-23:59), got {text!r}") from exc


def quiet_hours_end(subscription: Any, now: datetime) -> datetime | None:
    """When the quiet hours that contain ``now`` end (UTC), or None when ``now`` is not quiet."""
    if not subscription.quiet_start or not subscription.quiet_end:
        return None
    start, end = _parse_hhmm(subscription.quiet_start), _parse_hhmm(subscription.quiet_end)
    if start == end:
        return None
    zone = ZoneInfo(subscription.timezone or "UTC")
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
    else:  # wraps midnight, e.g. 22:00-06:30
        inside = clock >= start or clock < end
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    # Wall-clock end in the zone; a DST gap moves it by the gap, never before now.
    return max(datetime.combine(end_day, end, tzinfo=zone).astimezone(timezone.utc), now)


def decide(alert: Any, subscription: Any, mutes: list[Any], now: datetime, *, state_change: str) -> Decision:
    """Steps 2-3 for one delivery row about to be sent (``state_change``: open, resolved,
    repeat-<n>, digest-<id>; for a digest pass its most severe alert)."""
    if not subscription.enabled:
        return Decision("suppress", "subscription_disabled")
    if state_change.startswith("repeat-"):
        if alert.state != "open":
            return Decision("suppress", "resolved")
        if alert.acknowledged_at is not None:
            return Decision("suppress", "acknowledged")
    if not state_change.startswith("digest-"):
        reason = muted_reason(alert, subscription, mutes, now)
        if reason is not None:
            return Decision("suppress", reason)
    if alert.severity != "critical":
        until = quiet_hours_end(subscription, now)
        if until is not None:
            return Decision("defer", "quiet_hours", until)
    return Decision.deliver()
