"""Each role's ACLs (pure): exactly what its job needs."""

from __future__ import annotations

import pytest

from gaitstream.access.principals import (
    dispatcher_grants,
    pipeline_grants,
    report_grants,
    sink_grants,
    station_grants,
    station_user,
)
from gaitstream.settings import TopicSettings

TOPICS = TopicSettings(prefix="gs")


def _ops(grants, user=None):
    return {(g.resource, g.name, g.pattern, g.operation) for g in grants if user is None or g.user == user}


def test_a_station_may_write_its_topic_and_nothing_else() -> None:
    grants = station_grants(TOPICS, station_user("tm-01"))
    assert _ops(grants) == {
        ("TOPIC", "gs.stations.v1", "LITERAL", "WRITE"),
        ("TOPIC", "gs.stations.v1", "LITERAL", "DESCRIBE"),
    }
    assert {g.user for g in grants} == {"station-tm-01"}


@pytest.mark.parametrize("bad", ["", "a b", "x" * 64, "st/1", "st:1", "-lead", "ünï"])
def test_station_ids_that_cannot_name_a_user_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="station id"):
        station_user(bad)


def test_the_pipeline_reads_frames_but_never_writes_them() -> None:
    ops = _ops(pipeline_grants(TOPICS, "app"))
    assert ("TOPIC", "gs.stations.v1", "LITERAL", "READ") in ops
    assert ("TOPIC", "gs.stations.v1", "LITERAL", "WRITE") not in ops
    assert ("TOPIC", "gs.alert-settings.v1", "LITERAL", "WRITE") not in ops  # settings come from the operator
    assert ("TOPIC", "gs.session-history.v1", "LITERAL", "WRITE") in ops
    assert ("GROUP", "app", "LITERAL", "READ") in ops
    assert not any(op[3] in ("DELETE", "ALTER") for op in ops)
    # Its only prefixed grants are its own changelogs and transactional ids.
    assert {op[1] for op in ops if op[2] == "PREFIXED"} == {"app-"}


def test_the_sink_and_the_dispatcher_only_read() -> None:
    sink = _ops(sink_grants(TOPICS, "app"))
    assert {op[3] for op in sink} == {"READ", "DESCRIBE"}
    assert ("TOPIC", "gs.stations.v1", "LITERAL", "READ") not in sink
    assert ("GROUP", "app-influx-sink", "LITERAL", "READ") in sink
    dispatcher = _ops(dispatcher_grants(TOPICS, "dispatch-group"))
    assert dispatcher == {
        ("TOPIC", "gs.alerts.v1", "LITERAL", "READ"),
        ("TOPIC", "gs.alerts.v1", "LITERAL", "DESCRIBE"),
        ("GROUP", "dispatch-group", "LITERAL", "READ"),
    }


def test_the_reports_read_the_steps_topic_and_nothing_else() -> None:
    assert _ops(report_grants(TOPICS, "report-group")) == {
        ("TOPIC", "gs.steps.v1", "LITERAL", "READ"),
        ("TOPIC", "gs.steps.v1", "LITERAL", "DESCRIBE"),
        ("GROUP", "report-group", "LITERAL", "READ"),
    }
