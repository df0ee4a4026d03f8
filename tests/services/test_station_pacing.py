"""Real-time pacing: a frame leaves when its last sample exists, never before."""

from __future__ import annotations

import time
import uuid

import numpy as np

from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import PrerenderedSource
from gaitstream.settings import TopicSettings
from gaitstream.topics import ensure_topics


def test_frames_leave_when_their_last_sample_exists(kafka_settings) -> None:
    from gaitstream.simulate import pattern_config

    topics = TopicSettings(prefix=f"pace{uuid.uuid4().hex[:6]}")
    ensure_topics(kafka_settings, topics)
    source = PrerenderedSource.from_config(pattern_config("normal", duration_s=1.5, seed=1, standing_s=0.5))
    runs = [
        StationRun(
            session=new_session(
                clinic_id="pacing", station_id=f"{topics.prefix}-st{i}", patient_id=f"p{i}", source=source
            ),
            source=source,
        )
        for i in range(2)
    ]
    sent: list[tuple[float, str, int]] = []  # (seconds since the run began, station, samples sent so far)
    publisher = StationPublisher(kafka=kafka_settings, topics=topics, settings=StationSettings(linger_ms=1))
    try:
        began = time.monotonic()
        run_stations(
            runs,
            publisher,
            frame_samples=50,
            speed=1.0,
            on_frame=lambda run: sent.append((time.monotonic() - began, run.session.station_id, run.samples_sent)),
        )
        finished_s = time.monotonic() - began
    finally:
        publisher.close()
    assert len(sent) == 2 * 3  # 150 samples each, 50-sample frames
    for at_s, _, samples in sent:
        last_sample_s = samples / source.sampling_rate_hz  # when the frame's last sample exists
        assert last_sample_s - 0.005 <= at_s <= last_sample_s + 0.25, (at_s, samples)
    assert finished_s >= 1.5


def test_a_session_with_a_patient_screen_is_sent_in_shorter_frames(kafka_settings) -> None:
    from gaitstream.simulate import pattern_config

    topics = TopicSettings(prefix=f"pace{uuid.uuid4().hex[:6]}")
    ensure_topics(kafka_settings, topics)
    source = PrerenderedSource.from_config(pattern_config("normal", duration_s=1.0, seed=1, standing_s=0.5))
    runs = [
        StationRun(
            session=new_session(
                clinic_id="pacing",
                station_id=f"{topics.prefix}-st{i}",
                patient_id=f"p{i}",
                source=source,
                feedback_plan=plan,
            ),
            source=source,
        )
        for i, plan in enumerate(["continuous:5m", None])
    ]
    sizes: dict[str, list[int]] = {}
    publisher = StationPublisher(kafka=kafka_settings, topics=topics, settings=StationSettings(linger_ms=1))
    try:
        run_stations(
            runs,
            publisher,
            frame_samples=10,
            feedback_frame_samples=5,
            speed=0.0,
            on_frame=lambda run: sizes.setdefault(run.session.station_id, []).append(run.samples_sent),
        )
    finally:
        publisher.close()
    with_screen, without = (np.diff([0, *sizes[run.session.station_id]]).tolist() for run in runs)
    assert with_screen == [5] * 20 and without == [10] * 10
