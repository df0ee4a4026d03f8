"""frames_refused: a station whose frames keep being refused, not a single bad frame."""

from __future__ import annotations

from gaitstream.monitor.refused import RefusedFrames

IDS = {"clinic_id": "c", "station_id": "s1", "session_id": "x", "patient_id": "p"}
S = 1_000_000


def test_a_single_bad_frame_raises_nothing() -> None:
    watch = RefusedFrames()
    for i in range(4):
        assert watch.refused(IDS, "bad magic byte", time_us=i * 20 * S, mark=str(i)) == []  # 4 in 60 s
    assert watch.refused(IDS, "bad", time_us=200 * S, mark="x") == []  # the old ones left the window


def test_refused_frames_open_once_and_resolve_after_a_quiet_minute() -> None:
    watch = RefusedFrames()
    alerts = [a for i in range(30) for a in watch.refused(IDS, "station clock: ...", time_us=i * S // 10, mark=str(i))]
    (opened,) = alerts
    assert (opened["kind"], opened["state"], opened["station_id"]) == ("frames_refused", "open", "s1")
    assert "station clock" in opened["message"] and opened["alert_id"].endswith(":4")
    assert watch.check(now_us=30 * S) == []
    (resolved,) = watch.check(now_us=63 * S)
    assert resolved["alert_id"] == opened["alert_id"] and resolved["value"] == 30.0
    assert watch.check(now_us=64 * S) == []


def test_stations_are_independent() -> None:
    watch = RefusedFrames(open_after=2)
    assert watch.refused(IDS, "r", time_us=0, mark="0") == []
    assert watch.refused({**IDS, "station_id": "s2"}, "r", time_us=1, mark="1") == []
    (opened,) = watch.refused(IDS, "r", time_us=2, mark="2")
    assert opened["station_id"] == "s1"
