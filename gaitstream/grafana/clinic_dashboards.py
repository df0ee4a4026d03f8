"""The dashboards of one clinic's Grafana organisation: the clinic written into every query.

The shared dashboards select the clinic with the template variable ``$clinic`` (a dropdown of
every clinic in InfluxDB). A clinic's copy has no such variable: each ``"clinic" =~ /^$clinic$/``
becomes ``"clinic" = '<id>'`` and the links stop passing ``var-clinic``, so neither the dropdown
nor a ``?var-clinic=`` in the URL can point a panel at another clinic. This limits what the
dashboards show; what the data source can be asked directly is up to its credential
(``deploy/grafana/README.md``, "Clinics").
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

from gaitstream.grafana import dashboards
from gaitstream.grafana.exceptions import GrafanaError

# What a clinic id may be: it is written into InfluxQL string literals and Grafana org names, so
# no quotes, slashes, spaces or regex characters (the pipeline's ids are like "clinic-a", "c1").
CLINIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z", re.ASCII)
VARIABLE_FILTER = '"clinic" =~ /^$clinic$/'
LINK_PARAMETER = "var-clinic=${clinic}&"
# A link into the alerts API (the session report) names the clinic in its path.
API_PATH = "/v1/clinics/${clinic}/"


def check_clinic_id(clinic: str) -> str:
    if not CLINIC_ID.match(clinic):
        raise ValueError(
            f"clinic id must be 1-63 ASCII letters, digits, '-' or '_' and start with a letter or digit, got {clinic!r}"
        )
    return clinic


def fixed_filter(clinic: str) -> str:
    return f"\"clinic\" = '{check_clinic_id(clinic)}'"


def map_strings(node: object, change: Callable[[str], str]) -> object:
    """A copy of a JSON model with ``change`` applied to every string value (keys are kept)."""
    if isinstance(node, str):
        return change(node)
    if isinstance(node, list):
        return [map_strings(item, change) for item in node]
    if isinstance(node, dict):
        return {key: map_strings(value, change) for key, value in node.items()}
    return node


def _rewrite(node: object, clinic: str) -> object:
    return map_strings(
        node,
        lambda text: (
            text.replace(VARIABLE_FILTER, fixed_filter(clinic))
            .replace(LINK_PARAMETER, "")
            .replace(API_PATH, f"/v1/clinics/{clinic}/")
        ),
    )


def for_clinic(model: dict, clinic: str) -> dict:
    """A copy of a dashboard's JSON model with ``clinic`` fixed; GrafanaError if any use of
    ``$clinic`` would remain (a builder that starts using the variable another way)."""
    check_clinic_id(clinic)
    fixed = _rewrite(copy.deepcopy(model), clinic)
    templating = fixed.get("templating", {})
    templating["list"] = [v for v in templating.get("list", []) if v.get("name") != "clinic"]
    fixed["title"] = f"{model['title']} ({clinic})"
    text = json.dumps(fixed)
    if "$clinic" in text or "${clinic" in text or "var-clinic" in text:
        raise GrafanaError(f"dashboard {model['uid']} still uses $clinic after fixing it to {clinic!r}")
    return fixed


def render_for_clinic(clinic: str) -> dict[str, dict]:
    """File name -> JSON model of every dashboard, fixed to ``clinic``."""
    return {name: for_clinic(json.loads(text), clinic) for name, text in dashboards.render_all().items()}
