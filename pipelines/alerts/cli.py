"""Commands of ``gaitstream alerts`` for the pipeline's alert-rule settings."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the rule-settings commands to the ``alerts`` command group (filled in by the rules work)."""
