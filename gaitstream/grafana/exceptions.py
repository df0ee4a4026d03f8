"""Errors of the Grafana tooling."""

from __future__ import annotations

from gaitstream.exceptions import GaitstreamError


class GrafanaError(GaitstreamError):
    """Base class of the errors raised by :mod:`gaitstream.grafana`."""


class PushError(GrafanaError):
    """A Grafana API call of ``gaitstream grafana push`` failed."""

    def __init__(self, what: str, status: int | None, detail: str) -> None:
        super().__init__(f"push failed: {what} status={status} detail={detail}")
        self.what = what
        self.status = status
        self.detail = detail
