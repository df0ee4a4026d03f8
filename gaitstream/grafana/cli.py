"""``gaitstream grafana build``, ``gaitstream grafana push`` and ``gaitstream grafana clinics sync``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitstream.logging import emit

# The repository's deploy/grafana (this file is gaitstream/grafana/cli.py).
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana"


def build(
    out_dir: Annotated[Path, typer.Option(help="deploy/grafana of the repository")] = DEPLOY_DIR,
) -> None:
    """Write the dashboards JSON, the alerting provisioning YAML and the README (commit them)."""
    from gaitstream.grafana import dashboards, provisioning, readme

    for path in dashboards.write_all(out_dir / "dashboards"):
        emit("dashboard", path=path)
    for path in provisioning.write_all(out_dir / "provisioning" / "alerting"):
        emit("provisioning", path=path)
    emit("readme", path=readme.write(out_dir / "README.md"))


def push(
    url: Annotated[str | None, typer.Option(help="Grafana URL (default GAITSTREAM_GRAFANA_URL)")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Service-account token (default GAITSTREAM_GRAFANA_TOKEN)", envvar="GAITSTREAM_GRAFANA_TOKEN"
        ),
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Webhook of the supervisors' contact point; without it no contact point or route is pushed",
            envvar="GAITSTREAM_GRAFANA_WEBHOOK_URL",
        ),
    ] = None,
) -> None:
    """Upload folder, dashboards and alert rules to an existing Grafana (idempotent)."""
    from gaitstream.grafana.exceptions import PushError
    from gaitstream.grafana.push import connect
    from gaitstream.grafana.push import push as run_push
    from gaitstream.grafana.settings import GrafanaSettings

    overrides = {key: value for key, value in (("url", url), ("token", token)) if value is not None}
    settings = GrafanaSettings(**overrides)
    try:
        report = run_push(connect(settings), webhook_url=webhook_url, reports_url=settings.reports_url)
    except ValueError as exc:
        emit("grafana_push_refused", reason=str(exc))
        raise typer.Exit(2) from exc
    except PushError as exc:
        emit("grafana_push_failed", what=exc.what, status=exc.status, detail=exc.detail)
        raise typer.Exit(1) from exc
    for what, action in report.actions.items():
        emit("pushed", object=what, action=action)


def clinics_sync(
    clinic: Annotated[list[str], typer.Option("--clinic", help="A clinic id (repeat for each clinic)")],
    supervisor: Annotated[
        list[str] | None,
        typer.Option("--supervisor", help="CLINIC=LOGIN: an existing Grafana user who supervises CLINIC (repeat)"),
    ] = None,
    url: Annotated[str | None, typer.Option(help="Grafana URL (default GAITSTREAM_GRAFANA_URL)")] = None,
) -> None:
    """One Grafana organisation per clinic: data source, dashboards fixed to the clinic, team and
    folder permissions, supervisors (GAITSTREAM_GRAFANA_ADMIN_PASSWORD, _INFLUXDB_PASSWORD)."""
    from gaitstream.grafana.clinics import Supervisor, sync
    from gaitstream.grafana.exceptions import PushError
    from gaitstream.grafana.settings import ClinicSyncSettings

    try:
        supervisors = [Supervisor.parse(text) for text in supervisor or []]
        settings = ClinicSyncSettings(**({"url": url} if url else {}))
        reports = sync(settings, clinic, supervisors)
    except (ValueError, PushError) as exc:
        emit("grafana_clinics_failed", reason=str(exc))
        raise typer.Exit(1) from exc
    for report in reports.values():
        for what, action in report.actions.items():
            emit("synced", object=what, action=action)


def register(app: typer.Typer) -> None:
    """Add the ``grafana`` command group to the ``gaitstream`` command."""
    group = typer.Typer(help="Grafana dashboards and alert rules as code.", no_args_is_help=True)
    group.command("build")(build)
    group.command("push")(push)
    clinics = typer.Typer(help="One Grafana organisation per clinic.", no_args_is_help=True)
    clinics.command("sync")(clinics_sync)
    group.add_typer(clinics, name="clinics")
    app.add_typer(group, name="grafana")
