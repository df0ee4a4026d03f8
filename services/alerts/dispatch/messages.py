"""What a supervisor reads: title, plain text and the webhook's JSON, from the delivery row and
its alert (pure; the same message whichever channel carries it).

The content is a function of the stored rows only (no send time): a resend after a crash is the
same message with the same ``delivery_id`` (byte-identical unless the alert changed in between,
e.g. resolved), so a receiver recognises it by that id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from gaitstream.services.alerts.dispatch.matching import SEVERITY_RANK

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Message:
    delivery_id: int
    title: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)
    # Used for quiet-hours/critical decisions on digests and by channels that set a priority.
    severity: str = "warning"


def _iso(time_us: int | None) -> str | None:
    """ISO-8601 UTC; a time no calendar holds (a station clock gone wrong) is said as such."""
    if time_us is None:
        return None
    try:
        return datetime.fromtimestamp(time_us / 1e6, tz=timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"not a valid time ({time_us} us)"


def alert_fields(alert: Any) -> dict[str, Any]:
    """The alert as the webhook JSON carries it (wire names; times ISO-8601 UTC)."""
    return {
        "alert_id": alert.alert_id,
        "state": alert.state,
        "kind": alert.kind,
        "severity": alert.severity,
        "clinic_id": alert.clinic_id,
        "station_id": alert.station_id,
        "session_id": alert.session_id,
        "patient_id": alert.patient_id,
        "side": alert.side,
        "value": alert.value,
        "threshold": alert.threshold,
        "message": alert.message,
        "dashboard_url": alert.dashboard_url,
        "metric": alert.metric,
        "baseline": alert.baseline,
        "sensor": alert.sensor,
        "fault": alert.fault,
        "resolve_message": alert.resolve_message,
        "opened_at": _iso(alert.opened_at_us),
        "resolved_at": _iso(alert.resolved_at_us),
    }


def _event(state_change: str) -> str:
    if state_change.startswith("repeat-"):
        return "reminder"
    if state_change.startswith("escalate-"):
        return "escalation"
    return state_change


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report_url(public_url: str | None, alert: Any) -> str | None:
    """Where the alert's session report will be (the alerts API serves it once the session stops)."""
    if not public_url or not getattr(alert, "session_id", None):
        return None
    return f"{public_url.rstrip('/')}/v1/clinics/{alert.clinic_id}/sessions/{alert.session_id}/report.html"


def _lines(alert: Any, state_change: str, public_url: str | None = None) -> list[str]:
    event = _event(state_change)
    lines = [
        f"{alert.kind}: {alert.message}",
        f"state: {alert.state}"
        + (f" (reminder {state_change.split('-', 1)[1]}, not acknowledged)" if event == "reminder" else ""),
        f"severity: {alert.severity}",
        f"station: {alert.station_id}   patient: {alert.patient_id}   session: {alert.session_id}",
    ]
    if alert.side:
        lines.append(f"side: {alert.side}")
    sensor, fault = alert.sensor, alert.fault
    if sensor or fault:
        lines.append(f"sensor: {sensor or '-'}   fault: {(fault or '-').replace('_', ' ')}")
    if alert.value is not None or alert.threshold is not None:
        metric = alert.metric
        lines.append(
            (f"{metric}: " if metric else "value: ") + f"{_number(alert.value)}   threshold: {_number(alert.threshold)}"
        )
    if alert.baseline is not None:
        lines.append(f"patient's baseline: {_number(alert.baseline)}")
    lines.append(f"opened: {_iso(alert.opened_at_us)}")
    if alert.resolved_at_us is not None:
        minutes = (alert.resolved_at_us - alert.opened_at_us) / 60e6
        why = alert.resolve_message
        lines.append(f"resolved: {_iso(alert.resolved_at_us)} (open {minutes:.1f} min)" + (f": {why}" if why else ""))
    if event == "escalation":
        lines.append("escalated: the subscribed supervisor's channel keeps failing; this goes to the clinic's fallback")
    if alert.dashboard_url:
        lines.append(f"dashboard: {alert.dashboard_url}")
    report = report_url(public_url, alert)
    if report:
        lines.append(f"session report (once the session stops): {report}")
    lines.append(f"alert id: {alert.alert_id}")
    return lines


def render_alert(delivery_id: int, state_change: str, alert: Any, *, public_url: str | None = None) -> Message:
    """One alert's open, resolve or reminder message (with its session report's link when the
    alerts API's ``public_url`` is known)."""
    event = _event(state_change)
    title = (
        f"[gaitstream] {alert.severity.upper()} {alert.kind} {event} - "
        f"station {alert.station_id}, patient {alert.patient_id}"
    )
    payload = {
        "version": PAYLOAD_VERSION,
        "delivery_id": delivery_id,
        "event": event,
        "state_change": state_change,
        "alert": alert_fields(alert),
    }
    return Message(
        delivery_id=delivery_id,
        title=title,
        text="\n".join(_lines(alert, state_change, public_url)),
        payload=payload,
        severity=alert.severity,
    )


def render_digest(delivery_id: int, items: list[tuple[str, Any]]) -> Message:
    """Several alerts folded into one message: ``items`` are (state_change, alert), most severe
    first, then oldest first."""
    ordered = sorted(items, key=lambda item: (-SEVERITY_RANK.get(item[1].severity, 0), item[1].opened_at_us))
    worst = ordered[0][1].severity if ordered else "info"
    stations = sorted({alert.station_id for _, alert in ordered})
    title = f"[gaitstream] digest: {len(ordered)} alert messages, {len(stations)} station(s)"
    lines = [f"{len(ordered)} alert messages in a short time; summarised here so none is missed.", ""]
    for state_change, alert in ordered:
        lines.append(
            f"- {alert.severity.upper()} {alert.kind} {_event(state_change)}: station {alert.station_id}, "
            f"patient {alert.patient_id}, value {_number(alert.value)} / threshold "
            f"{_number(alert.threshold)}, opened {_iso(alert.opened_at_us)}"
            + (f", resolved {_iso(alert.resolved_at_us)}" if alert.resolved_at_us else "")
            + (f" {alert.dashboard_url}" if alert.dashboard_url else "")
        )
    payload = {
        "version": PAYLOAD_VERSION,
        "delivery_id": delivery_id,
        "event": "digest",
        "items": [{"state_change": sc, "event": _event(sc), "alert": alert_fields(alert)} for sc, alert in ordered],
    }
    return Message(delivery_id=delivery_id, title=title, text="\n".join(lines), payload=payload, severity=worst)
