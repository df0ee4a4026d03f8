"""Grafana alert rules (unified alerting) over the same InfluxQL as the dashboards.

One rule group, evaluated every 10 s. Each rule: query A (InfluxQL), B = reduce A to its last
value per series, C = threshold on B (the condition). A pending period (``for``) keeps one noisy
evaluation from paging anybody. Every rule carries ``app=gaitstream`` (the notification policy
routes on it) and the station in its labels (the policy groups by it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gaitstream.grafana import queries
from gaitstream.grafana.settings import DATASOURCE_UID

RULE_GROUP = "gaitstream-live"
# Live gait changes within seconds; 10 s keeps InfluxDB's load small at clinic scale.
EVALUATION_INTERVAL_S = 10
ROUTE_LABEL = ("app", "gaitstream")
CONTACT_POINT_NAME = "gaitstream-supervisors"
CONTACT_POINT_UID = "gaitstream-webhook"
# Supervisors get one notification per station and rule; related alerts of one station arrive together.
GROUP_BY = ["alertname", "clinic", "station"]
EXPRESSION_UID = "__expr__"

Evaluator = Literal["gt", "lt"]


@dataclass(frozen=True)
class AlertRule:
    uid: str
    title: str
    query: str
    # How far back Grafana evaluates the query ($timeFilter = the last relative_from_s seconds).
    relative_from_s: int
    evaluator: Evaluator
    threshold: float
    pending_s: int
    summary: str
    description: str
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    # Optional gate: a second query (D) whose last value per series (E) must be > 0 for the rule
    # to fire, e.g. "the session is still active" (gait_session.active, 1 at start, 0 at stop).
    gate_query: str | None = None
    gate_relative_from_s: int = 0

    def data(self, datasource_uid: str = DATASOURCE_UID) -> list[dict]:
        """The rule's queries and expressions, as both file provisioning and the API take them."""
        data = [_influxql("A", self.query, self.relative_from_s, datasource_uid), _last("B", "A"), self._condition()]
        if self.gate_query is not None:
            data += [_influxql("D", self.gate_query, self.gate_relative_from_s, datasource_uid), _last("E", "D")]
        return data

    def _condition(self) -> dict:
        if self.gate_query is None:
            return {"refId": "C", "datasourceUid": EXPRESSION_UID,
                    "model": {"refId": "C", "type": "threshold", "expression": "B",
                              "conditions": [{"evaluator": {"type": self.evaluator, "params": [self.threshold]}}]}}
        op = ">" if self.evaluator == "gt" else "<"
        return {"refId": "C", "datasourceUid": EXPRESSION_UID,
                "model": {"refId": "C", "type": "math", "expression": f"($B {op} {self.threshold:g}) && ($E > 0)"}}

    def body(self, datasource_uid: str = DATASOURCE_UID) -> dict:
        """The fields common to the provisioning file and the provisioning API."""
        return {
            "uid": self.uid, "title": self.title, "condition": "C", "data": self.data(datasource_uid),
            # No series = nothing to alert on (no steps over threshold, no session running).
            "noDataState": "OK", "execErrState": "Error", "for": f"{self.pending_s}s",
            "annotations": {"summary": self.summary, "description": self.description},
            "labels": {ROUTE_LABEL[0]: ROUTE_LABEL[1], "severity": self.severity, **self.labels},
            "isPaused": False,
        }


def _influxql(ref_id: str, query: str, relative_from_s: int, datasource_uid: str) -> dict:
    """An InfluxQL query of a rule, evaluated over the last ``relative_from_s`` seconds."""
    return {"refId": ref_id, "relativeTimeRange": {"from": relative_from_s, "to": 0}, "datasourceUid": datasource_uid,
            "model": {"refId": ref_id, "query": query, "rawQuery": True, "resultFormat": "time_series",
                      "intervalMs": 1000, "maxDataPoints": 43200}}


def _last(ref_id: str, source: str) -> dict:
    """Reduce each series of ``source`` to its last non-null value."""
    return {"refId": ref_id, "datasourceUid": EXPRESSION_UID,
            "model": {"refId": ref_id, "type": "reduce", "expression": source, "reducer": "last",
                      "settings": {"mode": "dropNN"}}}


# Templates use .Labels (not $labels): provisioning files expand $NAME from the environment.
RULES = (
    AlertRule(
        uid="gaitstream-pelvic-drop-over-threshold",
        title="Pelvic drop over threshold on most of the last 20 steps of one side",
        query=queries.ALERT_PELVIC_DROP_STEPS_OVER,
        # 20 steps of one side take about 25-40 s on a treadmill; 2 minutes leaves room for slow walkers.
        relative_from_s=120, evaluator="gt", threshold=queries.ALERT_MIN_STEPS_OVER - 1, pending_s=30,
        summary="Station {{ .Labels.station }}: pelvic drop over "
                f"{queries.PELVIC_DROP_THRESHOLD_DEG:g} deg on the {{{{ .Labels.side }}}} side",
        description="Patient {{ .Labels.patient }} (session {{ .Labels.session }}): {{ .Values.B }} of the last "
                    f"{queries.ALERT_WINDOW_STEPS} {{{{ .Labels.side }}}} stance steps dropped the pelvis more than "
                    f"{queries.PELVIC_DROP_THRESHOLD_DEG:g} deg (Trendelenburg sign).",
    ),
    AlertRule(
        uid="gaitstream-station-silent",
        title="Station silent during a session",
        query=queries.ALERT_STATION_SAMPLES,
        # A session that sent data in the last 5 minutes and then nothing for 10-20 s.
        relative_from_s=300, evaluator="lt", threshold=1, pending_s=30, severity="critical",
        # Only sessions still active (no stop event yet); 12 h covers the longest rehab session.
        gate_query=queries.ALERT_SESSION_ACTIVE, gate_relative_from_s=12 * 3600,
        summary="Station {{ .Labels.station }} stopped sending data",
        description="No pelvic obliquity from station {{ .Labels.station }} (patient {{ .Labels.patient }}, "
                    "session {{ .Labels.session }}) for 10-20 s, after data in the last 5 minutes, while the "
                    "session is still open (no stop event): sensor, network or station software.",
    ),
)
