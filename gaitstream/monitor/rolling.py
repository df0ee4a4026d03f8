"""Rolling gait status of one station's session over its last steps per side (pure)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from gaitstream.gait.classification import classification_flags, classify
from gaitstream.gait.config import GaitConfig
from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.rules import SustainedDeviation
from gaitstream.monitor.worsening import SessionDistribution, Worsening

# The alert rules that watch the same steps (their state travels with the rolling status).
ALERT_METRICS = ("pelvic_drop_deg", "trunk_lean_deg")

# The live window: enough steps per side for a stable median (GAIT_SPEC: >= 10 steady steps),
# short enough to follow a patient's fatigue within a minute of walking.
WINDOW_STEPS_PER_SIDE = 20
SIDES = ("left", "right")
# Status is published at most this often per station (and at once when the label changes):
# dashboards refresh every few seconds, and one status per step doubled the pipeline's traffic.
STATUS_INTERVAL_US = 1_000_000


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class RollingStatus:
    """The last ``WINDOW_STEPS_PER_SIDE`` steps of each side of one session."""

    session: dict
    last_step_index: int = -1
    last_published_us: int = 0
    last_classification: str = ""
    drops_deg: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    leans_deg: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    step_times_s: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    alert_rules: dict[str, SustainedDeviation] = field(default_factory=dict)
    closed: bool = False
    # Alert settings resolved at the session start (patient -> clinic -> default) and the
    # patient's baseline (gaitstream.monitor.worsening): frozen, so a replay gives the same alerts.
    settings: AlertSettings = field(default_factory=AlertSettings)
    baseline: dict[str, float] = field(default_factory=dict)
    worsening: Worsening | None = None
    distribution: SessionDistribution = field(default_factory=SessionDistribution)
    _config: GaitConfig | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for metric in ALERT_METRICS:
            self.alert_rules.setdefault(
                metric, SustainedDeviation(session=self.session, metric=metric, settings=self.settings)
            )
        if self.worsening is None:
            self.worsening = Worsening(session=self.session, baseline=self.baseline, settings=self.settings)

    def evaluate_alerts(self, step: dict) -> list[dict]:
        """Alerts opened or resolved by ``step`` (call after :meth:`add` accepted it)."""
        alerts = [alert for rule in self.alert_rules.values() for alert in rule.add_step(step)]
        return alerts + self.worsening.add_step(step)

    def close(self, time_us: int) -> list[dict]:
        """The session stopped: resolve its open alerts; later steps of it are ignored."""
        self.closed = True
        alerts = [alert for rule in self.alert_rules.values() for alert in rule.close(time_us)]
        return alerts + self.worsening.close(time_us)

    def summary(self, stop_time_us: int) -> dict:
        """The session's per-side medians over all its steps (a ``SessionSummary``, for the history)."""
        return self.distribution.summary(self.session, stop_time_us)

    @property
    def config(self) -> GaitConfig:
        if self._config is None:
            s = self.session
            self._config = GaitConfig(
                pelvic_drop_threshold_deg=s["pelvic_drop_threshold_deg"],
                trunk_lean_threshold_deg=s["trunk_lean_threshold_deg"],
                min_steps_per_side=s["min_steps_per_side"],
            )
        return self._config

    def add(self, step: dict) -> bool:
        """Add a step; False (and nothing changes) for a step already seen (a replay) or after the stop."""
        if self.closed or step["step_index"] <= self.last_step_index:
            return False
        self.last_step_index = step["step_index"]
        self.distribution.add(step)
        side = step["side"]
        for store, value in (
            (self.drops_deg, step["pelvic_drop_deg"]),
            (self.leans_deg, step["trunk_lean_deg"]),
            (self.step_times_s, step["step_time_s"]),
        ):
            if value is not None:
                store[side].append(float(value))
                del store[side][:-WINDOW_STEPS_PER_SIDE]
        return True

    def record(self, time_us: int, *, lean_reference: str | None = None) -> dict:
        """A ``gait_status`` record of the window as it is now; ``lean_reference`` ("standing" or
        "walking", the engine's) says what the trunk lean is relative to, for the flags."""
        s = self.session
        label = classify(
            self.drops_deg["left"],
            self.drops_deg["right"],
            self.leans_deg["left"] if s["trunk_present"] else None,
            self.leans_deg["right"] if s["trunk_present"] else None,
            self.config,
        )
        left_t, right_t = _median(self.step_times_s["left"]), _median(self.step_times_s["right"])
        cadence = asym = None
        if left_t and right_t:
            cadence = 120.0 / (left_t + right_t)
            asym = 100.0 * abs(left_t - right_t) / ((left_t + right_t) / 2)
        return {
            "clinic_id": s["clinic_id"],
            "station_id": s["station_id"],
            "session_id": s["session_id"],
            "patient_id": s["patient_id"],
            "time_us": time_us,
            "window_steps": WINDOW_STEPS_PER_SIDE,
            "steps_left": len(self.drops_deg["left"]),
            "steps_right": len(self.drops_deg["right"]),
            "pelvic_drop_deg_median_left": _median(self.drops_deg["left"]),
            "pelvic_drop_deg_median_right": _median(self.drops_deg["right"]),
            "trunk_lean_deg_median_left": _median(self.leans_deg["left"]) if s["trunk_present"] else None,
            "trunk_lean_deg_median_right": _median(self.leans_deg["right"]) if s["trunk_present"] else None,
            "cadence_spm": cadence,
            "step_time_asymmetry_pct": asym,
            "classification": str(label),
            "trunk_lean_reference": lean_reference if s["trunk_present"] else None,
            "classification_flags": classification_flags(
                label, trunk=s["trunk_present"], lean_reference=lean_reference
            ),
        }

    def due(self, record: dict) -> bool:
        """Whether ``record`` (from :meth:`record`) should be published now; marks it published."""
        if (
            record["time_us"] - self.last_published_us < STATUS_INTERVAL_US
            and record["classification"] == self.last_classification
        ):
            return False
        self.last_published_us, self.last_classification = record["time_us"], record["classification"]
        return True

    def to_json(self) -> dict:
        return {
            "session": self.session,
            "last_step_index": self.last_step_index,
            "drops_deg": self.drops_deg,
            "leans_deg": self.leans_deg,
            "step_times_s": self.step_times_s,
            "last_published_us": self.last_published_us,
            "last_classification": self.last_classification,
            "closed": self.closed,
            "alert_rules": {metric: rule.to_json() for metric, rule in self.alert_rules.items()},
            "alert_settings": self.settings.to_json(),
            "worsening": self.worsening.to_json(),
            "distribution": self.distribution.to_json(),
        }

    @classmethod
    def from_json(cls, value: dict) -> RollingStatus:
        # Values written before the settings and worsening rule existed restore with the defaults.
        settings = AlertSettings.from_json(value.get("alert_settings"))
        session = value["session"]
        rules = {
            metric: SustainedDeviation.from_json(state, session=session, metric=metric, settings=settings)
            for metric, state in value.get("alert_rules", {}).items()
        }
        worsening = Worsening.from_json(value.get("worsening"), session=session, settings=settings)
        return cls(
            session=session,
            last_step_index=value["last_step_index"],
            drops_deg=value["drops_deg"],
            leans_deg=value["leans_deg"],
            step_times_s=value["step_times_s"],
            last_published_us=value.get("last_published_us", 0),
            last_classification=value.get("last_classification", ""),
            alert_rules=rules,
            closed=value.get("closed", False),
            settings=settings,
            baseline=worsening.baseline,
            worsening=worsening,
            distribution=SessionDistribution.from_json(value.get("distribution")),
        )
