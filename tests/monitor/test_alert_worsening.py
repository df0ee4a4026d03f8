"""Worsening against the patient's own previous sessions: summaries, history, baseline, rule."""

from __future__ import annotations

import json

import pytest

from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.rolling import RollingStatus
from gaitstream.monitor.worsening import (
    SessionDistribution,
    Worsening,
    append_history,
    baseline_from_history,
    history_key,
)
from gaitstream.schemas.codec import decode, encode

SESSION = {
    "clinic_id": "c",
    "station_id": "st-1",
    "session_id": "s-9",
    "patient_id": "p-1",
    "time_us": 5_000_000,
    "trunk_present": False,
    "pelvic_drop_threshold_deg": 9.0,
    "trunk_lean_threshold_deg": 9.0,
    "min_steps_per_side": 10,
}


def step(i: int, side: str, drop: float, lean: float | None = None) -> dict:
    return {
        "step_index": i,
        "side": side,
        "pelvic_drop_deg": drop,
        "trunk_lean_deg": lean,
        "step_time_s": 0.55,
        "end_time_us": SESSION["time_us"] + 550_000 * (i + 1),
    }


def summary(session_id: str, start_us: int, left: float, right: float, steps: int = 100) -> dict:
    return {
        "session_id": session_id,
        "station_id": "st-1",
        "start_time_us": start_us,
        "stop_time_us": start_us + 1,
        "steps_left": steps,
        "steps_right": steps,
        "pelvic_drop_deg_median_left": left,
        "pelvic_drop_deg_median_right": right,
        "trunk_lean_deg_median_left": None,
        "trunk_lean_deg_median_right": None,
    }


def history(*medians_left: float) -> dict:
    out = None
    for k, left in enumerate(medians_left):
        out = append_history(out, SESSION, summary(f"s-{k}", k, left, 3.0), keep=5)
    return out


def test_session_distribution_median_matches_the_exact_median_within_half_a_bin() -> None:
    dist = SessionDistribution()
    values = [3.0 + 0.37 * ((k * 7) % 11) for k in range(101)]
    for k, v in enumerate(values):
        dist.add(step(k, "left", v))
    import statistics

    assert dist.median("pelvic_drop_deg", "left") == pytest.approx(statistics.median(values), abs=0.05)
    assert dist.steps("left") == 101 and dist.median("pelvic_drop_deg", "right") is None
    again = SessionDistribution.from_json(json.loads(json.dumps(dist.to_json())))
    assert again.summary(SESSION, 9) == dist.summary(SESSION, 9)


def test_history_keeps_the_last_sessions_and_a_replayed_stop_replaces_its_own() -> None:
    h = history(3.0, 3.2, 2.8, 3.1, 3.0, 2.9, 3.3)
    assert [s["session_id"] for s in h["sessions"]] == ["s-2", "s-3", "s-4", "s-5", "s-6"]
    h2 = append_history(h, SESSION, summary("s-6", 6, 9.9, 3.0), keep=5)
    assert [s["session_id"] for s in h2["sessions"]] == ["s-2", "s-3", "s-4", "s-5", "s-6"]
    assert h2["sessions"][-1]["pelvic_drop_deg_median_left"] == 9.9
    assert decode(encode("session_history", h2))[1] == h2
    assert history_key("c", "p-1") == "c/p-1"


def test_baseline_is_the_median_of_previous_medians_and_needs_enough_sessions() -> None:
    settings = AlertSettings()
    assert baseline_from_history(history(3.0), settings) == {}  # one session: no baseline (min 2)
    base = baseline_from_history(history(3.0, 4.0, 3.4), settings)
    assert base == {"pelvic_drop_deg:left": 3.4, "pelvic_drop_deg:right": 3.0}
    # the current session is not its own baseline; short sessions do not count
    h = append_history(history(3.0, 4.0), SESSION, summary("s-9", 99, 8.0, 3.0), keep=5)
    assert baseline_from_history(h, settings, before_session="s-9")["pelvic_drop_deg:left"] == 3.5
    h = append_history(history(3.0, 4.0), SESSION, summary("short", 98, 8.0, 3.0, steps=5), keep=5)
    assert baseline_from_history(h, settings)["pelvic_drop_deg:left"] == 3.5


def feed(rule, drops_left: list[float], start: int = 0) -> list[dict]:
    out = []
    for k, drop in enumerate(drops_left, start):
        out += rule.add_step(step(2 * k, "left", drop))
        out += rule.add_step(step(2 * k + 1, "right", 3.0))
    return out


