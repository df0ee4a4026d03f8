"""Alert rules: open once, resolve once (hysteresis), stable ids, wire-valid records."""

from __future__ import annotations

import pytest

from gaitstream.monitor.rules import AlertSettings, StationSilence, SustainedDeviation
from gaitstream.schemas.codec import decode, encode

SESSION = {
    "clinic_id": "c",
    "station_id": "st-1",
    "session_id": "s-1",
    "patient_id": "p-1",
    "pelvic_drop_threshold_deg": 5.0,
    "trunk_lean_threshold_deg": 5.0,
}


def step(i: int, side: str, drop: float, lean: float | None = None) -> dict:
    return {
        "step_index": i,
        "side": side,
        "pelvic_drop_deg": drop,
        "trunk_lean_deg": lean,
        "end_time_us": 1_000_000 * (i + 1),
    }


def feed(rule: SustainedDeviation, drops_left: list[float]) -> list[dict]:
    """Alternate left steps with the given drops and normal right steps."""
    out = []
    for k, drop in enumerate(drops_left):
        out += rule.add_step(step(2 * k, "left", drop))
        out += rule.add_step(step(2 * k + 1, "right", 2.0))
    return out


def test_sustained_drop_opens_once_and_resolves_once_with_the_same_id() -> None:
    rule = SustainedDeviation(session=SESSION, metric="pelvic_drop_deg")
    # 20 bad left steps (opens when the window is full), then hovering around 70 % (no flapping),
    # then 20 good ones (resolves once at <= 50 %).
    hovering = [8.0 if k % 10 < 7 else 3.0 for k in range(40)]
    alerts = feed(rule, [8.0] * 20 + hovering + [3.0] * 20)
    assert [a["state"] for a in alerts] == ["open", "resolved"]
    opened, resolved = alerts
    assert opened["side"] == resolved["side"] == "left" and opened["kind"] == "pelvic_drop_sustained"
    assert opened["alert_id"] == resolved["alert_id"]
    assert opened["value"] == 1.0 and opened["threshold"] == 5.0
    assert "20 of the last 20 left stance steps" in opened["message"]
    for record in alerts:
        assert decode(encode("alert", record))[1]["alert_id"] == record["alert_id"]


def test_the_other_side_and_short_windows_do_not_alert() -> None:
    rule = SustainedDeviation(session=SESSION, metric="pelvic_drop_deg")
    assert feed(rule, [8.0] * 19) == []  # window not full yet
    rule = SustainedDeviation(session=SESSION, metric="pelvic_drop_deg")
    assert feed(rule, [2.0] * 40) == []


def test_patient_threshold_and_trunk_lean_without_a_trunk_sensor() -> None:
    rule = SustainedDeviation(session={**SESSION, "pelvic_drop_threshold_deg": 9.0}, metric="pelvic_drop_deg")
    assert feed(rule, [8.0] * 30) == []
    lean = SustainedDeviation(session=SESSION, metric="trunk_lean_deg")
    assert [lean.add_step(step(i, "left", 1.0, None)) for i in range(30)] == [[]] * 30
    alerts = [a for i in range(30) for a in lean.add_step(step(i, "right", 1.0, 7.0))]
    assert [(a["state"], a["kind"], a["side"]) for a in alerts] == [("open", "trunk_lean_sustained", "right")]


def test_station_silence_opens_after_the_delay_and_resolves_when_data_returns() -> None:
    rule = StationSilence(
        session=SESSION, settings=AlertSettings(silent_after_s=10.0, dashboard_url="https://grafana.clinic")
    )
    assert rule.check(50_000_000) == []  # no data seen yet: nothing to miss
    assert rule.saw_data(1_000_000) == []
    assert rule.check(10_900_000) == []
    (opened,) = rule.check(11_000_000)
    assert opened["kind"] == "station_silent" and opened["severity"] == "critical"
    assert opened["dashboard_url"].startswith("https://grafana.clinic/d/gaitstream-patient-session?")
    assert rule.check(30_000_000) == []  # stays open, no repeat
    (resolved,) = rule.saw_data(31_000_000)
    assert resolved["state"] == "resolved" and resolved["alert_id"] == opened["alert_id"]
    assert rule.session_stopped(32_000_000) == []


def test_settings_refuse_a_hysteresis_that_would_flap() -> None:
    with pytest.raises(ValueError, match="resolve_fraction"):
        AlertSettings(open_fraction=0.5, resolve_fraction=0.6)


def test_rule_state_round_trips_and_close_resolves_what_is_open() -> None:
    settings = AlertSettings()
    rule = SustainedDeviation(session=SESSION, metric="pelvic_drop_deg", settings=settings)
    (opened,) = feed(rule, [8.0] * 20)
    again = SustainedDeviation.from_json(rule.to_json(), session=SESSION, metric="pelvic_drop_deg", settings=settings)
    assert again.to_json() == rule.to_json()
    assert feed(again, [8.0] * 5) == []  # still open: no second alert
    (resolved,) = again.close(99)
    assert resolved["state"] == "resolved" and resolved["alert_id"] == opened["alert_id"]
    assert resolved["message"] == "session ended" and again.close(100) == []


def test_alert_line_protocol() -> None:
    from gaitstream.pipelines.sink.points import alert_lines

    rule = SustainedDeviation(session=SESSION, metric="pelvic_drop_deg")
    (opened,) = feed(rule, [8.0] * 20)
    (line,) = alert_lines(opened)
    assert line.startswith("gait_alert,clinic=c,patient=p-1,session=s-1,side=left,station=st-1 alert_id=")
    assert 'kind="pelvic_drop_sustained",severity="warning",state="open",' in line
    assert line.endswith(f" {opened['time_us']}")
