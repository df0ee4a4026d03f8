"""Dispatcher commands of ``gaitstream alerts`` (``dispatch``, ``test-send``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the dispatcher's commands to the ``alerts`` command group (filled in by the dispatcher work)."""
