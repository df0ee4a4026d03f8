"""Fan-out of the screens' messages: one ``StationScreen`` per station, any number of pages per
station, each with a bounded queue (a page that falls behind loses its oldest messages, never
another page's). Runs on the service's event loop; no I/O here. Every step's decision goes to the
dose ledger, with the number of pages connected; the pages' acknowledgements follow it there."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from gaitstream.services.feedback.dose import DoseLedger
from gaitstream.services.feedback.screen import StationScreen


class Hub:
    def __init__(self, queue_messages: int = 400) -> None:
        self.queue_messages = queue_messages
        self.screens: dict[str, StationScreen] = {}
        self._pages: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self.dropped = 0
        self.dose = DoseLedger()
        # False while the feed reads back the records from before the service started: the
        # screens' state is rebuilt, nothing is sent to pages or recorded as shown (it was not).
        self.live = True

    def publish(self, station_id: str, kind: str, record: dict) -> int:
        """One record of the station; the messages it made (sent to every page of the station)."""
        screen = self.screens.get(station_id)
        if screen is None:
            screen = self.screens[station_id] = StationScreen(station_id)
        messages = screen.on_record(kind, record)
        decisions = screen.take_decisions()
        if not self.live:
            return 0  # reading back what happened before the service started: state only
        for queue in self._pages.get(station_id, ()):
            for message in messages:
                self._put(queue, message)
        now_s = time.monotonic()
        for decision in decisions:
            self.dose.decided(decision, screens=self.pages(station_id), now_s=now_s)
        return len(messages)

    def ack(self, station_id: str, step_index: int, rendered_ms: float | None) -> None:
        """A page rendered a step's cue."""
        self.dose.acked(station_id, step_index, rendered_ms)

    def take_dose(self) -> list[dict]:
        return self.dose.take(time.monotonic())

    def _put(self, queue: asyncio.Queue, message: dict) -> None:
        if queue.full():
            queue.get_nowait()
            self.dropped += 1
        queue.put_nowait(message)

    def subscribe(self, station_id: str) -> asyncio.Queue:
        """A page's queue, starting with what it needs to show the current state."""
        queue: asyncio.Queue = asyncio.Queue(self.queue_messages)
        screen = self.screens.get(station_id) or StationScreen(station_id)
        for message in screen.snapshot():
            queue.put_nowait(message)
        self._pages[station_id].add(queue)
        return queue

    def unsubscribe(self, station_id: str, queue: asyncio.Queue) -> None:
        self._pages[station_id].discard(queue)

    def pages(self, station_id: str) -> int:
        return len(self._pages.get(station_id, ()))
