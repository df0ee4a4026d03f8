"""The feedback service: the treadmill screens' page and WebSocket, fed from Kafka.

``GET /screen/{station_id}?token=…``: the page (403 without the station's token).
``WS /ws/{station_id}?token=…``: the page's messages (``StationScreen``); a wrong token closes
with 4403. The page acknowledges every step it rendered (``{"ack": step_index, "rendered_ms"}``).
``GET /healthz``: whether the Kafka feed runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse

from gaitstream.logging import kv
from gaitstream.services.feedback.hub import Hub
from gaitstream.services.feedback.page import screen_page
from gaitstream.services.feedback.tokens import TokenError, check_token

log = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403


def create_app(*, secret: bytes, hub: Hub, feed: Callable[[Hub, asyncio.Event], object] | None = None) -> FastAPI:
    """``feed(hub, ready)``: the coroutine that fills the hub (Kafka in production)."""
    ready = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(feed(hub, ready)) if feed is not None else None
        if task is not None:
            task.add_done_callback(_feed_ended)
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    app = FastAPI(title="gaitstream feedback screens", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub = hub
    app.state.acks = {}

    def allowed(station_id: str, token: str) -> str | None:
        try:
            check_token(secret, token, station_id=station_id, now_s=time.time())
        except TokenError as exc:
            return str(exc)
        return None

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "feed": ready.is_set()}, status_code=200 if ready.is_set() else 503)

    @app.get("/screen/{station_id}", response_class=HTMLResponse)
    async def screen(station_id: str, token: str = Query(""), sound: bool = Query(False)) -> HTMLResponse:
        reason = allowed(station_id, token)
        if reason is not None:
            log.warning(kv("screen_refused", station=station_id, reason=reason))
            return HTMLResponse("<h1>This screen's link is not valid.</h1>", status_code=403)
        return HTMLResponse(screen_page(station_id, token, sound=sound), headers={"Cache-Control": "no-store"})

    @app.websocket("/ws/{station_id}")
    async def stream(websocket: WebSocket, station_id: str, token: str = Query("")) -> None:
        reason = allowed(station_id, token)
        await websocket.accept()
        if reason is not None:
            log.warning(kv("screen_refused", station=station_id, reason=reason))
            await websocket.close(code=CLOSE_FORBIDDEN, reason="not allowed")
            return
        queue = hub.subscribe(station_id)
        log.info(kv("screen_connected", station=station_id, pages=hub.pages(station_id)))
        sender = asyncio.create_task(_send(websocket, queue))
        try:
            while True:
                message = await websocket.receive_json()
                if isinstance(message, dict) and isinstance(message.get("ack"), int):
                    rendered_ms = message.get("rendered_ms")
                    rendered_ms = float(rendered_ms) if isinstance(rendered_ms, (int, float)) else None
                    hub.ack(station_id, message["ack"], rendered_ms)
                    acks = app.state.acks.setdefault(station_id, {})
                    acks[message["ack"]] = rendered_ms
                    if len(acks) > 10_000:
                        acks.pop(next(iter(acks)))
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            sender.cancel()
            hub.unsubscribe(station_id, queue)
            log.info(kv("screen_disconnected", station=station_id, pages=hub.pages(station_id)))

    return app


async def _send(websocket: WebSocket, queue: asyncio.Queue) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.send_json(await queue.get())


def _feed_ended(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error(kv("feedback_feed_failed", error=f"{type(task.exception()).__name__}: {task.exception()}"))
