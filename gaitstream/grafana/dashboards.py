"""The dashboards, rendered to the JSON committed in ``deploy/grafana/dashboards/``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard

from gaitstream.grafana import overview, progress, session
from gaitstream.grafana.files import write_changed

# File name (without .json) -> builder. The file names are what the provisioning provider loads.
BUILDERS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "clinic-overview": overview.build,
    "patient-session": session.build,
    "patient-progress": progress.build,
}


def _number_panels(model: dashboard.Dashboard) -> dashboard.Dashboard:
    """Give every panel a unique id (1, 2, ... in layout order): Grafana links and alerts use it."""
    next_id = 1
    for panel in model.panels or []:
        panel.id_val = next_id
        next_id += 1
        for inner in getattr(panel, "panels", None) or []:
            inner.id_val = next_id
            next_id += 1
    return model


def build(name: str) -> dashboard.Dashboard:
    if name not in BUILDERS:
        raise ValueError(f"dashboard must be one of {sorted(BUILDERS)}, got {name!r}")
    return _number_panels(BUILDERS[name]())


def to_json(model: dashboard.Dashboard) -> str:
    """Stable text: sorted keys, two-space indent, final newline (diffs stay readable)."""
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"{name}.json": to_json(build(name)) for name in BUILDERS}


def write_all(out_dir: Path) -> list[Path]:
    return write_changed(out_dir, render_all(), event="dashboard_written")
