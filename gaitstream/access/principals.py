"""Each component's Kafka principal and exactly the ACLs its role needs (pure: no broker).

Roles, for one deployment (topic prefix ``P``, pipeline app id ``A``):

- ``pipeline`` (Faust workers): reads the stations topic and the mirrored compacted topics,
  writes the output topics and the session histories, owns its changelogs (``A-*``), its
  consumer group ``A`` and, with exactly-once, its transactional ids ``A-*``; creates the
  deployment's topics at start (topic auto-creation is off).
- ``sink`` (the InfluxDB sink inside each worker): reads the output topics, group ``A-influx-sink``.
- ``dispatcher`` (alert delivery): reads the alerts topic, its consumer group.
- ``feedback`` (the patient screens' service): reads the steps and trace topics (without a
  group), writes the feedback topic (what the screens showed).
- ``report`` (session reports): reads the steps topic (for the sessions' stop events), its
  consumer group; everything else it reads from InfluxDB.
- ``station-<id>``: writes the stations topic, nothing else (not even read it back). A signed
  frame binds each record to its station (``gaitstream.access.signing``).
- ``simulator``: the simulated-station fleet of demos and tests: writes the stations topic.
- ``admin``: a super user (the broker's own too); the operator's tools (``gaitstream access``,
  ``alerts settings``, ``patient``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gaitstream.settings import TopicSettings

Operation = Literal["READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"]
ResourceKind = Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID"]
PatternKind = Literal["LITERAL", "PREFIXED"]

ADMIN_USER = "admin"
PIPELINE_USER = "gaitstream-pipeline"
SINK_USER = "gaitstream-sink"
DISPATCHER_USER = "gaitstream-dispatcher"
FEEDBACK_USER = "gaitstream-feedback"
SIMULATOR_USER = "gaitstream-simulator"
REPORT_USER = "gaitstream-report"
STATION_USER_PREFIX = "station-"
# The dispatcher's default consumer group (services.alerts.settings).
DISPATCHER_GROUP = "gaitstream-alerts-dispatcher"
# The report service's consumer group (services.report.settings).
REPORT_GROUP = "gaitstream-reports"
# Station ids become user names and ACL principals: a conservative alphabet, no separators.
STATION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True, order=True)
class Grant:
    """Allow ``user`` to ``operation`` on a resource (``name`` literal or as a prefix)."""

    user: str
    resource: ResourceKind
    name: str
    pattern: PatternKind
    operation: Operation


def _topic(user: str, name: str, *ops: Operation, pattern: PatternKind = "LITERAL") -> list[Grant]:
    return [Grant(user, "TOPIC", name, pattern, op) for op in ops]


def station_user(station_id: str) -> str:
    if not STATION_ID_PATTERN.fullmatch(station_id):
        raise ValueError(
            f"station id {station_id!r} must be 1-63 characters of letters, digits, '.', '_' or '-' "
            "(it names the station's Kafka user)"
        )
    return STATION_USER_PREFIX + station_id


def pipeline_grants(topics: TopicSettings, app_id: str, user: str = PIPELINE_USER) -> list[Grant]:
    outputs = [topics.steps, topics.status, topics.trace, topics.alerts, topics.deadletter]
    grants = _topic(user, topics.stations, "READ", "DESCRIBE", "CREATE")
    # The feedback service's topic: the pipeline creates every topic of the deployment at start.
    grants += _topic(user, topics.feedback, "DESCRIBE", "CREATE")
    for name in outputs:
        grants += _topic(user, name, "WRITE", "DESCRIBE", "CREATE")
    # The two compacted topics the app mirrors as global tables: it declares them compacted.
    compacted_admin: tuple[Operation, ...] = ("DESCRIBE", "CREATE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS")
    grants += _topic(user, topics.session_history, "READ", "WRITE", *compacted_admin)
    grants += _topic(user, topics.alert_settings, "READ", *compacted_admin)
    # Changelogs of the app's tables: created, reconfigured (max.message.bytes), read, written.
    grants += _topic(
        user,
        f"{app_id}-",
        "READ",
        "WRITE",
        "DESCRIBE",
        "CREATE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        pattern="PREFIXED",
    )
    grants.append(Grant(user, "GROUP", app_id, "LITERAL", "READ"))
    grants += [Grant(user, "TRANSACTIONAL_ID", f"{app_id}-", "PREFIXED", op) for op in ("WRITE", "DESCRIBE")]
    return grants


def sink_grants(topics: TopicSettings, app_id: str, user: str = SINK_USER) -> list[Grant]:
    grants: list[Grant] = []
    for name in (topics.steps, topics.status, topics.trace, topics.alerts, topics.deadletter, topics.feedback):
        grants += _topic(user, name, "READ", "DESCRIBE")
    grants.append(Grant(user, "GROUP", f"{app_id}-influx-sink", "LITERAL", "READ"))
    return grants


def dispatcher_grants(topics: TopicSettings, group: str = DISPATCHER_GROUP, user: str = DISPATCHER_USER) -> list[Grant]:
    return [*_topic(user, topics.alerts, "READ", "DESCRIBE"), Grant(user, "GROUP", group, "LITERAL", "READ")]


def feedback_grants(topics: TopicSettings, user: str = FEEDBACK_USER) -> list[Grant]:
    """The screens' service reads what the screens show and writes what they showed; it consumes
    without a group (every instance sees every station), so it needs no group ACL."""
    return [
        *_topic(user, topics.steps, "READ", "DESCRIBE"),
        *_topic(user, topics.trace, "READ", "DESCRIBE"),
        *_topic(user, topics.feedback, "WRITE", "DESCRIBE"),
    ]


def report_grants(topics: TopicSettings, group: str = REPORT_GROUP, user: str = REPORT_USER) -> list[Grant]:
    """Session reports: a session's stop event (on the steps topic) starts one."""
    return [*_topic(user, topics.steps, "READ", "DESCRIBE"), Grant(user, "GROUP", group, "LITERAL", "READ")]


def station_grants(topics: TopicSettings, user: str) -> list[Grant]:
    """A station (or the simulator fleet): write its frames and session events, nothing else."""
    return _topic(user, topics.stations, "WRITE", "DESCRIBE")


def deployment_grants(topics: TopicSettings, app_id: str, dispatcher_group: str = DISPATCHER_GROUP) -> list[Grant]:
    """Every role's grants for one deployment (stations are added one by one)."""
    return [
        *pipeline_grants(topics, app_id),
        *sink_grants(topics, app_id),
        *dispatcher_grants(topics, dispatcher_group),
        *feedback_grants(topics),
        *report_grants(topics),
        *station_grants(topics, SIMULATOR_USER),
    ]
