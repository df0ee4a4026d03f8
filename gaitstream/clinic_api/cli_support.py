"""What the clinic API's client commands share (``gaitstream alerts subscribe|list|…``,
``gaitstream programme …``, ``gaitstream station session …``): the URL and key options, a client
from them, an API call that turns a refusal into a one-line error and exit 1, and a table."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.clinic_api.client import AlertsClient, ApiError

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="GAITSTREAM_ALERTS_API_URL",
        show_envvar=True,
        help="Base URL of the alerts API [default: settings' api_url]",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="GAITSTREAM_ALERTS_API_KEY", show_envvar=True, help="Your API key (gsk_…)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


class ClientSettings(BaseSettings):
    """Where the API is and the key to call it with (``GAITSTREAM_ALERTS_API_URL`` / ``_API_KEY``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_ALERTS_", extra="ignore")

    api_url: str = "http://127.0.0.1:8088"
    api_key: SecretStr | None = None


def connect(url: str | None, api_key: str | None) -> AlertsClient:
    """A client for ``url`` with ``api_key`` (each defaulting to the settings)."""
    settings = ClientSettings()
    key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    if not key:
        raise typer.BadParameter("no API key: pass --api-key or set GAITSTREAM_ALERTS_API_KEY", param_hint="--api-key")
    return AlertsClient(url or settings.api_url, key)


def call(action, *args: Any) -> Any:
    """``action(*args)``; a refusal or an unreachable API is printed as one line and exits 1."""
    try:
        return action(*args)
    except ApiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


def print_rows(rows: list[dict[str, Any]], columns: list[str], title: str, as_json: bool) -> None:
    """Rows as a table (lists joined with commas), or as JSON."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{title} ({len(rows)})")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                "" if row.get(c) is None else (",".join(row[c]) if isinstance(row[c], list) else str(row[c]))
                for c in columns
            )
        )
    Console(width=200).print(table)
