"""The hub while the feed reads back what happened before the service started (pure)."""

from __future__ import annotations

import asyncio

from gaitstream.services.feedback.hub import Hub
from tests.feedback.test_screen import _start, _step


def test_read_back_rebuilds_the_screens_without_sending_or_recording_anything() -> None:
    async def scenario():
        hub = Hub()
        page = hub.subscribe("tm-01")
        while not page.empty():
            page.get_nowait()  # the snapshot
        hub.live = False
        hub.publish("tm-01", "session_event", _start("continuous:60s"))
        hub.publish("tm-01", "step_metrics", _step(0, 3.0, 1.0))
        assert page.empty() and hub.take_dose() == []  # old steps: nobody saw them now
        hub.live = True
        hub.publish("tm-01", "step_metrics", _step(1, 4.0, 1.6))
        kinds = []
        while not page.empty():
            kinds.append(page.get_nowait()["kind"])
        assert kinds == ["step"]  # the session is known from the read-back
        hub.ack("tm-01", 1, rendered_ms=None)
        assert [(r["step_index"], r["shown"]) for r in hub.take_dose()] == [(1, True)]

    asyncio.run(scenario())
