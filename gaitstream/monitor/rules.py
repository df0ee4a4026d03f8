"""Alert rules over a session's steps and frames (pure; ``gaitstream.pipelines.gait.agents`` runs them).

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

from gaitstream.monitor.alert_settings import AlertSettings, Severity

__all__ = ["AlertSettings", "SustainedDeviation", "StationSilence", "alert_record"]

Metric = Literal["pelvic_drop_deg", "trunk_lean_deg"]
SIDES = ("left", "right")


def alert_record(
    *,
    session: dict,
    kind: str,
    state: str,
    severity: Severity,
    time_us: int,
    message: str,
    side: str | None,
    value: float | None,
    threshold: float | None,
    settings: AlertSettings,
    opened_at: str | int | None = None,
    sensor: str | None = None,
    fault: str | None = None,
    baseline: float | None = None,
    metric: str | None = None,
) -> dict:
    """An ``alert`` wire record.

    The id is deterministic: session, kind, side or sensor (and fault), and what opened the
    episode (``opened_at``: a step index or frame sequence from the data; the opening time when
    not given), so a replay of the same data reproduces the same ids. A resolve carries the id
    of the alert it resolves.
    """
    subject = side or sensor or "-"
    if fault:
        subject = f"{subject}:{fault}"
    mark = opened_at if opened_at is not None else time_us
    return {
        "alert_id": f"{session['session_id']}:{kind}:{subject}:{mark}",
        "state": state,
        "kind": kind,
        "severity": severity,
        "time_us": int(time_us),
        "clinic_id": session["clinic_id"],
        "station_id": session["station_id"],
        "session_id": session["session_id"],
        "patient_id": session["patient_id"],
        "side": side,
        "value": None if value is None else float(value),
        "threshold": None if threshold is None else float(threshold),
        "message": message,
        "dashboard_url": settings.link(session),
        "sensor": sensor,
        "fault": fault,
        "baseline": None if baseline is None else float(baseline),
        "metric": metric,
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
        return {
            "over": {side: [bool(x) for x in window] for side, window in self._over.items()},
            "open": dict(self._open_ids),
        }

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
            record = alert_record(
                session=self.session,
                kind=self.kind,
                state="resolved",
                severity="info",
                time_us=time_us,
                side=side,
                value=None,
                threshold=self.threshold_deg,
                settings=self.settings,
                message="session ended",
                metric="fraction_over_threshold",
            )
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
                session=self.session,
                kind=self.kind,
                state="open",
                severity=s.severity(self.kind),
                time_us=step["end_time_us"],
                side=side,
                value=fraction,
                threshold=self.threshold_deg,
                settings=s,
                opened_at=f"step{step['step_index']}",
                metric="fraction_over_threshold",
                message=f"{label} over {self.threshold_deg:g} deg on {sum(window)} of the last {len(window)} "
                f"{side} stance steps",
            )
            self._open_ids[side] = record["alert_id"]
            return [record]
        if side in self._open_ids and fraction <= s.resolve_fraction:
            record = alert_record(
                session=self.session,
                kind=self.kind,
                state="resolved",
                severity="info",
                time_us=step["end_time_us"],
                side=side,
                value=fraction,
                threshold=self.threshold_deg,
                settings=s,
                metric="fraction_over_threshold",
                message=f"{label} back under {self.threshold_deg:g} deg on most {side} steps",
            )
            record["alert_id"] = self._open_ids.pop(side)
            return [record]
        return []


@dataclass
class StationSilence:
    """Rule 2 for one open session: :meth:`saw_data` on each frame, :meth:`check` on a timer.

    Times are the worker's wall clock when a frame was *processed*, never the frames' sample
    times: a replay or a catching-up station sends data faster than real time, and a station
    whose clock is off must not look silent. The id names the last frame sequence seen before
    the silence, so a replayed episode keeps its id.
    """

    session: dict
    settings: AlertSettings = field(default_factory=AlertSettings)
    last_data_us: int | None = None
    last_sequence: int = -1
    _open_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self._open_id is not None

    def saw_data(self, time_us: int, sequence: int | None = None) -> list[dict]:
        self.last_data_us = time_us
        if sequence is not None:
            self.last_sequence = max(self.last_sequence, sequence)
        if self._open_id is None:
            return []
        record = alert_record(
            session=self.session,
            kind="station_silent",
            state="resolved",
            severity="info",
            time_us=time_us,
            side=None,
            value=None,
            threshold=self.settings.silent_after_s,
            settings=self.settings,
            message="station sends data again",
            metric="silent_s",
        )
        record["alert_id"], self._open_id = self._open_id, None
        return [record]

    def check(self, now_us: int) -> list[dict]:
        if self.last_data_us is None or self._open_id is not None:
            return []
        silent_s = (now_us - self.last_data_us) / 1e6
        if silent_s < self.settings.silent_after_s:
            return []
        record = alert_record(
            session=self.session,
            kind="station_silent",
            state="open",
            severity=self.settings.severity("station_silent"),
            time_us=now_us,
            side=None,
            value=silent_s,
            threshold=self.settings.silent_after_s,
            settings=self.settings,
            opened_at=f"seq{self.last_sequence}",
            metric="silent_s",
            message=f"no data for {silent_s:.0f} s during an open session",
        )
        self._open_id = record["alert_id"]
        return [record]

    def session_stopped(self, time_us: int) -> list[dict]:
        """A stop event ends the session: an open silence alert resolves."""
        if self._open_id is None:
            return []
        (record,) = self.saw_data(time_us)
        record["message"] = "session ended"
        return [record]

    def to_json(self) -> dict:
        return {"last_data_us": self.last_data_us, "last_sequence": self.last_sequence, "open": self._open_id}

    @classmethod
    def from_json(cls, value: dict, *, session: dict, settings: AlertSettings) -> StationSilence:
        rule = cls(
            session=session, settings=settings, last_data_us=value["last_data_us"], last_sequence=value["last_sequence"]
        )
        rule._open_id = value["open"]
        return rule
