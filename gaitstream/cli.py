"""The ``gaitstream`` command: one entry point, subcommands per domain."""

from __future__ import annotations

import typer

from gaitstream.logging import configure_logging
from gaitstream.gait.cli import register as register_gait
from gaitstream.simulate.cli import register as register_simulate
from gaitstream.stack.cli import app as stack_app
from pipelines.cli import register as register_worker
from services.station.cli import register as register_station


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
    app.command()(demo)
    return app


def demo() -> None:
    """The main job: bring up the local real stack and check it end to end.

    The live pipeline (stations -> Kafka -> Faust -> InfluxDB) joins this command when it lands;
    until then the demo is the stack and its smoke check.
    """
    from gaitstream.logging import emit
    from gaitstream.stack.cli import smoke, up

    up()
    smoke()
    emit("demo", result="stack up and verified",
         next="live pipeline not yet built (issue 4); stop the stack with: gaitstream stack down")


def main() -> None:
    configure_logging()
    build_app()()
