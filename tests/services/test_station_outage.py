"""A station across a broker outage (the real broker, stopped and started): frames are spooled to
disk, a station restarted during the outage resumes from its spool, and once the broker is back
every frame arrives, in order, once."""

from __future__ import annotations

import uuid

from gaitstream.settings import TopicSettings
from gaitstream.topics import delete_topics_with_prefix, ensure_topics
from tests.roles import forget_prefix, role_settings

FRAMES = 120


def _publisher(kafka, topics, spool_dir):
    from gaitstream.services.station.publisher import StationPublisher, StationSettings

    settings = StationSettings(spool_dir=spool_dir, spool_send_timeout_s=5, spool_retry_max_s=2, delivery_timeout_s=60)
    return StationPublisher(kafka=kafka, topics=topics, settings=settings)


def _frames(session, blocks, start: int, stop: int):
    from gaitstream.services.station.frames import frame_record

    for sequence in range(start, stop):
        first_s, block = blocks[sequence]
        yield frame_record(session, sequence=sequence, first_sample_s=first_s, block=block)


def test_frames_sent_during_an_outage_and_a_restart_arrive_in_order_once(stack, kafka_settings, tmp_path) -> None:
    from kafka import KafkaConsumer, TopicPartition

    from gaitstream.schemas.codec import decode
    from gaitstream.services.station.runner import new_session
    from gaitstream.services.station.sources import SimulatedSource
    from gaitstream.simulate import pattern_config

    topics = TopicSettings(prefix=f"it.spool{uuid.uuid4().hex[:6]}", partitions=1)
    ensure_topics(kafka_settings, topics)
    station = role_settings("simulator", topics.prefix)
    source = SimulatedSource(pattern_config("normal", duration_s=20.0, seed=3))
    session = new_session(clinic_id="c1", station_id="st-spool", patient_id="p-1", source=source)
    spool_dir = tmp_path / "spool"
    blocks = list(source.frames(10))
    try:
        first = _publisher(station, topics, spool_dir)
        first.send("st-spool", "session_event", session.event("start", session.start_time_us))
        for record in _frames(session, blocks, 0, 40):
            first.send("st-spool", "imu_frame", record)
        first.flush()  # the broker is up: these leave at once
        assert first._spooled.pending == 0
        stack.kafka.stop()
        for record in _frames(session, blocks, 40, 80):
            first.send("st-spool", "imu_frame", record)
        assert first._spooled.pending == 40
        first._spooled.close(drain_s=0)  # the station dies during the outage, its spool on disk

        second = _publisher(station, topics, spool_dir)
        for record in _frames(session, blocks, 80, FRAMES):
            second.send("st-spool", "imu_frame", record)
        assert second._spooled.pending == 80
        stack.kafka.start()
        second.close()  # drains, now that the broker is back
        assert second._spooled.pending == 0
    finally:
        if stack.kafka.process.pid() is None:
            stack.kafka.start()
    consumer = KafkaConsumer(**kafka_settings.client_config(), group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(topics.stations, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records = []
        while len(records) < FRAMES + 1:
            batch = consumer.poll(timeout_ms=10_000)
            if not batch:
                break
            records += [r for rs in batch.values() for r in rs]
    finally:
        consumer.close()
        delete_topics_with_prefix(kafka_settings, topics.prefix)
        forget_prefix(topics.prefix)
    kinds = [decode(r.value) for r in records]
    assert kinds[0][0] == "session_event"
    sequences = [rec["sequence"] for kind, rec in kinds if kind == "imu_frame"]
    assert sequences == list(range(FRAMES))  # every frame, in order, once
    assert all(dict(r.headers).get("gs-sig") for r in records)  # still signed
