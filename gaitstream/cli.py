"""The ``gaitstream`` command: one entry point, subcommands per domain."""

from __future__ import annotations

import typer

from gaitstream.logging import configure_logging
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
    return app


def main() -> None:
    configure_logging()
    build_app()()
