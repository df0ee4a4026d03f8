"""``gaitstream report serve``: a session's report is made when the session stops.

Reads the steps topic (where the pipeline forwards each session's start and stop events) in the
report group, as the report role (Kafka: that topic and that group only). A stop is reported
``settle_s`` later (the sink's points have landed by then); a session InfluxDB does not hold yet is
tried again, ``attempts`` times in all. Offsets are committed only while no report is waiting, so
a restart makes again the reports that were due (a report is overwritten, never duplicated).
One session's failure is logged and costs no other session its report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gaitstream.commits import commit_polled
from gaitstream.logging import kv
from gaitstream.schemas.codec import WireError, decode

log = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 500


@dataclass
class DueReports:
    """Sessions whose report is due, and when (pure: the clock is passed in)."""

    settle_s: float
    attempts: int
    _due: dict[str, tuple[float, int]] = field(default_factory=dict)

    def stopped(self, session_id: str, now_s: float) -> None:
        self._due[session_id] = (now_s + self.settle_s, 0)

    def ready(self, now_s: float) -> list[str]:
        return sorted((sid for sid, (at, _) in self._due.items() if at <= now_s), key=lambda s: self._due[s][0])

    def done(self, session_id: str) -> None:
        self._due.pop(session_id, None)

    def failed(self, session_id: str, now_s: float) -> bool:
        """True when it will be tried again; False when it has had its attempts."""
        _, tried = self._due[session_id]
        if tried + 1 >= self.attempts:
            self._due.pop(session_id)
            return False
        self._due[session_id] = (now_s + max(self.settle_s, 1.0), tried + 1)
        return True

    def __len__(self) -> int:
        return len(self._due)


def stopped_session(value: bytes) -> str | None:
    """The session id of a stop event on the steps topic (None: another record or unreadable)."""
    try:
        kind, record = decode(value)
    except WireError:
        return None  # the sink dead-letters what does not decode; here it is not a stop
    if kind != "session_event" or record.get("event") != "stop":
        return None
    return record["session_id"]


def run_reports(
    consumer,
    make: Callable[[str], object],
    due: DueReports,
    *,
    should_stop: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll ``consumer`` (subscribed, auto-commit off) and make each stopped session's report."""
    uncommitted = False
    while not should_stop():
        for batch in consumer.poll(timeout_ms=POLL_TIMEOUT_MS).values():
            uncommitted = True
            for message in batch:
                session_id = stopped_session(message.value)
                if session_id is not None:
                    due.stopped(session_id, clock())
                    log.info(kv("report_due", session=session_id, in_s=due.settle_s))
        for session_id in due.ready(clock()):
            try:
                make(session_id)
                due.done(session_id)
            except Exception as exc:  # one session's failure must not stop the others' reports
                again = due.failed(session_id, clock())
                log.warning(
                    kv(
                        "report_failed",
                        session=session_id,
                        error=type(exc).__name__,
                        reason=str(exc)[:300],
                        retry="yes" if again else "no",
                    )
                )
        if uncommitted and not len(due):
            refused = commit_polled(consumer)  # refused during a rebalance: the stops are read again
            if refused is None:
                uncommitted = False
            else:
                log.warning(kv("commit_failed", reason=refused))
