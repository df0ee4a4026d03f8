"""The ``gaitstream`` command: one entry point, subcommands per domain."""

from __future__ import annotations

import typer

from gaitstream.access.cli import register as register_access
from gaitstream.gait.cli import register as register_gait
from gaitstream.grafana.cli import register as register_grafana
from gaitstream.logging import configure_logging
from gaitstream.pipelines.cli import register as register_worker
from gaitstream.services.alerts.cli import register as register_alerts
from gaitstream.services.feedback.cli import app as feedback_app
from gaitstream.services.privacy.cli import register as register_privacy
from gaitstream.services.programme.cli import app as programme_app
from gaitstream.services.report.cli import app as report_app
from gaitstream.services.station.cli import register as register_station
from gaitstream.simulate.cli import register as register_simulate
from gaitstream.stack.cli import app as stack_app


def build_app() -> typer.Typer:
    """Assemble the command tree (no I/O, no clients: those are built inside each command)."""
    app = typer.Typer(
        name="gaitstream",
        help="Real-time gait quality (pelvic drop, trunk lean) for rehabilitation treadmills.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.add_typer(stack_app, name="stack")
    register_gait(app)
    register_simulate(app)
    register_station(app)
    register_worker(app)
    register_grafana(app)
    register_alerts(app)
    register_access(app)
    register_privacy(app)
    app.add_typer(feedback_app, name="feedback")
    app.add_typer(report_app, name="report")
    app.add_typer(programme_app, name="programme")
    app.command()(demo)
    return app


def demo(
    stations: int = typer.Option(8, min=1, max=500, help="Simulated treadmill stations"),
    duration_s: float | None = typer.Option(None, min=10.0, help="Stop after this long (default: Ctrl-C)"),
) -> None:
    """The main job: local stack, a pipeline worker and simulated stations, with a live table."""
    from rich.console import Console

    from gaitstream.demo import run_demo

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # logs and CI: the whole table on one line per station
    rows = run_demo(stations=stations, duration_s=duration_s, console=console)
    if duration_s is not None and not rows:
        raise typer.Exit(1)


def main() -> None:
    from gaitstream.settings import load_secret_files

    configure_logging()
    load_secret_files()
    build_app()()
