"""A real browser (Debian's chromium, driven by Playwright) and the feedback service on a free port,
for the screen's tests."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Module scope, not session: while Playwright's sync API runs, the main thread counts as running an
# event loop, and every later asyncio.run() of the session (other modules' tests) would fail.
@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium"):
        pytest.skip("no chromium here (make test installs Debian's chromium when it may use apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Service:
    """The feedback service in a thread; ``publish`` feeds its hub as the Kafka feed would."""

    secret: bytes
    port: int = field(default_factory=free_port)
    feed: object = None  # the coroutine that fills the hub; None: records come from ``publish``
    _server: object = None
    _thread: threading.Thread | None = None
    loop: asyncio.AbstractEventLoop | None = None
    hub: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Service:
        import uvicorn

        from gaitstream.services.feedback.app import create_app
        from gaitstream.services.feedback.hub import Hub

        self.hub = Hub()
        started = threading.Event()

        async def local_feed(hub, ready):
            self.loop = asyncio.get_running_loop()
            ready.set()
            started.set()
            await asyncio.Event().wait()

        async def outer_feed(hub, ready):
            self.loop = asyncio.get_running_loop()
            started.set()
            await self.feed(hub, ready)

        app = create_app(secret=self.secret, hub=self.hub, feed=outer_feed if self.feed else local_feed)
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets-sansio")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not (started.is_set() and self._server.started):
            assert time.monotonic() < deadline, "the feedback service did not start"
            time.sleep(0.05)
        return self

    def publish(self, station_id: str, kind: str, record: dict) -> None:
        done = threading.Event()

        def call():
            self.hub.publish(station_id, kind, record)
            done.set()

        self.loop.call_soon_threadsafe(call)
        assert done.wait(5)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(20)
