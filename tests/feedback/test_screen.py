"""One station's screen from the pipeline's records (pure)."""

from __future__ import annotations

from gaitstream.services.feedback.screen import StationScreen

T0_US = 1_800_000_000_000_000


def _start(plan: str | None, *, trunk: bool = False, target: float | None = 2.0) -> dict:
    return {
        "station_id": "tm-01",
        "session_id": "s1",
        "event": "start",
        "time_us": T0_US,
        "clinic_id": "c1",
        "patient_id": "p-0042",
        "trunk_present": trunk,
        "feedback_plan": plan,
        "target_pelvic_drop_deg": target,
    }


def _step(i: int, drop: float, end_s: float, side: str | None = None) -> dict:
    return {
        "session_id": "s1",
        "step_index": i,
        "side": side or ("left" if i % 2 == 0 else "right"),
        "pelvic_drop_deg": drop,
        "trunk_lean_deg": 1.5,
        "end_time_us": T0_US + round(end_s * 1e6),
    }


def _trace(start_s: float, values: list[float]) -> dict:
    return {
        "session_id": "s1",
        "first_time_us": T0_US + round(start_s * 1e6),
        "time_offsets_us": [i * 50_000 for i in range(len(values))],
        "pelvic_obliquity_deg": values,
        "trunk_lateral_lean_deg": None,
    }


def _states(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["block"], m["feedback"]) for m in messages if m["kind"] == "state"]


def test_continuous_shows_the_live_pelvis_and_every_step_and_no_patient_id() -> None:
    screen = StationScreen("tm-01")
    out = screen.on_record("session_event", _start("continuous:60s"))
    assert out[0]["band_deg"] == [0.0, 4.0] and _states(out) == [("continuous", "on")]
    live = screen.on_record("obliquity_trace", _trace(1.0, [1.25, -0.5]))
    assert [m["pelvic_obliquity_deg"] for m in live] == [1.25, -0.5]
    step = screen.on_record("step_metrics", _step(0, 3.456, 2.0))
    assert step == [
        {
            "kind": "step",
            "step_index": 0,
            "side": "left",
            "end_time_us": T0_US + 2_000_000,
            "pelvic_drop_deg": 3.456,
            "trunk_lean_deg": 1.5,
            "summary": None,
            "block": "continuous",
        }
    ]
    everything = out + live + step + screen.snapshot()
    assert "p-0042" not in repr(everything)


def test_bandwidth_hides_in_band_steps_and_the_live_pelvis() -> None:
    screen = StationScreen("tm-01")
    screen.on_record("session_event", _start("bandwidth:60s:tol=1"))
    assert screen.on_record("obliquity_trace", _trace(1.0, [1.0])) == []
    inside = screen.on_record("step_metrics", _step(0, 2.5, 2.0))
    assert inside == []
    outside = screen.on_record("step_metrics", _step(1, 4.0, 2.5))
    assert [m["kind"] for m in outside] == ["step", "state"] and _states(outside) == [("bandwidth", "on")]
    back = screen.on_record("step_metrics", _step(2, 2.2, 3.0))
    assert _states(back) == [("bandwidth", "off")]


def test_a_probe_then_feedback_then_a_probe_follow_data_time() -> None:
    screen = StationScreen("tm-01")
    first = screen.on_record("session_event", _start("none:10s,continuous:10s,none:10s"))
    assert _states(first) == [("none", "off")]
    assert screen.on_record("step_metrics", _step(0, 5.0, 5.0)) == []
    entering = screen.on_record("obliquity_trace", _trace(9.95, [0.1, 0.2, 0.3]))
    assert _states(entering) == [("continuous", "on")]
    assert [m["pelvic_obliquity_deg"] for m in entering if m["kind"] == "live"] == [0.2, 0.3]
    leaving = screen.on_record("obliquity_trace", _trace(19.95, [0.1, 0.2]))
    assert _states(leaving) == [("none", "off")]
    assert [m["pelvic_obliquity_deg"] for m in leaving if m["kind"] == "live"] == [0.1]  # 19.95 s: still shown


def test_a_summary_shows_averages_for_a_while_then_goes_off() -> None:
    screen = StationScreen("tm-01")
    screen.on_record("session_event", _start("summary:60s:n=2"))
    assert screen.on_record("step_metrics", _step(0, 2.0, 1.0)) == []
    shown = screen.on_record("step_metrics", _step(1, 4.0, 1.5))
    assert shown[0]["summary"] == {"left": 2.0, "right": 4.0} and shown[0]["pelvic_drop_deg"] is None
    assert _states(shown) == [("summary", "on")]
    assert _states(screen.on_record("obliquity_trace", _trace(3.0, [0.0]))) == []
    assert _states(screen.on_record("obliquity_trace", _trace(5.6, [0.0]))) == [("summary", "off")]


def test_no_plan_shows_no_cues_and_other_sessions_records_are_ignored() -> None:
    screen = StationScreen("tm-01")
    assert _states(screen.on_record("session_event", _start(None))) == [("none", "off")]
    assert screen.on_record("step_metrics", _step(0, 9.0, 1.0)) == []
    assert screen.on_record("step_metrics", {**_step(1, 9.0, 1.5), "session_id": "other"}) == []
    stop = screen.on_record("session_event", {**_start(None), "event": "stop"})
    assert stop[0] == {"kind": "session", "active": False}
