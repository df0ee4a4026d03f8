"""Sensor faults: saturation, flat signal and dropped frames open once, resolve once, replay
to the same ids, and cost one judgement per second of data."""

from __future__ import annotations

import numpy as np

from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.sensor import SensorHealth
from gaitstream.schemas.codec import decode, encode

RATE_HZ = 100.0
FRAME = 10
SESSION = {"clinic_id": "c", "station_id": "st-1", "session_id": "s-1", "patient_id": "p-1", "time_us": 1_000_000_000}


def walking(t_s: np.ndarray) -> np.ndarray:
    """(n, 6): a 0.9 Hz stride rhythm on every axis, gravity on z, a little noise."""
    rng = np.random.default_rng(int(t_s[0] * 1000))
    w = 2 * np.pi * 0.9 * t_s
    acc = np.stack([1.5 * np.sin(2 * w), 1.0 * np.sin(w), 9.81 + 2.0 * np.cos(2 * w)], axis=1)
    gyr = np.stack([20 * np.sin(w), 10 * np.cos(w), 15 * np.sin(2 * w)], axis=1)
    return np.hstack([acc, gyr]) + rng.normal(0, 0.02, (len(t_s), 6))


def run(health: SensorHealth, duration_s: float, *, fault=None, skip=None, start_frame: int = 0) -> list[dict]:
    """Feed frames from ``start_frame``; ``fault(t_s, data)`` edits samples, ``skip(k)`` drops frame k."""
    out = []
    for k in range(start_frame, int(duration_s * RATE_HZ / FRAME)):
        if skip is not None and skip(k):
            continue
        t_s = (k * FRAME + np.arange(FRAME)) / RATE_HZ
        data = walking(t_s)
        if fault is not None:
            fault(t_s, data)
        out += health.observe(
            {"pelvis": data},
            sequence=k,
            first_sample_time_us=SESSION["time_us"] + k * 100_000,
            sampling_rate_hz=RATE_HZ,
        )
    return out


def states(alerts: list[dict]) -> list[tuple]:
    return [(a["state"], a["fault"], a["sensor"]) for a in alerts]


def test_healthy_walking_raises_nothing() -> None:
    assert run(SensorHealth(session=SESSION), 60.0) == []


def test_saturation_opens_once_and_resolves_after_healthy_data() -> None:
    settings = AlertSettings(acc_full_scale_mps2=40.0)

    def clip(t_s, data):  # 10-20 s: every 20th sample pinned at full scale on acc z
        if 10.0 <= t_s[0] < 20.0:
            data[::5, 2] = 40.0 if int(t_s[0] * 10) % 4 == 0 else 39.5

    alerts = run(SensorHealth(session=SESSION, settings=settings), 60.0, fault=clip)
    assert states(alerts) == [("open", "saturation", "pelvis.acc"), ("resolved", "saturation", "pelvis.acc")]
    opened, resolved = alerts
    assert opened["alert_id"] == resolved["alert_id"] and opened["kind"] == "sensor_fault"
    assert opened["severity"] == "warning" and "axes z" in opened["message"]
    assert 10.0 <= (opened["time_us"] - SESSION["time_us"]) / 1e6 <= 12.0
    # resolves after fault_resolve_after_s (10 s) of healthy data, judged per second
    assert 30.0 <= (resolved["time_us"] - SESSION["time_us"]) / 1e6 <= 32.0
    for record in alerts:
        assert decode(encode("alert", record))[1]["alert_id"] == record["alert_id"]


def test_flat_axis_while_walking_and_a_dead_sensor() -> None:
    def stuck(t_s, data):
        if 5.0 <= t_s[0] < 15.0:
            data[:, 4] = 3.25  # gyr y stuck

    alerts = run(SensorHealth(session=SESSION), 40.0, fault=stuck)
    assert states(alerts) == [("open", "flat_signal", "pelvis.gyr"), ("resolved", "flat_signal", "pelvis.gyr")]
    assert "axes y" in alerts[0]["message"]
    assert 8.0 <= (alerts[0]["time_us"] - SESSION["time_us"]) / 1e6 <= 9.0

    def dead(t_s, data):
        data[:] = 0.0

    alerts = run(SensorHealth(session=SESSION), 20.0, fault=dead)
    assert sorted(states(alerts)) == [("open", "flat_signal", "pelvis.acc"), ("open", "flat_signal", "pelvis.gyr")]


def test_a_quiet_standing_patient_is_not_flat() -> None:
    def standing(t_s, data):
        data[:] = np.array([0.0, 0.0, 9.81, 0.0, 0.0, 0.0]) + np.random.default_rng(int(t_s[0] * 100)).normal(
            0, 0.01, data.shape
        )

    assert run(SensorHealth(session=SESSION), 30.0, fault=standing) == []


