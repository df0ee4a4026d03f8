"""A real LSL outlet on loopback sending in bursts with lost samples, read by the station's source."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np

from gaitstream.services.station.lsl_source import LslSource, LslStreamQuery

RATE_HZ = 100.0
SAMPLES = 400
LOST = {57, 58, 59, 200}


def _outlet(name: str, ready: threading.Event, sent: list[int]) -> None:
    import pylsl

    info = pylsl.StreamInfo(name, "IMU", 6, RATE_HZ, "float32", f"src-{name}")
    outlet = pylsl.StreamOutlet(info)
    ready.set()
    while not outlet.have_consumers():
        time.sleep(0.01)
    start = pylsl.local_clock()
    i = 0
    while i < SAMPLES:
        burst = [k for k in range(i, min(i + 3, SAMPLES))]  # Bluetooth: 2-3 samples every ~30 ms
        for k in burst:
            if k not in LOST:
                outlet.push_sample([float(k), 0.0, 9.81, 0.0, 0.0, 0.0], start + k / RATE_HZ)
                sent.append(k)
        i += len(burst)
        time.sleep(0.03)


def test_bursts_and_lost_samples_arrive_as_frames_on_the_device_clock() -> None:
    name = f"gs-pelvis-{uuid.uuid4().hex[:6]}"
    ready, sent = threading.Event(), []
    thread = threading.Thread(target=_outlet, args=(name, ready, sent), daemon=True)
    thread.start()
    ready.wait(5)
    session_start_s = time.time()
    source = LslSource(LslStreamQuery("name", name), session_start_s=session_start_s, duration_s=6.0)
    frames = list(source.frames(10))
    thread.join(10)
    values = np.concatenate([b["acc_x"] for _, b in frames]).astype(int).tolist()
    assert values == sent == [k for k in range(SAMPLES) if k not in LOST]
    assert (source.dropped, source.gaps) == (4, 2)
    # Times from the device's stamps: exactly one period apart inside a frame, on the host's clock.
    for first_s, block in frames:
        assert np.allclose(np.diff(block["time_s"]), 1 / RATE_HZ, atol=1e-6)
        assert abs(first_s) < 10.0
    starts = [round((f[0] - frames[0][0]) * RATE_HZ) for f in frames]
    assert starts[:6] == [0, 10, 20, 30, 40, 50] and 60 in starts  # the frame after the gap starts at 60


def test_the_station_command_sends_an_lsl_sensor_through_the_broker(kafka_settings, tmp_path) -> None:
    """``gaitstream station --lsl NAME``: a real outlet, the station as a child process with the
    simulator's Kafka user, the frames on the stations topic as the contract says."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from kafka import KafkaConsumer, TopicPartition

    from gaitstream.schemas.codec import decode
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import delete_topics_with_prefix, ensure_topics
    from tests.roles import forget_prefix, role_env

    topics = TopicSettings(prefix=f"it.lsl{uuid.uuid4().hex[:6]}", partitions=1)
    ensure_topics(kafka_settings, topics)
    name = f"gs-pelvis-{uuid.uuid4().hex[:6]}"
    ready, sent = threading.Event(), []
    thread = threading.Thread(target=_outlet, args=(name, ready, sent), daemon=True)
    thread.start()
    ready.wait(5)
    env = {**os.environ, **role_env("simulator", topics.prefix), "GAITSTREAM_TOPIC_PREFIX": topics.prefix}
    repo = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gaitstream",
                "station",
                "--station-id",
                "st-lsl",
                "--patient-id",
                "p-lsl",
                "--lsl",
                name,
                "--duration-s",
                "7",
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        consumer = KafkaConsumer(**kafka_settings.client_config(), group_id=None, enable_auto_commit=False)
        tp = TopicPartition(topics.stations, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records = []
        while batch := consumer.poll(timeout_ms=5000):
            records += [r for rs in batch.values() for r in rs]
        consumer.close()
    finally:
        delete_topics_with_prefix(kafka_settings, topics.prefix)
        forget_prefix(topics.prefix)
    decoded = [decode(r.value) for r in records]
    assert decoded[0][0] == "session_event" and decoded[0][1]["event"] == "start"
    assert decoded[-1][0] == "session_event" and decoded[-1][1]["event"] == "stop"
    frames = [rec for kind, rec in decoded if kind == "imu_frame"]
    # imu_frame v2: six float32 channels per sample, packed; acc x is the first.
    values = [int(v) for f in frames for v in np.frombuffer(f["sensors"][0]["samples_f32le"], "<f4")[0::6]]
    assert values == sent
    assert [f["sequence"] for f in frames] == list(range(len(frames)))
    start_us = decoded[0][1]["time_us"]
    assert all(f["first_sample_time_us"] >= start_us - 1_000_000 for f in frames)
