"""API-side commands of ``gaitstream alerts``.

- ``serve``: upgrade the store, then run the HTTP API (uvicorn) on the settings' host and port.
- ``subscribe``, ``unsubscribe``, ``list``, ``ack``, ``mute``, ``unmute``: a supervisor's client
  of a running API (``--url`` / ``GAITSTREAM_ALERTS_API_URL``, ``--api-key`` /
  ``GAITSTREAM_ALERTS_API_KEY``). An API refusal prints its status and detail and exits 1.
- ``admin …``: first setup straight on the database (no running API, no admin token): add a
  supervisor and print their key once, issue and revoke keys, set a clinic's settings.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer

from gaitstream.clinic_api.cli_support import JsonOpt, KeyOpt, UrlOpt
from gaitstream.clinic_api.cli_support import call as _call
from gaitstream.clinic_api.cli_support import connect as _client
from gaitstream.clinic_api.cli_support import print_rows as _print_rows
from gaitstream.logging import emit

CHANNELS = ("email", "webhook", "apprise")
SEVERITIES = ("info", "warning", "critical")
_DURATION_RE = re.compile(r"^(\d+)\s*(s|m|h|d)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

ClinicOpt = Annotated[str | None, typer.Option("--clinic", help="Clinic id")]


def parse_duration_s(text: str) -> int:
    """``90``, ``90s``, ``30m``, ``2h``, ``1d`` -> seconds."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise typer.BadParameter(f"duration like 900, 900s, 30m, 2h or 1d; got {text!r}", param_hint="--for")
    return int(match.group(1)) * _UNIT_S[match.group(2) or "s"]


# --- serve -------------------------------------------------------------------------------------


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [default: GAITSTREAM_ALERTS_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: GAITSTREAM_ALERTS_PORT]")] = None,
) -> None:
    """Upgrade the alert store, then serve the subscription API (OpenAPI docs at /docs)."""
    import uvicorn

    from gaitstream.services.alerts.api.app import create_app
    from gaitstream.services.alerts.settings import AlertServiceSettings
    from gaitstream.services.alerts.store.migrate import upgrade_database

    settings = AlertServiceSettings()
    upgrade_database(settings.resolved_database_url())
    host, port = host or settings.host, port or settings.port
    emit("alerts_api_serving", url=f"http://{host}:{port}", docs=f"http://{host}:{port}/docs")
    # log_config=None keeps gaitstream's key=value logging; the app logs each request itself.
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False, proxy_headers=False)


# --- a supervisor's client ---------------------------------------------------------------------


