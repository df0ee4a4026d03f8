"""When reports are due (pure), what counts as a stop, the programme read from the API's history."""

from __future__ import annotations

from datetime import UTC, datetime

from gaitstream.schemas.codec import encode
from gaitstream.services.report.programme_source import programme_from_history
from gaitstream.services.report.service import DueReports, stopped_session

EVENT = {
    "clinic_id": "c1",
    "station_id": "st-1",
    "session_id": "s-1",
    "patient_id": "p-1",
    "event": "stop",
    "time_us": 1_000_000,
    "sampling_rate_hz": 100.0,
    "sensor_axes": "x=up,y=right,z=forward",
    "trunk_present": False,
    "pelvic_drop_threshold_deg": 5.0,
    "trunk_lean_threshold_deg": 5.0,
    "min_steps_per_side": 10,
}


def test_a_report_is_due_settle_s_after_its_stop_and_retried_until_its_attempts_are_spent() -> None:
    due = DueReports(settle_s=10.0, attempts=2)
    due.stopped("a", now_s=0.0)
    due.stopped("b", now_s=5.0)
    assert due.ready(9.9) == [] and due.ready(10.0) == ["a"] and due.ready(15.0) == ["a", "b"]
    due.done("a")
    assert due.failed("b", now_s=15.0) is True and due.ready(24.9) == [] and due.ready(25.0) == ["b"]
    assert due.failed("b", now_s=25.0) is False and len(due) == 0


def test_a_stop_restarts_the_wait_of_a_session_stopped_again() -> None:
    due = DueReports(settle_s=10.0, attempts=3)
    due.stopped("a", now_s=0.0)
    due.stopped("a", now_s=8.0)
    assert due.ready(10.0) == [] and due.ready(18.0) == ["a"]


def test_only_a_stop_event_names_a_session() -> None:
    assert stopped_session(encode("session_event", EVENT)) == "s-1"
    assert stopped_session(encode("session_event", {**EVENT, "event": "start"})) is None
    assert stopped_session(b"not avro") is None


def test_the_current_phase_runs_since_its_first_revision() -> None:
    revisions = [
        {"phase": "activation", "sides": ["left"], "target_pelvic_drop_deg": 2.0, "created_at": "2026-11-01T10:00:00Z"},
        {"phase": "retraining", "sides": ["left"], "target_pelvic_drop_deg": 2.0, "created_at": "2026-11-20T10:00:00Z"},
        {
            "phase": "retraining",
            "sides": ["left"],
            "target_pelvic_drop_deg": 3.0,
            "feedback_plan": "none:2m,faded:10m,none:2m",
            "created_at": "2026-11-27T10:00:00+00:00",
        },
    ]
    programme = programme_from_history(revisions)
    assert programme.phase == "retraining" and programme.target_pelvic_drop_deg == 3.0
    assert programme.phase_since == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert programme.feedback_plan == "none:2m,faded:10m,none:2m" and programme.sides == ("left",)
    assert programme_from_history([]) is None


def test_the_suggestion_is_a_start_without_a_programme_and_the_rules_next_step_with_one() -> None:
    from dataclasses import replace

    from gaitstream.services.programme.suggest import load_rules
    from gaitstream.services.report.figures import session_figures
    from gaitstream.services.report.make import Programme, suggestion_for
    from tests.report.crafted import T0_US, crafted_record

    rules = load_rules()
    days = [session_figures(crafted_record(session_id=f"s{i}", start_us=T0_US + i * 86_400_000_000)) for i in range(4)]
    start = suggestion_for(rules, days[-1], days, None)
    assert start.rule == "start" and start.propose["phase"] == "activation" and start.propose["sides"] == ["left"]
    since = datetime.fromtimestamp(days[0].started_us / 1e6, UTC)
    activation = Programme("activation", ("left",), 2.0, None, phase_since=since)
    assert suggestion_for(rules, days[-1], days, activation).rule == "to-strengthening"  # 4 sessions in phase
    later = replace(activation, phase_since=datetime.fromtimestamp(days[2].started_us / 1e6, UTC))
    assert suggestion_for(rules, days[-1], days, later) is None  # 2 sessions in phase: nothing yet
