"""The frame-level rules together (station silence on the worker's clock, sensor faults on
sample time), as the gait agent drives them, and replays of every rule giving the same ids."""

from __future__ import annotations

import json

import numpy as np

from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.rules import SustainedDeviation
from gaitstream.monitor.watch import SessionWatch
from gaitstream.monitor.worsening import Worsening

SESSION = {
    "clinic_id": "c",
    "station_id": "st-1",
    "session_id": "s-1",
    "patient_id": "p-1",
    "time_us": 1_000_000_000,
    "pelvic_drop_threshold_deg": 5.0,
    "trunk_lean_threshold_deg": 5.0,
}
T0_US = 1_700_000_000_000_000  # the worker's wall clock at the session start


def frame(k: int) -> dict:
    t = (k * 10 + np.arange(10)) / 100.0
    walk = np.stack(
        [
            np.sin(6 * t),
            np.cos(6 * t),
            9.81 + np.sin(12 * t),
            20 * np.sin(6 * t),
            10 * np.cos(6 * t),
            5 * np.sin(12 * t),
        ],
        axis=1,
    )
    return {
        "samples": {"pelvis": walk},
        "sequence": k,
        "first_sample_time_us": SESSION["time_us"] + k * 100_000,
        "sampling_rate_hz": 100.0,
    }


def feed(watch: SessionWatch, frames: range, arrival_us) -> list[dict]:
    out = []
    for k in frames:
        f = frame(k)
        out += watch.on_frame(
            f["samples"],
            sequence=k,
            first_sample_time_us=f["first_sample_time_us"],
            sampling_rate_hz=100.0,
            now_us=arrival_us(k),
        )
    return out


def test_silence_uses_arrival_time_not_sample_time() -> None:
    watch = SessionWatch.start(SESSION, now_us=T0_US)
    # 60 s of samples arrive within 6 s (a replay at 10x): never silent, whatever the sample times say.
    assert feed(watch, range(600), lambda k: T0_US + k * 10_000) == []
    assert watch.check_silence(T0_US + 6_000_000 + 9_900_000) == []
    (opened,) = watch.check_silence(T0_US + 6_000_000 + 10_000_000)
    assert opened["kind"] == "station_silent" and opened["alert_id"] == "s-1:station_silent:-:seq599"
    assert watch.check_silence(T0_US + 30_000_000) == []  # open once
    (resolved,) = feed(watch, range(600, 601), lambda k: T0_US + 31_000_000)
    assert resolved["state"] == "resolved" and resolved["alert_id"] == opened["alert_id"]


def test_a_session_that_never_sends_a_frame_is_silent_and_the_stop_resolves_it() -> None:
    watch = SessionWatch.start(SESSION, now_us=T0_US)
    (opened,) = watch.check_silence(T0_US + 12_000_000)
    assert opened["alert_id"] == "s-1:station_silent:-:seq-1"
    (resolved,) = watch.close(T0_US + 13_000_000)
    assert resolved["alert_id"] == opened["alert_id"] and resolved["message"] == "session ended"


def test_a_restored_watch_gives_the_station_a_full_delay_on_the_new_worker() -> None:
    watch = SessionWatch.start(SESSION, settings=AlertSettings(silent_after_s=5.0), now_us=T0_US)
    feed(watch, range(10), lambda k: T0_US)
    restored = SessionWatch.from_json(json.loads(json.dumps(watch.to_json())), session=SESSION)
    assert restored.settings.silent_after_s == 5.0
    restored.resume(T0_US + 60_000_000)  # restored a minute later on another worker
    assert restored.check_silence(T0_US + 64_000_000) == []
    assert len(restored.check_silence(T0_US + 65_000_000)) == 1


def test_replaying_the_same_steps_gives_the_same_alert_ids() -> None:
    def steps():
        for k in range(120):
            drop = 8.0 if 20 <= k < 70 else 3.0
            yield {
                "step_index": 2 * k,
                "side": "left",
                "pelvic_drop_deg": drop,
                "trunk_lean_deg": None,
                "end_time_us": SESSION["time_us"] + k * 1_100_000,
            }
            yield {
                "step_index": 2 * k + 1,
                "side": "right",
                "pelvic_drop_deg": 3.0,
                "trunk_lean_deg": None,
                "end_time_us": SESSION["time_us"] + k * 1_100_000 + 550_000,
            }

    def run() -> list[tuple[str, str]]:
        rules = [
            SustainedDeviation(session=SESSION, metric="pelvic_drop_deg"),
            Worsening(session=SESSION, baseline={"pelvic_drop_deg:left": 3.0, "pelvic_drop_deg:right": 3.0}),
        ]
        return [(a["alert_id"], a["state"]) for s in steps() for rule in rules for a in rule.add_step(s)]

    first = run()
    assert first == run()
    assert sorted(state for _, state in first) == ["open", "open", "resolved", "resolved"]


def test_a_late_silence_check_means_the_worker_was_paused_not_the_stations() -> None:
    from gaitstream.monitor.watch import worker_was_paused

    assert not worker_was_paused(None, 100.0, interval_s=2.0, grace_s=5.0)  # the first check
    assert not worker_was_paused(100.0, 102.1, interval_s=2.0, grace_s=5.0)  # on time
    assert not worker_was_paused(100.0, 106.9, interval_s=2.0, grace_s=5.0)  # a busy loop, not a pause
    assert worker_was_paused(100.0, 120.0, interval_s=2.0, grace_s=5.0)  # SIGSTOP for 20 s
