"""The dashboards' links into the alerts API (the session report) pointed at a clinic's address.

The dashboards are built with ``settings.DEFAULT_REPORTS_URL``, compose's address of the alerts
API; a clinic that serves it elsewhere (a TLS proxy, another host) sets
``GAITSTREAM_GRAFANA_REPORTS_URL`` and ``push`` / ``clinics sync`` write that one instead.
"""

from __future__ import annotations

import re

from gaitstream.grafana.clinic_dashboards import map_strings
from gaitstream.grafana.settings import DEFAULT_REPORTS_URL

# What Grafana may put in a link: a base URL without spaces, quotes, query or fragment.
BASE_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/%]*)?\Z")
API_LINK = DEFAULT_REPORTS_URL + "/v1/"


def check_reports_url(base_url: str) -> str:
    """The base URL without a trailing slash; ValueError naming the setting when it is unusable."""
    url = base_url.strip().rstrip("/")
    if not BASE_URL.match(url):
        raise ValueError(
            "GAITSTREAM_GRAFANA_REPORTS_URL must be http(s)://host[:port][/path] without query or quotes, "
            f"got {base_url!r}"
        )
    return url


def with_reports_url(model: dict, base_url: str) -> dict:
    """A copy of a dashboard's JSON model whose alerts-API links start with ``base_url``."""
    url = check_reports_url(base_url)
    return map_strings(
        model, lambda text: url + text[len(DEFAULT_REPORTS_URL) :] if text.startswith(API_LINK) else text
    )
