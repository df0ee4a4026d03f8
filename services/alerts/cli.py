"""``gaitstream alerts``: the command group of the alert service, the dispatcher and the
pipeline's alert settings. Each part adds its own commands."""

from __future__ import annotations

import typer

from gaitstream.services.alerts.api.cli import register as register_api
from gaitstream.services.alerts.dispatch.cli import register as register_dispatch
from gaitstream.services.alerts.rules_cli import register as register_rule_settings


def register(app: typer.Typer) -> None:
    alerts = typer.Typer(
        help="Alert subscriptions: API service, dispatcher, subscriptions, acknowledgements.", no_args_is_help=True
    )
    register_api(alerts)
    register_dispatch(alerts)
    register_rule_settings(alerts)
    app.add_typer(alerts, name="alerts")
