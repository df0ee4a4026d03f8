"""A station whose frames are being refused (dead-lettered), as an alert (pure).

One malformed frame in an hour is worth a line on the dashboard, not a page; a station whose
frames keep being refused loses its patient's measurement. ``frames_refused`` (warning) opens when
``open_after`` of a station's frames were refused within ``window_s``, and resolves once none was
for ``resolve_after_s``. Times are the dead letters' Kafka times (when they were refused) and,
for the resolution, the caller's clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from gaitstream.monitor.door import NO_DASHBOARD
from gaitstream.monitor.rules import alert_record

KIND = "frames_refused"
DEFAULT_WINDOW_S = 60.0
DEFAULT_OPEN_AFTER = 5
DEFAULT_RESOLVE_AFTER_S = 60.0
IDS = ("clinic_id", "station_id", "session_id", "patient_id")


@dataclass
class _Episode:
    alert_id: str
    ids: dict
    last_us: int
    count: int


@dataclass
class RefusedFrames:
    window_s: float = DEFAULT_WINDOW_S
    open_after: int = DEFAULT_OPEN_AFTER
    resolve_after_s: float = DEFAULT_RESOLVE_AFTER_S
    _recent: dict[str, deque] = field(default_factory=dict)
    _open: dict[str, _Episode] = field(default_factory=dict)

    def refused(self, ids: dict, reason: str, *, time_us: int, mark: str) -> list[dict]:
        """A frame of ``ids['station_id']`` was refused at ``time_us`` (``mark``: what makes the
        episode's id deterministic, e.g. the dead letter's offset)."""
        station = ids["station_id"]
        episode = self._open.get(station)
        if episode is not None:
            episode.last_us, episode.count = max(episode.last_us, time_us), episode.count + 1
            return []
        recent = self._recent.setdefault(station, deque())
        recent.append(time_us)
        while recent and recent[0] < time_us - self.window_s * 1e6:
            recent.popleft()
        if len(recent) < self.open_after:
            return []
        del self._recent[station]
        full = {k: str(ids.get(k) or "-") for k in IDS}
        episode = _Episode(f"{full['session_id']}:{KIND}:-:{mark}", full, time_us, self.open_after)
        self._open[station] = episode
        message = f"{self.open_after} frames refused within {self.window_s:.0f} s; last reason: {reason}"
        return [_record(episode, "open", "warning", time_us, message, float(self.open_after))]

    def check(self, now_us: int) -> list[dict]:
        """Resolve the stations with no refused frame for ``resolve_after_s``."""
        out = []
        for station, episode in sorted(self._open.items()):
            if now_us - episode.last_us >= self.resolve_after_s * 1e6:
                del self._open[station]
                message = f"no frame refused for {self.resolve_after_s:.0f} s ({episode.count} refused)"
                out.append(_record(episode, "resolved", "info", now_us, message, float(episode.count)))
        return out


def _record(episode: _Episode, state: str, severity: str, time_us: int, message: str, value: float) -> dict:
    record = alert_record(
        session=episode.ids,
        kind=KIND,
        state=state,
        severity=severity,
        time_us=time_us,
        message=message[:500],
        side=None,
        value=value,
        threshold=None,
        settings=NO_DASHBOARD,
        metric="frames_refused",
    )
    record["alert_id"] = episode.alert_id
    return record
