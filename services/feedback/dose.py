"""The feedback dose: for every step of a session with a plan, whether its cue was shown
(pure: decisions, acknowledgements and the time in; ``feedback_cue`` records out).

A step without a cue, or with no screen connected, is recorded at once (not shown). A step with a
cue waits for a screen's acknowledgement (the page sends it once it has rendered the cue) for at
most ``wait_s``; without one it is recorded as not shown. The display latency is from the step's
end (data time) to the first rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACK_WAIT_S = 2.0


@dataclass
class DoseLedger:
    wait_s: float = ACK_WAIT_S
    _pending: dict[tuple[str, int], tuple[dict, float]] = field(default_factory=dict)
    _ready: list[dict] = field(default_factory=list)

    def decided(self, decision: dict, *, screens: int, now_s: float) -> None:
        """``decision``: a ``feedback_cue`` record but for ``shown``, ``screens`` and the latency."""
        record = {**decision, "screens": screens, "shown": False, "display_latency_ms": None}
        if decision["cue"] and screens > 0:
            self._pending[(decision["station_id"], decision["step_index"])] = (record, now_s + self.wait_s)
        else:
            self._ready.append(record)

    def acked(self, station_id: str, step_index: int, rendered_ms: float | None) -> None:
        pending = self._pending.pop((station_id, step_index), None)
        if pending is None:
            return  # a second screen's acknowledgement, or one after the wait: already recorded
        record = pending[0]
        record["shown"] = True
        if rendered_ms is not None:
            record["display_latency_ms"] = round(float(rendered_ms) - record["end_time_us"] / 1000.0, 1)
        self._ready.append(record)

    def take(self, now_s: float) -> list[dict]:
        """The records ready now (acknowledged, or waited for long enough)."""
        for key, (record, deadline) in list(self._pending.items()):
            if now_s >= deadline:
                del self._pending[key]
                self._ready.append(record)
        ready, self._ready = self._ready, []
        return ready