def test_worsening_opens_once_resolves_once_and_does_not_flap_at_the_margin() -> None:
    rule = Worsening(session=SESSION, baseline={"pelvic_drop_deg:left": 3.0, "pelvic_drop_deg:right": 3.0})
    # Half the window bad: median 4.5, excess 1.5 < 2.0; then worse (opens once), then hovering
    # between the margins (median 4.8, excess 1.8: stays open), then back near the baseline.
    assert feed(rule, [3.0] * 25 + [6.0] * 10) == []
    alerts = feed(rule, [6.0] * 5 + [4.5, 5.1] * 20 + [3.2] * 30, start=35)
    assert [(a["state"], a["side"], a["kind"]) for a in alerts] == [
        ("open", "left", "worsening"),
        ("resolved", "left", "worsening"),
    ]
    opened, resolved = alerts
    assert opened["alert_id"] == resolved["alert_id"] == f"s-9:worsening:left:pelvic_drop_deg:step{opened_step(opened)}"
    assert opened["baseline"] == 3.0 and opened["value"] == 6.0 and opened["threshold"] == 5.0
    assert opened["metric"] == "pelvic_drop_deg_median" and "3.0 deg above" in opened["message"]
    assert decode(encode("alert", opened))[1]["baseline"] == 3.0


def opened_step(alert: dict) -> int:
    return int(alert["alert_id"].rsplit("step", 1)[1])


def test_exactly_at_the_open_margin_opens_and_no_baseline_means_no_rule() -> None:
    rule = Worsening(session=SESSION, baseline={"pelvic_drop_deg:left": 3.0})
    assert [a["state"] for a in feed(rule, [5.0] * 20)] == ["open"]
    rule = Worsening(session=SESSION, baseline={})
    assert feed(rule, [15.0] * 40) == []


def test_rolling_status_runs_the_rule_with_its_settings_and_summarises_the_session() -> None:
    settings = AlertSettings(worsening_open_margin_deg=1.5, worsening_resolve_margin_deg=0.5, worsening_min_steps=10)
    rolling = RollingStatus(session=SESSION, settings=settings, baseline={"pelvic_drop_deg:left": 3.0})
    alerts = []
    for k in range(30):
        for rec in (step(2 * k, "left", 4.6), step(2 * k + 1, "right", 3.0)):
            assert rolling.add(rec)
            alerts += rolling.evaluate_alerts(rec)
    assert [(a["state"], a["kind"]) for a in alerts] == [("open", "worsening")]
    restored = RollingStatus.from_json(json.loads(json.dumps(rolling.to_json())))
    assert restored.settings == settings and restored.worsening.baseline == {"pelvic_drop_deg:left": 3.0}
    assert restored.evaluate_alerts(step(60, "left", 4.6)) == []  # still open after the restore
    (resolved,) = restored.close(77)
    assert resolved["alert_id"] == alerts[0]["alert_id"] and resolved["state"] == "resolved"
    s = restored.summary(99)
    assert (s["steps_left"], s["steps_right"]) == (30, 30)
    assert s["pelvic_drop_deg_median_left"] == pytest.approx(4.6) and s["pelvic_drop_deg_median_right"] == 3.0


def test_old_rolling_values_restore_with_defaults() -> None:
    rolling = RollingStatus(session=SESSION)
    value = rolling.to_json()
    for key in ("alert_settings", "worsening", "distribution"):
        value.pop(key)
    again = RollingStatus.from_json(value)
    assert again.settings == AlertSettings() and again.worsening.baseline == {}


def test_lookup_reads_the_tables_bytes_and_skips_too_short_sessions() -> None:
    from gaitstream.monitor import lookup
    from gaitstream.monitor.alert_settings import settings_key, settings_record

    table = {
        settings_key("c").encode(): encode(
            "alert_settings", settings_record("c", updated_us=1, baseline_min_sessions=1)
        ),
        settings_key("c", "p-1").encode(): b"garbage",
    }  # unreadable: logged, the clinic's settings apply
    settings = lookup.session_settings(table.get, SESSION)
    assert settings.baseline_min_sessions == 1
    assert lookup.next_history(table.get, SESSION, summary("s-9", 9, 3.0, 3.0, steps=5), settings) is None
    key, value = lookup.next_history(table.get, SESSION, summary("s-9", 9, 3.0, 3.2), settings)
    table[key] = value
    assert key == b"c/p-1" and lookup.session_baseline(table.get, {**SESSION, "session_id": "s-10"}, settings) == {
        "pelvic_drop_deg:left": 3.0,
        "pelvic_drop_deg:right": 3.2,
    }
