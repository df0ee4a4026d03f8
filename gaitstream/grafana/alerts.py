"""Grafana's one alert rule: the pipeline's dead-man's switch.

Conditions about patients and stations (pelvic drop, trunk lean, worsening, a silent station,
sensor faults) are decided by the pipeline and delivered by the alert dispatcher
(``services/alerts``): one path, one answer to "where is an alert sent?". Grafana watches only the
pipeline itself, from outside it: sessions of a clinic are open, yet no station's data has
reached InfluxDB for a minute (worker, sink, broker or database down). The dispatcher cannot
report that, since its alerts come through the same pipeline.

One rule group, evaluated every 10 s: query A (InfluxQL), B = its last value per clinic; gate D
(open sessions), E = its last value per clinic; condition C = (B < 1) and (E > 0). A pending
period (``for``) keeps one evaluation at a minute's start from paging anybody. The rule carries
``app=gaitstream`` (the notification policy routes on it) and the clinic in its labels.
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
# One notification per clinic.
GROUP_BY = ["alertname", "clinic"]
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
            return {
                "refId": "C",
                "datasourceUid": EXPRESSION_UID,
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": self.evaluator, "params": [self.threshold]}}],
                },
            }
        op = ">" if self.evaluator == "gt" else "<"
        return {
            "refId": "C",
            "datasourceUid": EXPRESSION_UID,
            "model": {"refId": "C", "type": "math", "expression": f"($B {op} {self.threshold:g}) && ($E > 0)"},
        }

    def body(self, datasource_uid: str = DATASOURCE_UID) -> dict:
        """The fields common to the provisioning file and the provisioning API."""
        return {
            "uid": self.uid,
            "title": self.title,
            "condition": "C",
            "data": self.data(datasource_uid),
            # No series = nothing to alert on (no steps over threshold, no session running).
            "noDataState": "OK",
            "execErrState": "Error",
            "for": f"{self.pending_s}s",
            "annotations": {"summary": self.summary, "description": self.description},
            "labels": {ROUTE_LABEL[0]: ROUTE_LABEL[1], "severity": self.severity, **self.labels},
            "isPaused": False,
        }


def _influxql(ref_id: str, query: str, relative_from_s: int, datasource_uid: str) -> dict:
    """An InfluxQL query of a rule, evaluated over the last ``relative_from_s`` seconds."""
    return {
        "refId": ref_id,
        "relativeTimeRange": {"from": relative_from_s, "to": 0},
        "datasourceUid": datasource_uid,
        "model": {
            "refId": ref_id,
            "query": query,
            "rawQuery": True,
            "resultFormat": "time_series",
            "intervalMs": 1000,
            "maxDataPoints": 43200,
        },
    }


def _last(ref_id: str, source: str) -> dict:
    """Reduce each series of ``source`` to its last non-null value."""
    return {
        "refId": ref_id,
        "datasourceUid": EXPRESSION_UID,
        "model": {
            "refId": ref_id,
            "type": "reduce",
            "expression": source,
            "reducer": "last",
            "settings": {"mode": "dropNN"},
        },
    }


# Templates use .Labels (not $labels): provisioning files expand $NAME from the environment.
RULES = (
    AlertRule(
        uid="gaitstream-pipeline-dead-mans-switch",
        title="No data from any station while sessions are open",
        query=queries.ALERT_PIPELINE_SAMPLES,
        # Minute buckets over the range: a clinic whose data stopped shows a 0 in its last bucket.
        relative_from_s=15 * 60,
        evaluator="lt",
        threshold=1,
        pending_s=60,
        severity="critical",
        # Open sessions: 12 h covers the longest rehab session.
        gate_query=queries.ALERT_OPEN_SESSIONS,
        gate_relative_from_s=12 * 3600,
        summary="gaitstream pipeline: no data from clinic {{ .Labels.clinic }}",
        description="{{ .Values.E }} session(s) of clinic {{ .Labels.clinic }} are open, but no station's "
        "pelvic obliquity has reached InfluxDB for a minute: the pipeline worker, its InfluxDB "
        "sink, Kafka or InfluxDB is down. Patient alerts may not be delivered meanwhile.",
    ),
)
