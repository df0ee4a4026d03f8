"""``create_app(settings)``: the subscription service's FastAPI application.

Nothing happens at import: the engine is built by the factory and disposed at shutdown.
OpenAPI at ``/openapi.json``, interactive docs at ``/docs``; every route is under ``/v1`` except
``/healthz``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from gaitstream.logging import kv
from gaitstream.services.alerts.api import admin, alerts, audit, programmes, reports, subscriptions, suggestions
from gaitstream.services.alerts.api.limits import BodyLimit
from gaitstream.services.alerts.api.schemas import Health
from gaitstream.services.alerts.api.throttle import FailureThrottle
from gaitstream.services.alerts.settings import AlertServiceSettings
from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)

DESCRIPTION = """Supervisors subscribe to gaitstream's alerts (sustained pelvic drop or trunk lean,
silent stations, …) and acknowledge or mute them; the dispatcher delivers.

Authenticate with a supervisor's API key: `Authorization: Bearer gsk_…` (or `X-API-Key`). A key
is scoped to clinics: anything outside them answers 403. `/v1/admin` takes the operator's
`GAITSTREAM_ALERTS_ADMIN_TOKEN` instead.
"""


def create_app(settings: AlertServiceSettings, *, engine: Engine | None = None) -> FastAPI:
    """The application over ``settings``' store (or ``engine``, which the caller then owns)."""
    owns_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.resolved_database_url())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            kv(
                "alerts api started",
                dialect=engine.dialect.name,
                admin_api="enabled" if settings.admin_token else "disabled",
            )
        )
        yield
        if owns_engine:
            engine.dispose()

    app = FastAPI(title="gaitstream alerts", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.exercise_library = programmes.load_exercise_library(
        settings.programme_library_dir
    )  # a broken clinic file fails here
    app.state.proxy_networks = settings.proxy_networks()
    app.state.throttle = FailureThrottle(
        max_failures=settings.auth_max_failures, window_s=settings.auth_window_s, block_s=settings.auth_block_s
    )
    audit.install(app)
    # outermost: an oversized body is refused before any route, audit or log reads it
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.middleware("http")
    async def log_requests(request: Request, call_next) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        log.info(
            kv(
                "request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        )
        return response

    @app.get(
        "/healthz",
        response_model=Health,
        tags=["health"],
        responses={503: {"model": Health, "description": "The database does not answer"}},
    )
    def healthz() -> Response | Health:
        try:
            with engine.connect() as conn:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as error:  # any driver error means the same thing to a healthcheck
            log.warning(kv("healthz database error", error=type(error).__name__))
            body = Health(status="degraded", database=f"error: {type(error).__name__}", schema_revision=None)
            return JSONResponse(body.model_dump(), status_code=503)
        return Health(status="ok", database="ok", schema_revision=revision)

    app.include_router(admin.router, prefix="/v1")
    app.include_router(subscriptions.router, prefix="/v1")
    app.include_router(alerts.router, prefix="/v1")
    app.include_router(reports.router, prefix="/v1")
    app.include_router(programmes.router, prefix="/v1")
    app.include_router(suggestions.router, prefix="/v1")
    return app
