"""Rolling status: last 20 steps per side, replay-safe, classification with session thresholds."""

from __future__ import annotations

import pytest

from gaitstream.monitor.rolling import WINDOW_STEPS_PER_SIDE, RollingStatus

SESSION = {
    "clinic_id": "c",
    "station_id": "s",
    "session_id": "x",
    "patient_id": "p",
    "trunk_present": True,
    "pelvic_drop_threshold_deg": 5.0,
    "trunk_lean_threshold_deg": 5.0,
    "min_steps_per_side": 10,
}


def step(i: int, drop: float, lean: float = 1.0, t: float = 0.55) -> dict:
    return {
        "step_index": i,
        "side": "left" if i % 2 == 0 else "right",
        "pelvic_drop_deg": drop,
        "trunk_lean_deg": lean,
        "step_time_s": t,
    }


def test_window_keeps_the_last_steps_per_side_and_classifies() -> None:
    rolling = RollingStatus(session=SESSION)
    for i in range(60):
        rolling.add(step(i, drop=8.0 if i % 2 == 0 else 3.0))
    rec = rolling.record(123)
    assert rec["steps_left"] == rec["steps_right"] == WINDOW_STEPS_PER_SIDE
    assert rec["pelvic_drop_deg_median_left"] == 8.0 and rec["pelvic_drop_deg_median_right"] == 3.0
    assert rec["classification"] == "trendelenburg_left"
    assert rec["cadence_spm"] == pytest.approx(60 / 0.55)
    assert rec["step_time_asymmetry_pct"] == 0.0


def test_replayed_steps_change_nothing() -> None:
    rolling = RollingStatus(session=SESSION)
    for i in range(10):
        assert rolling.add(step(i, 2.0))
    before = rolling.to_json()
    assert not rolling.add(step(5, 99.0))
    assert rolling.to_json() == before


def test_patient_threshold_override_and_insufficient_data() -> None:
    rolling = RollingStatus(session={**SESSION, "pelvic_drop_threshold_deg": 9.0})
    for i in range(8):
        rolling.add(step(i, 8.0))
    assert rolling.record(1)["classification"] == "insufficient_data"
    for i in range(8, 30):
        rolling.add(step(i, 8.0))
    assert rolling.record(1)["classification"] == "normal"


def test_json_round_trip() -> None:
    rolling = RollingStatus(session=SESSION)
    for i in range(25):
        rolling.add(step(i, 4.0 + i * 0.1, lean=6.0))
    again = RollingStatus.from_json(rolling.to_json())
    assert again.record(5) == rolling.record(5)


def test_status_is_due_once_a_second_or_when_the_label_changes() -> None:
    rolling = RollingStatus(session=SESSION)
    rec = {"time_us": 10_000_000, "classification": "insufficient_data"}
    assert rolling.due(rec)
    assert not rolling.due({**rec, "time_us": 10_500_000})
    assert rolling.due({**rec, "time_us": 10_500_000, "classification": "normal"})
    assert not rolling.due({"time_us": 11_400_000, "classification": "normal"})
    assert rolling.due({"time_us": 11_500_000, "classification": "normal"})
    again = RollingStatus.from_json(rolling.to_json())
    assert not again.due({"time_us": 11_600_000, "classification": "normal"})


def test_status_says_what_the_lean_is_relative_to_and_flags_lean_dependent_labels() -> None:
    rolling = RollingStatus(session=SESSION)
    for i in range(40):
        rolling.add(step(i, drop=3.0))
    walking = rolling.record(1, lean_reference="walking")
    assert walking["classification"] == "normal" and walking["trunk_lean_reference"] == "walking"
    assert walking["classification_flags"] == ["trunk_lean_reference_walking"]
    standing = rolling.record(2, lean_reference="standing")
    assert standing["classification_flags"] == [] and standing["trunk_lean_reference"] == "standing"
    no_trunk = RollingStatus(session={**SESSION, "trunk_present": False})
    for i in range(40):
        no_trunk.add(step(i, drop=3.0))
    rec = no_trunk.record(3, lean_reference=None)
    assert rec["trunk_lean_reference"] is None and rec["classification_flags"] == []
