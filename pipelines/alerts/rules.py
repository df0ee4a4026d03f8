"""Alert rules over a session's steps (pure; ``pipelines.status.agents`` feeds them every step).

Each rule keeps a small state per session and returns alert records (``schemas/avro/alert``)
only when an alert opens or resolves: hysteresis (open at one level, resolve at a lower one)
means a patient hovering at the threshold produces one alert, not one per step.

Rules here:
1. ``SustainedDeviation``: pelvic drop (or trunk lean) over the session's threshold on at least
   ``open_fraction`` of the last ``window_steps`` stance steps of one side; resolves when the
   fraction falls to ``resolve_fraction`` or below.
2. ``StationSilence``: an open session whose station sent nothing for ``silent_after_s``;
   resolves when data comes back or the session stops.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Metric = Literal["pelvic_drop_deg", "trunk_lean_deg"]
Severity = Literal["info", "warning", "critical"]
SIDES = ("left", "right")

# GAIT_SPEC's window of the live classification: 20 steps per side.
DEFAULT_WINDOW_STEPS = 20
# Issue 6: "e.g. >= 70 % of the last 20 steps"; resolving at 50 % leaves a margin of 4 steps.
DEFAULT_OPEN_FRACTION = 0.7
DEFAULT_RESOLVE_FRACTION = 0.5
# A 100 Hz station sends a frame every 0.1 s; 10 s of nothing is not a network hiccup.
DEFAULT_SILENT_AFTER_S = 10.0


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    """Clinic defaults, overridable per patient (thresholds come with the session)."""

    window_steps: int = DEFAULT_WINDOW_STEPS
    open_fraction: float = DEFAULT_OPEN_FRACTION
    resolve_fraction: float = DEFAULT_RESOLVE_FRACTION
    silent_after_s: float = DEFAULT_SILENT_AFTER_S
    dashboard_url: str | None = None

    def __post_init__(self) -> None:
        if self.window_steps < 1:
            raise ValueError(f"window_steps must be >= 1, got {self.window_steps}")
        if not 0.0 <= self.resolve_fraction < self.open_fraction <= 1.0:
            raise ValueError("need 0 <= resolve_fraction < open_fraction <= 1 (hysteresis), got "
                             f"resolve_fraction={self.resolve_fraction} open_fraction={self.open_fraction}")
        if self.silent_after_s <= 0:
            raise ValueError(f"silent_after_s must be > 0, got {self.silent_after_s}")

    def link(self, session: dict) -> str | None:
        if self.dashboard_url is None:
            return None
        return (f"{self.dashboard_url.rstrip('/')}/d/gaitstream-patient-session?var-clinic={session['clinic_id']}"
                f"&var-patient={session['patient_id']}&var-session={session['session_id']}")


def alert_record(*, session: dict, kind: str, state: str, severity: Severity, time_us: int, message: str,
                 side: str | None, value: float | None, threshold: float | None, settings: AlertSettings) -> dict:
    """An ``alert`` wire record; the id is stable from open to resolve (one per kind, side, episode)."""
    return {
        "alert_id": f"{session['session_id']}:{kind}:{side or '-'}:{time_us if state == 'open' else 0}",
        "state": state, "kind": kind, "severity": severity, "time_us": time_us,
        "clinic_id": session["clinic_id"], "station_id": session["station_id"],
        "session_id": session["session_id"], "patient_id": session["patient_id"], "side": side,
        "value": value, "threshold": threshold, "message": message, "dashboard_url": settings.link(session),
    }


@dataclass
class SustainedDeviation:
    """Rule 1 for one session and one metric; feed it steps in order with :meth:`add_step`."""

    session: dict
    metric: Metric
    settings: AlertSettings = field(default_factory=AlertSettings)
    _over: dict[str, deque] = field(default_factory=dict)
    _open_ids: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "pelvic_drop_sustained" if self.metric == "pelvic_drop_deg" else "trunk_lean_sustained"

    @property
    def threshold_deg(self) -> float:
        key = "pelvic_drop_threshold_deg" if self.metric == "pelvic_drop_deg" else "trunk_lean_threshold_deg"
        return float(self.session[key])

    def to_json(self) -> dict:
        return {"over": {side: [bool(x) for x in window] for side, window in self._over.items()},
                "open": dict(self._open_ids)}

    @classmethod
    def from_json(cls, value: dict, *, session: dict, metric: Metric, settings: AlertSettings) -> SustainedDeviation:
        rule = cls(session=session, metric=metric, settings=settings)
        rule._over = {side: deque(window, maxlen=settings.window_steps) for side, window in value["over"].items()}
        rule._open_ids = dict(value["open"])
        return rule

    def close(self, time_us: int) -> list[dict]:
        """The session ended: resolve what is still open."""
        out = []
        for side, alert_id in sorted(self._open_ids.items()):
            record = alert_record(session=self.session, kind=self.kind, state="resolved", severity="info",
                                  time_us=time_us, side=side, value=None, threshold=self.threshold_deg,
                                  settings=self.settings, message="session ended")
            record["alert_id"] = alert_id
            out.append(record)
        self._open_ids.clear()
        return out

    def add_step(self, step: dict) -> list[dict]:
        """Consider one step (a ``step_metrics`` record); return the alerts it opens or resolves."""
        value = step.get(self.metric)
        if value is None:
            return []
        side = step["side"]
        window = self._over.setdefault(side, deque(maxlen=self.settings.window_steps))
        window.append(value > self.threshold_deg)
        if len(window) < self.settings.window_steps:
            return []
        fraction = sum(window) / len(window)
        s, label = self.settings, self.metric.removesuffix("_deg").replace("_", " ")
        if side not in self._open_ids and fraction >= s.open_fraction:
            record = alert_record(
                session=self.session, kind=self.kind, state="open", severity="warning", time_us=step["end_time_us"],
                side=side, value=fraction, threshold=self.threshold_deg, settings=s,
                message=f"{label} over {self.threshold_deg:g} deg on {sum(window)} of the last {len(window)} "
                        f"{side} stance steps")
            self._open_ids[side] = record["alert_id"]
            return [record]
        if side in self._open_ids and fraction <= s.resolve_fraction:
            record = alert_record(
                session=self.session, kind=self.kind, state="resolved", severity="info", time_us=step["end_time_us"],
                side=side, value=fraction, threshold=self.threshold_deg, settings=s,
                message=f"{label} back under {self.threshold_deg:g} deg on most {side} steps")
            record["alert_id"] = self._open_ids.pop(side)
            return [record]
        return []


@dataclass
class StationSilence:
    """Rule 2 for one open session: call :meth:`saw_data` on each frame and :meth:`check` on a timer."""

    session: dict
    settings: AlertSettings = field(default_factory=AlertSettings)
    last_data_us: int | None = None
    _open_id: str | None = None

    def saw_data(self, time_us: int) -> list[dict]:
        self.last_data_us = time_us
        if self._open_id is None:
            return []
        record = alert_record(session=self.session, kind="station_silent", state="resolved", severity="info",
                              time_us=time_us, side=None, value=None, threshold=self.settings.silent_after_s,
                              settings=self.settings, message="station sends data again")
        record["alert_id"], self._open_id = self._open_id, None
        return [record]

    def check(self, now_us: int) -> list[dict]:
        if self.last_data_us is None or self._open_id is not None:
            return []
        silent_s = (now_us - self.last_data_us) / 1e6
        if silent_s < self.settings.silent_after_s:
            return []
        record = alert_record(session=self.session, kind="station_silent", state="open", severity="critical",
                              time_us=now_us, side=None, value=silent_s, threshold=self.settings.silent_after_s,
                              settings=self.settings,
                              message=f"no data for {silent_s:.0f} s during an open session")
        self._open_id = record["alert_id"]
        return [record]

    def session_stopped(self, time_us: int) -> list[dict]:
        """A stop event ends the session: an open silence alert resolves."""
        return self.saw_data(time_us) if self._open_id is not None else []