def test_dropped_frames_open_at_5_percent_hold_at_3_and_resolve_at_1() -> None:
    # 0-20 s: 1 frame in 10 lost (10 %); 20-40 s: 1 in 30 (3.3 %, between the levels: stays open);
    # then none: resolves once the 10 s window holds <= 1 %.
    def skip(k):
        t = k * FRAME / RATE_HZ
        return (t < 20 and k % 10 == 5) or (20 <= t < 40 and k % 30 == 7)

    alerts = run(SensorHealth(session=SESSION), 70.0, skip=skip)
    assert states(alerts) == [("open", "dropped_frames", None), ("resolved", "dropped_frames", None)]
    opened, resolved = alerts
    assert opened["value"] >= 0.05 and opened["alert_id"].startswith("s-1:sensor_fault:-:dropped_frames:seq")
    assert 40.0 <= (resolved["time_us"] - SESSION["time_us"]) / 1e6 <= 51.0


def test_sample_time_gaps_count_as_lost_samples() -> None:
    health = SensorHealth(session=SESSION)
    out = []
    for k in range(300):  # every frame starts 2 samples late: 2 of every 12 samples missing
        t0 = k * 0.12
        data = walking(t0 + np.arange(FRAME) / RATE_HZ)
        out += health.observe(
            {"pelvis": data},
            sequence=k,
            first_sample_time_us=SESSION["time_us"] + round(t0 * 1e6),
            sampling_rate_hz=RATE_HZ,
        )
    assert states(out) == [("open", "dropped_frames", None)]
    assert out[0]["value"] > 0.15


def test_replay_and_restore_give_the_same_alerts_and_ids() -> None:
    def clip(t_s, data):
        if 10.0 <= t_s[0] < 20.0:
            data[::5, 2] = 160.0

    first = run(SensorHealth(session=SESSION), 45.0, fault=clip)
    again = run(SensorHealth(session=SESSION), 45.0, fault=clip)
    assert first == again and len(first) == 2
    # stop at 15.5 s, checkpoint through JSON, restore and continue
    health = SensorHealth(session=SESSION)
    part = run(health, 15.5, fault=clip)  # mid-second: the pending samples fold into the checkpoint
    import json

    restored = SensorHealth.from_json(
        json.loads(json.dumps(health.to_json())), session=SESSION, settings=AlertSettings()
    )
    part += run(restored, 45.0, fault=clip, start_frame=155)
    assert part == first


def test_close_resolves_what_is_open() -> None:
    health = SensorHealth(session=SESSION)
    (opened,) = run(health, 20.0, skip=lambda k: k % 5 == 0)
    (resolved,) = health.close(99)
    assert resolved["alert_id"] == opened["alert_id"] and resolved["message"] == "session ended"
    assert health.close(100) == []


def test_corrupt_samples_open_within_seconds_and_resolve_once_healthy() -> None:
    def corrupt(t_s, data):  # one flipped bit at 20 s, an infinity at 21.5 s
        if t_s[0] == 20.0:
            data[3, 5] = 1e30
        if t_s[0] == 21.5:
            data[0, 1] = float("inf")

    alerts = run(SensorHealth(session={**SESSION, "sampling_rate_hz": RATE_HZ}), 60.0, fault=corrupt)
    assert sorted(states(alerts)) == [
        ("open", "corrupt_samples", "pelvis.acc"),
        ("open", "corrupt_samples", "pelvis.gyr"),
        ("resolved", "corrupt_samples", "pelvis.acc"),
        ("resolved", "corrupt_samples", "pelvis.gyr"),
    ]
    gyr_open = next(a for a in alerts if a["sensor"] == "pelvis.gyr" and a["state"] == "open")
    assert (gyr_open["time_us"] - SESSION["time_us"]) / 1e6 <= 22.0  # within 2 s of sample time
    assert gyr_open["value"] == 1.0 and "treated as missing" in gyr_open["message"]
    # the corrupt values never reach the other checks (a 1e30 is not a clipped sample)
    assert all(a["fault"] == "corrupt_samples" for a in alerts)


def test_a_gyro_impulse_within_range_is_corrupt_too() -> None:
    def impulse(t_s, data):
        if t_s[0] == 30.0:
            data[4, 3] = 1000.0  # within +-2000 deg/s, but no motion jumps like that

    alerts = run(SensorHealth(session={**SESSION, "sampling_rate_hz": RATE_HZ}), 45.0, fault=impulse)
    assert states(alerts)[:1] == [("open", "corrupt_samples", "pelvis.gyr")]


def test_a_second_of_only_corrupt_samples_keeps_the_checkpoint_json_finite() -> None:
    def garbage(t_s, data):
        if 10.0 <= t_s[0] < 11.0:
            data[:] = np.nan

    health = SensorHealth(session={**SESSION, "sampling_rate_hz": RATE_HZ})
    run(health, 12.0, fault=garbage)
    import json

    text = json.dumps(health.to_json(), allow_nan=False)  # raises on NaN or infinities
    restored = SensorHealth.from_json(json.loads(text), session=health.session, settings=health.settings)
    assert restored.to_json() == health.to_json()


def test_checkpoints_from_before_the_corrupt_counts_restore() -> None:
    health = SensorHealth(session=SESSION)
    run(health, 5.0)
    old = health.to_json()
    old["buckets"] = {loc: {s: row[:19] for s, row in b.items()} for loc, b in old["buckets"].items()}
    restored = SensorHealth.from_json(old, session=SESSION, settings=health.settings)
    assert run(restored, 20.0, start_frame=50) == []
