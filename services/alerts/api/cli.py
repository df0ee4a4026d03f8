"""API-side commands of ``gaitstream alerts`` (``serve``, ``subscribe``, ``list``, ``ack``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the API's commands to the ``alerts`` command group (filled in by the API work)."""
