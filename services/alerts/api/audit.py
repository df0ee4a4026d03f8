"""The audit log of the API: every request under ``/v1`` is recorded after its answer (actor,
action, object, time, outcome), and admins query it (``GET /v1/admin/audit``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from gaitstream.logging import kv
from gaitstream.services.alerts.api.auth import client_address
from gaitstream.services.alerts.store.models import AuditEntry

log = logging.getLogger(__name__)


def outcome_of(status_code: int) -> str:
    """``ok`` (2xx/3xx), ``denied`` (401, 403, 429: who may not) or ``error`` (anything else)."""
    if status_code < 400:
        return "ok"
    if status_code in (401, 403, 429):
        return "denied"
    return "error"


def entry_for(request: Request, status_code: int, *, now: datetime | None = None) -> AuditEntry | None:
    """The audit row of one answered request; None outside ``/v1`` (health checks, docs)."""
    if not request.url.path.startswith("/v1"):
        return None
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "/unmatched"
    if not template.startswith("/v1"):
        template = "/v1" + template  # the routers' own paths, mounted under /v1
    params = request.path_params or {}
    parts = [p for p in template.split("/") if p and not p.startswith("{") and p != "v1"]
    return AuditEntry(
        at=now or datetime.now(UTC),
        actor=getattr(request.state, "actor", None) or "anonymous",
        action=f"{request.method} {template}"[:128],
        object_type=(parts[-1] if parts else "root")[:64],
        object_id=",".join(f"{k}={v}" for k, v in sorted(params.items()))[:256] or None,
        outcome=outcome_of(status_code),
        status_code=status_code,
        client=client_address(request)[:64],
    )


def install(app) -> None:
    """Record every ``/v1`` request in the store; a failing audit write is logged, never hidden
    as the request's failure (the answer has been computed already)."""

    @app.middleware("http")
    async def audit_requests(request: Request, call_next) -> Response:
        response = await call_next(request)
        entry = entry_for(request, response.status_code)
        if entry is not None:
            try:
                await run_in_threadpool(_store, app, entry)
            except Exception as exc:  # the store is down: the request's own handler said so already
                log.error(kv("audit write failed", action=entry.action, error=type(exc).__name__))
        return response


def _store(app, entry: AuditEntry) -> None:
    with app.state.sessionmaker.begin() as session:
        session.add(entry)
