"""Sudden worsening against the patient's own previous sessions (pure).

1. During a session, every accepted step goes into a per-side distribution of the whole session
   (:class:`SessionDistribution`, 0.1-degree bins: a median to +-0.05 deg in a few hundred bytes).
2. At the stop, :meth:`SessionDistribution.summary` gives the session's per-side medians and step
   counts; :func:`append_history` appends it to the patient's history (the last
   ``baseline_sessions``), which the pipeline republishes on the compacted session-history
   topic, key ``<clinic>/<patient>``, mirrored in a GlobalTable.
3. At the next session's start, :func:`baseline_from_history` takes the median of the previous
   sessions' medians per metric and side (at least ``baseline_min_sessions`` of them).
4. :class:`Worsening` compares the median of the side's last ``worsening_min_steps`` steps with
   that baseline: it opens when the excess reaches ``worsening_open_margin_deg`` and resolves
   when it falls to ``worsening_resolve_margin_deg`` (defaults 2.0 and 1.0 deg; the reasoning is
   in ``gaitstream.monitor.alert_settings``).

Notes: the baseline is frozen at the session start, so a replay of the session gives the same
alerts whatever happened to the history since. Two sessions of one patient stopping at the same
moment on two stations would each append to the history they saw; a patient walks on one
treadmill at a time, so this is not guarded.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field

from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.rules import alert_record

SIDES = ("left", "right")
METRICS = ("pelvic_drop_deg", "trunk_lean_deg")
# Histogram resolution of the session distribution: below the engine's accuracy (0.3 deg MAE).
BIN_DEG = 0.1


def _median_of_bins(bins: Counter) -> float | None:
    total = sum(bins.values())
    if not total:
        return None
    ordered = sorted(bins.items())
    # The median of the bin centres, as statistics.median does for an even count.
    lo_rank, hi_rank = (total - 1) // 2, total // 2
    out, seen = [], 0
    for b, count in ordered:
        for rank in (lo_rank, hi_rank):
            if seen <= rank < seen + count:
                out.append(b * BIN_DEG)
        seen += count
    return round(sum(out) / len(out), 6)


@dataclass
class SessionDistribution:
    """Every step of one session per metric and side, binned (for the session's medians)."""

    bins: dict[str, Counter] = field(default_factory=dict)

    def add(self, step: dict) -> None:
        for metric in METRICS:
            value = step.get(metric)
            if value is not None:
                self.bins.setdefault(f"{metric}:{step['side']}", Counter())[round(float(value) / BIN_DEG)] += 1

    def median(self, metric: str, side: str) -> float | None:
        return _median_of_bins(self.bins.get(f"{metric}:{side}", Counter()))

    def steps(self, side: str) -> int:
        return sum(self.bins.get(f"pelvic_drop_deg:{side}", Counter()).values())

    def summary(self, session: dict, stop_time_us: int) -> dict:
        """A ``SessionSummary`` (schema session_history) of the session so far."""
        out = {
            "session_id": session["session_id"],
            "station_id": session["station_id"],
            "start_time_us": int(session["time_us"]),
            "stop_time_us": int(stop_time_us),
            "steps_left": self.steps("left"),
            "steps_right": self.steps("right"),
        }
        for metric in METRICS:
            for side in SIDES:
                out[f"{metric}_median_{side}"] = self.median(metric, side)
        return out

    def to_json(self) -> dict:
        return {key: {str(b): n for b, n in counts.items()} for key, counts in self.bins.items()}

    @classmethod
    def from_json(cls, value: dict | None) -> SessionDistribution:
        return cls({key: Counter({int(b): n for b, n in counts.items()}) for key, counts in (value or {}).items()})


def history_key(clinic_id: str, patient_id: str) -> str:
    """Kafka key (and table key) of a patient's session history."""
    return f"{clinic_id}/{patient_id}"


def append_history(history: dict | None, session: dict, summary: dict, *, keep: int) -> dict:
    """The patient's ``session_history`` record with ``summary`` appended (oldest dropped).

    A summary of a session already in the history replaces it (a replayed stop).
    """
    sessions = [s for s in (history or {}).get("sessions", []) if s["session_id"] != summary["session_id"]]
    sessions.append(summary)
    sessions.sort(key=lambda s: s["start_time_us"])
    return {"clinic_id": session["clinic_id"], "patient_id": session["patient_id"], "sessions": sessions[-keep:]}


def baseline_from_history(
    history: dict | None, settings: AlertSettings, *, before_session: str | None = None
) -> dict[str, float]:
    """Median of the previous sessions' medians, per ``metric:side`` (keys missing = no baseline).

    Sessions with fewer than ``worsening_min_steps`` steps on a side (a test walk, an aborted
    start) are not part of that side's baseline; ``before_session`` excludes the current one.
    """
    sessions = [s for s in (history or {}).get("sessions", []) if s["session_id"] != before_session]
    sessions = sessions[-settings.baseline_sessions :]
    out = {}
    for metric in METRICS:
        for side in SIDES:
            values = [
                s[f"{metric}_median_{side}"]
                for s in sessions
                if s.get(f"{metric}_median_{side}") is not None and s[f"steps_{side}"] >= settings.worsening_min_steps
            ]
            if len(values) >= settings.baseline_min_sessions:
                out[f"{metric}:{side}"] = float(statistics.median(values))
    return out


@dataclass
class Worsening:
    """Rule 3 for one session: the side's recent median against the patient's baseline."""

    session: dict
    baseline: dict[str, float] = field(default_factory=dict)
    settings: AlertSettings = field(default_factory=AlertSettings)
    _recent: dict[str, deque] = field(default_factory=dict)
    _open_ids: dict[str, str] = field(default_factory=dict)

    def add_step(self, step: dict) -> list[dict]:
        """Consider one step (a ``step_metrics`` record); return the alerts it opens or resolves."""
        out = []
        s = self.settings
        for metric in METRICS:
            key = f"{metric}:{step['side']}"
            value = step.get(metric)
            if value is None or key not in self.baseline:
                continue
            recent = self._recent.setdefault(key, deque(maxlen=s.worsening_min_steps))
            recent.append(float(value))
            if len(recent) < s.worsening_min_steps:
                continue
            median, base = statistics.median(recent), self.baseline[key]
            excess = median - base
            label = metric.removesuffix("_deg").replace("_", " ")
            common = dict(
                session=self.session,
                kind="worsening",
                time_us=step["end_time_us"],
                side=step["side"],
                value=median,
                threshold=base + s.worsening_open_margin_deg,
                settings=s,
                baseline=base,
                metric=f"{metric}_median",
            )
            if key not in self._open_ids and excess >= s.worsening_open_margin_deg:
                record = alert_record(
                    **common,
                    state="open",
                    severity=s.severity("worsening"),
                    opened_at=f"{metric}:step{step['step_index']}",
                    message=f"{step['side']} {label} median {median:.1f} deg over the last "
                    f"{len(recent)} steps, {excess:.1f} deg above this patient's baseline "
                    f"{base:.1f} deg",
                )
                self._open_ids[key] = record["alert_id"]
                out.append(record)
            elif key in self._open_ids and excess <= s.worsening_resolve_margin_deg:
                record = alert_record(
                    **common,
                    state="resolved",
                    severity="info",
                    message=f"{step['side']} {label} median back within "
                    f"{s.worsening_resolve_margin_deg:g} deg of the baseline",
                )
                record["alert_id"] = self._open_ids.pop(key)
                out.append(record)
        return out

    def close(self, time_us: int) -> list[dict]:
        out = []
        for key, alert_id in sorted(self._open_ids.items()):
            metric, side = key.split(":")
            record = alert_record(
                session=self.session,
                kind="worsening",
                state="resolved",
                severity="info",
                time_us=time_us,
                side=side,
                value=None,
                threshold=None,
                settings=self.settings,
                baseline=self.baseline[key],
                metric=f"{metric}_median",
                message="session ended",
            )
            record["alert_id"] = alert_id
            out.append(record)
        self._open_ids.clear()
        return out

    def to_json(self) -> dict:
        return {
            "baseline": dict(self.baseline),
            "recent": {k: list(v) for k, v in self._recent.items()},
            "open": dict(self._open_ids),
        }

    @classmethod
    def from_json(cls, value: dict | None, *, session: dict, settings: AlertSettings) -> Worsening:
        value = value or {}
        rule = cls(session=session, baseline=dict(value.get("baseline", {})), settings=settings)
        rule._recent = {k: deque(v, maxlen=settings.worsening_min_steps) for k, v in value.get("recent", {}).items()}
        rule._open_ids = dict(value.get("open", {}))
        return rule