def subscribe(
    clinic: Annotated[str, typer.Option("--clinic", help="Clinic id (must be in your key's scope)")],
    channel: Annotated[str, typer.Option(help=f"One of {', '.join(CHANNELS)}")],
    target: Annotated[str, typer.Option(help="E-mail address, webhook URL or apprise URL (ntfy://…, slack://…)")],
    station: Annotated[str | None, typer.Option(help="Only this station")] = None,
    patient: Annotated[str | None, typer.Option(help="Only this (pseudonymous) patient")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds (repeatable)")] = None,
    min_severity: Annotated[str, typer.Option(help=f"One of {', '.join(SEVERITIES)}")] = "warning",
    quiet: Annotated[str | None, typer.Option(help="Quiet hours HH:MM-HH:MM (may wrap midnight)")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the quiet hours")] = "UTC",
    repeat: Annotated[str | None, typer.Option(help="Remind while open and unacknowledged, e.g. 10m")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a subscription through the API (a webhook's signing secret is printed once)."""
    body: dict[str, Any] = {
        "clinic_id": clinic,
        "channel": channel,
        "target": target,
        "station_id": station,
        "patient_id": patient,
        "kinds": kind or None,
        "min_severity": min_severity,
        "timezone": timezone,
    }
    if quiet is not None:
        start, sep, end = quiet.partition("-")
        if not sep:
            raise typer.BadParameter(f"quiet hours as HH:MM-HH:MM, got {quiet!r}", param_hint="--quiet")
        body["quiet_start"], body["quiet_end"] = start.strip(), end.strip()
    if repeat is not None:
        body["repeat_interval_s"] = parse_duration_s(repeat)
    with _client(url, api_key) as client:
        created = _call(client.subscribe, {k: v for k, v in body.items() if v is not None})
    if as_json:
        typer.echo(json.dumps(created, indent=2))
        return
    emit(
        "subscribed",
        id=created["id"],
        clinic=created["clinic_id"],
        channel=created["channel"],
        min_severity=created["min_severity"],
    )
    if created.get("webhook_secret"):
        typer.echo(f"webhook signing secret (shown once, store it with the receiver): {created['webhook_secret']}")


def unsubscribe(subscription_id: int, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """Delete one of your subscriptions."""
    with _client(url, api_key) as client:
        _call(client.unsubscribe, subscription_id)
    emit("unsubscribed", id=subscription_id)


def list_(
    what: Annotated[str, typer.Argument(help="alerts, subscriptions or mutes")] = "alerts",
    clinic: ClinicOpt = None,
    state: Annotated[str | None, typer.Option(help="alerts: open or resolved")] = None,
    unacknowledged: Annotated[bool, typer.Option(help="alerts: only those nobody acknowledged")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="alerts: at most this many, newest first")] = 50,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List alerts (default), your subscriptions or your active mutes."""
    with _client(url, api_key) as client:
        if what == "alerts":
            rows = _call(
                lambda: client.alerts(
                    clinic_id=clinic, state=state, limit=limit, acknowledged=False if unacknowledged else None
                )
            )
            _print_rows(
                rows,
                [
                    "alert_id",
                    "state",
                    "severity",
                    "kind",
                    "clinic_id",
                    "station_id",
                    "patient_id",
                    "side",
                    "message",
                    "acknowledged_at",
                ],
                "alerts",
                as_json,
            )
        elif what == "subscriptions":
            rows = _call(client.subscriptions, clinic)
            _print_rows(
                rows,
                [
                    "id",
                    "clinic_id",
                    "station_id",
                    "patient_id",
                    "kinds",
                    "min_severity",
                    "channel",
                    "target",
                    "quiet_start",
                    "quiet_end",
                    "timezone",
                    "repeat_interval_s",
                    "muted_until",
                    "enabled",
                ],
                "subscriptions",
                as_json,
            )
        elif what == "mutes":
            rows = _call(client.mutes, clinic)
            _print_rows(
                rows, ["id", "clinic_id", "station_id", "patient_id", "kind", "alert_id", "until"], "mutes", as_json
            )
        else:
            raise typer.BadParameter(f"alerts, subscriptions or mutes; got {what!r}", param_hint="WHAT")


def ack(alert_id: str, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """Acknowledge an alert: no more reminders about it."""
    with _client(url, api_key) as client:
        alert = _call(client.acknowledge, alert_id)
    emit("acknowledged", alert_id=alert["alert_id"], by=alert["acknowledged_by"], at=alert["acknowledged_at"])


def mute(
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 2h, 1d")],
    clinic: ClinicOpt = None,
    station: Annotated[str | None, typer.Option(help="Mute this station")] = None,
    patient: Annotated[str | None, typer.Option(help="Mute this patient")] = None,
    kind: Annotated[str | None, typer.Option(help="Mute this kind")] = None,
    alert: Annotated[str | None, typer.Option("--alert", help="Mute this one alert")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Silence your deliveries for a station, a patient, a kind or one alert, for a while."""
    body = {
        "clinic_id": clinic,
        "station_id": station,
        "patient_id": patient,
        "kind": kind,
        "alert_id": alert,
        "duration_s": parse_duration_s(duration),
    }
    with _client(url, api_key) as client:
        created = _call(client.mute, {k: v for k, v in body.items() if v is not None})
    emit("muted", id=created["id"], clinic=created["clinic_id"], until=created["until"])


def unmute(mute_id: int, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """End one of your mutes now."""
    with _client(url, api_key) as client:
        _call(client.unmute, mute_id)
    emit("unmuted", id=mute_id)


def register(app: typer.Typer) -> None:
    """Add the API's commands (and the ``admin`` group) to the ``alerts`` command group."""
    from gaitstream.services.alerts.api.admin_cli import admin_app

    app.command()(serve)
    app.command()(subscribe)
    app.command()(unsubscribe)
    app.command("list")(list_)
    app.command()(ack)
    app.command()(mute)
    app.command()(unmute)
    app.add_typer(admin_app(), name="admin")
