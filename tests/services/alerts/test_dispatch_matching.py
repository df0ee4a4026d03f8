"""Pure dispatch decisions: filters, mutes, quiet hours (zones, midnight wrap, DST), reminders,
backoff, messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from gaitstream.services.alerts.dispatch.matching import decide, matches, quiet_hours_end
from gaitstream.services.alerts.dispatch.messages import render_alert, render_digest
from gaitstream.services.alerts.dispatch.sender import backoff_s

UTC = timezone.utc


def alert(**overrides):
    fields = dict(
        alert_id="s1:pelvic_drop_sustained:left:1",
        state="open",
        kind="pelvic_drop_sustained",
        severity="warning",
        clinic_id="c1",
        station_id="st1",
        session_id="s1",
        patient_id="p1",
        side="left",
        value=7.5,
        threshold=6.0,
        message="sustained pelvic drop",
        dashboard_url="http://g/d/x",
        opened_at_us=1_700_000_000_000_000,
        resolved_at_us=None,
        acknowledged_at=None,
        metric="pelvic_drop_deg_median",
        baseline=None,
        sensor=None,
        fault=None,
        resolve_message=None,
    )
    return SimpleNamespace(**(fields | overrides))


def subscription(**overrides):
    fields = dict(
        id=1,
        supervisor_id=10,
        clinic_id="c1",
        station_id=None,
        patient_id=None,
        kinds=None,
        min_severity="warning",
        enabled=True,
        quiet_start=None,
        quiet_end=None,
        timezone="UTC",
        muted_until=None,
    )
    return SimpleNamespace(**(fields | overrides))


def mute(**overrides):
    fields = dict(
        id=5,
        supervisor_id=10,
        clinic_id="c1",
        station_id=None,
        patient_id=None,
        kind=None,
        alert_id=None,
        until=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return SimpleNamespace(**(fields | overrides))


NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        (subscription(), True),
        (subscription(clinic_id="c2"), False),
        (subscription(station_id="st1"), True),
        (subscription(station_id="st2"), False),
        (subscription(patient_id="p2"), False),
        (subscription(kinds=["trunk_lean_sustained"]), False),
        (subscription(kinds=["trunk_lean_sustained", "pelvic_drop_sustained"]), True),
        (subscription(min_severity="critical"), False),
        (subscription(min_severity="info"), True),
        (subscription(enabled=False), False),
    ],
)
def test_filters(sub, expected):
    assert matches(alert(), sub) is expected


def test_resolve_without_its_open_matches_on_filters_only():
    resolve = alert(state="resolved", severity="info")
    assert not matches(resolve, subscription())
    assert matches(resolve, subscription(), ignore_severity=True)
    assert not matches(resolve, subscription(station_id="other"), ignore_severity=True)


@pytest.mark.parametrize(
    ("the_mute", "muted"),
    [
        (mute(), True),  # the whole clinic
        (mute(station_id="st1"), True),
        (mute(station_id="st2"), False),
        (mute(kind="pelvic_drop_sustained", patient_id="p1"), True),
        (mute(kind="trunk_lean_sustained"), False),
        (mute(alert_id="other"), False),
        (mute(supervisor_id=11), False),  # someone else's mute
        (mute(until=NOW - timedelta(seconds=1)), False),  # expired
    ],
)
def test_mutes_suppress_even_critical(the_mute, muted):
    decision = decide(alert(severity="critical"), subscription(), [the_mute], NOW, state_change="open")
    assert (decision.action == "suppress") is muted
    if muted:
        assert decision.reason == f"muted:{the_mute.id}"


def test_subscription_muted_until():
    assert (
        decide(alert(), subscription(muted_until=NOW + timedelta(minutes=1)), [], NOW, state_change="open").reason
        == "subscription_muted"
    )
    assert (
        decide(alert(), subscription(muted_until=NOW - timedelta(minutes=1)), [], NOW, state_change="open").action
        == "deliver"
    )


@pytest.mark.parametrize(
    ("start", "end", "local_now", "end_local"),
    [
        ("22:00", "06:30", "23:15", "06:30+1"),  # wraps midnight, evening side
        ("22:00", "06:30", "02:00", "06:30"),  # wraps midnight, morning side
        ("22:00", "06:30", "06:30", None),  # end is exclusive
        ("22:00", "06:30", "21:59", None),
        ("12:00", "14:00", "13:00", "14:00"),
        ("12:00", "14:00", "14:01", None),
        ("08:00", "08:00", "08:00", None),  # start == end: no quiet hours
    ],
)
def test_quiet_hours_in_the_subscriptions_zone(start, end, local_now, end_local):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    hours, minutes = map(int, local_now.split(":"))
    now = datetime(2026, 1, 15, hours, minutes, tzinfo=zone).astimezone(UTC)
    got = quiet_hours_end(subscription(quiet_start=start, quiet_end=end, timezone="Europe/Berlin"), now)
    if end_local is None:
        assert got is None
        return
    day = 16 if end_local.endswith("+1") else 15
    eh, em = map(int, end_local.removesuffix("+1").split(":"))
    assert got == datetime(2026, 1, day, eh, em, tzinfo=zone).astimezone(UTC)


def test_quiet_hours_across_a_dst_change():
    # Night of 28->29 March 2026 in Berlin: clocks jump 02:00 -> 03:00; 06:00 CEST is 04:00 UTC.
    sub = subscription(quiet_start="22:00", quiet_end="06:00", timezone="Europe/Berlin")
    now = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 CET
    assert quiet_hours_end(sub, now) == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


def test_quiet_hours_defer_non_critical_and_let_critical_through():
    sub = subscription(quiet_start="11:00", quiet_end="13:00")
    deferred = decide(alert(), sub, [], NOW, state_change="open")
    assert (deferred.action, deferred.reason, deferred.until) == (
        "defer",
        "quiet_hours",
        datetime(2026, 6, 10, 13, 0, tzinfo=UTC),
    )
    assert decide(alert(severity="critical"), sub, [], NOW, state_change="open").action == "deliver"
    # The resolve of a critical alert (the row keeps the opening severity) goes at once too.
    assert (
        decide(alert(severity="critical", state="resolved"), sub, [], NOW, state_change="resolved").action == "deliver"
    )
    assert decide(alert(state="resolved"), sub, [], NOW, state_change="resolved").action == "defer"


def test_reminders_stop_at_ack_or_resolve():
    assert decide(alert(), subscription(), [], NOW, state_change="repeat-2").action == "deliver"
    assert decide(alert(acknowledged_at=NOW), subscription(), [], NOW, state_change="repeat-2").reason == "acknowledged"
    assert decide(alert(state="resolved"), subscription(), [], NOW, state_change="repeat-2").reason == "resolved"


def test_bad_quiet_hours_name_the_value():
    with pytest.raises(ValueError, match="'25:00'"):
        quiet_hours_end(subscription(quiet_start="25:00", quiet_end="06:00"), NOW)


def test_backoff_grows_caps_and_jitters():
    low = [backoff_s(n, base_s=5, max_s=60, rand=lambda: 0.0) for n in range(1, 7)]
    high = [backoff_s(n, base_s=5, max_s=60, rand=lambda: 1.0) for n in range(1, 7)]
    assert low == [2.5, 5.0, 10.0, 20.0, 30.0, 30.0]
    assert high == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_messages_carry_what_a_supervisor_needs():
    message = render_alert(42, "open", alert())
    for text in ("pelvic_drop_sustained", "warning", "st1", "p1", "7.5", "6.0", "http://g/d/x"):
        assert text in message.title + message.text
    assert message.payload["delivery_id"] == 42 and message.payload["alert"]["state"] == "open"
    reminder = render_alert(43, "repeat-2", alert())
    assert reminder.payload["event"] == "reminder" and "reminder 2" in reminder.text
    assert "pelvic_drop_deg_median: 7.5" in message.text
    resolved = render_alert(
        44, "resolved", alert(state="resolved", resolved_at_us=1_700_000_090_000_000, resolve_message="session ended")
    )
    assert "open 1.5 min): session ended" in resolved.text
    fault = render_alert(
        46,
        "open",
        alert(kind="sensor_fault", sensor="pelvis.acc_z", fault="flat_signal", value=None, threshold=None, metric=None),
    )
    assert "sensor: pelvis.acc_z   fault: flat signal" in fault.text and "threshold" not in fault.text
    worse = render_alert(47, "open", alert(kind="worsening", baseline=4.2))
    assert "patient's baseline: 4.2" in worse.text and worse.payload["alert"]["baseline"] == 4.2
    digest = render_digest(45, [("open", alert()), ("open", alert(severity="critical", station_id="st9"))])
    assert digest.severity == "critical" and digest.payload["items"][0]["alert"]["station_id"] == "st9"
    assert "2 alert messages" in digest.title


def test_an_alert_links_its_session_report_when_the_apis_public_url_is_known():
    linked = render_alert(48, "open", alert(), public_url="https://alerts.clinic.example/")
    assert (
        "session report (once the session stops): https://alerts.clinic.example/v1/clinics/"
        f"{alert().clinic_id}/sessions/{alert().session_id}/report.html"
    ) in linked.text
    assert "session report" not in render_alert(48, "open", alert()).text
