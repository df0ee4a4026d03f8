"""Fuzzing the real worker (issue 15): at least 10,000 generated inputs on the stations topic.

Property-based (hypothesis): random bytes, bit flips of valid frames, random float32 bit patterns
as samples of open sessions, frames with extreme headers, valid frames again out of order and
duplicated, under station keys that exist and keys that do not. Meanwhile a valid station
streams its session. Then, on the real worker:

- it never crashed (no internal error, no traceback) and acknowledged every input (its consumer
  group's offsets reach the end of the stations topic);
- every refused input is in the dead-letter topic with a reason, none for an internal error;
- every value written is finite: InfluxDB (2.x refuses a whole request for one ``nan``) refused
  nothing the sink sent;
- the valid station lost no step (the in-process reference).

``GAITSTREAM_FUZZ_INPUTS`` sets how many (default 10,000).
"""

from __future__ import annotations

import os
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitstream.schemas.codec import encode
from gaitstream.services.station.frames import frame_record
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from tests.e2e.harness import PipelineRun

CLINIC = "clinic-fuzz"
FRAME_SAMPLES = 10
INPUTS = int(os.environ.get("GAITSTREAM_FUZZ_INPUTS", "10000"))
FUZZ_STATIONS = 4
INT64 = st.integers(-(2**63), 2**63 - 1)
FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


def _session(prefix: str, n: int, source) -> object:
    return new_session(clinic_id=CLINIC, station_id=f"{prefix}-fz{n}", patient_id=f"p-fz{n}", source=source)


def _valid_frames(session, source) -> list[dict]:
    return [
        frame_record(session, sequence=seq, first_sample_s=first_s, block=block)
        for seq, (first_s, block) in enumerate(source.frames(FRAME_SAMPLES))
    ]


def _flip(value: bytes, bits: list[int]) -> bytes:
    out = bytearray(value)
    for bit in bits:
        out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def _strategies(sessions: list, frames: list[dict]):
    """(key, value) messages of every kind the issue names."""
    keys = st.sampled_from([s.station_id.encode() for s in sessions]) | st.binary(max_size=40)
    valid_values = [encode("imu_frame", f) for f in frames]
    raw = st.tuples(keys, st.binary(max_size=400))
    flipped = st.tuples(
        keys,
        st.builds(
            lambda i, bits: _flip(valid_values[i], bits),
            st.integers(0, len(valid_values) - 1),
            st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
        ),
    )

    # Random samples reach the engines only in frames that continue their session: each gets the
    # session's next sequence number and a time after the previous one (0.2 s apart, at most 20
    # samples of 100 Hz each).
    following: dict[str, int] = {}

    def float32_frame(session, template, words):
        words = (words * 6)[: max(6, (len(words) // 6) * 6)]
        packed = struct.pack(f"<{len(words)}I", *words)
        n = following[session.station_id] = following.get(session.station_id, 10**6) + 1
        record = {**template, "station_id": session.station_id, "session_id": session.session_id}
        record.update(sequence=n, first_sample_time_us=session.start_time_us + (n - 10**6) * 200_000)
        record["sensors"] = [{**block, "samples_f32le": packed} for block in template["sensors"]]
        return session.station_id.encode(), encode("imu_frame", record)

    float32 = st.builds(
        lambda s, f, words: float32_frame(sessions[s], frames[f], words),
        st.integers(0, len(sessions) - 1),
        st.integers(0, len(frames) - 1),
        st.lists(st.integers(0, 2**32 - 1), min_size=6, max_size=120),
    )

    def extreme_frame(session, template, sequence, first_us, rate, location, repeat):
        record = {**template, "station_id": session.station_id, "session_id": session.session_id}
        record.update(sequence=sequence, first_sample_time_us=first_us, sampling_rate_hz=rate)
        record["sensors"] = [{**template["sensors"][0], "location": location}] * repeat
        return session.station_id.encode(), encode("imu_frame", record)

    extreme = st.builds(
        lambda s, f, *rest: extreme_frame(sessions[s], frames[f], *rest),
        st.integers(0, len(sessions) - 1),
        st.integers(0, len(frames) - 1),
        INT64,
        INT64,
        FLOAT32,
        st.sampled_from(["pelvis", "trunk"]),  # the schema's enum
        st.integers(0, 3),
    )
    replayed = st.builds(
        lambda i: (frames[i]["station_id"].encode(), valid_values[i]), st.integers(0, len(valid_values) - 1)
    )
    return st.one_of(raw, flipped, float32, extreme, replayed)


@pytest.fixture()
def pipeline(kafka_settings, influx_settings, tmp_path):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    run.start_worker("a")
    yield run
    run.stop()


def _committed_to_the_end(run: PipelineRun) -> bool:
    """Whether the worker's group committed every stations-topic offset (all inputs acknowledged)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**run.kafka.client_config(), group_id=run.prefix, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(run.topics.stations, p) for p in consumer.partitions_for_topic(run.topics.stations)
        ]
        end = consumer.end_offsets(partitions)
        return all((consumer.committed(tp) or 0) >= end[tp] for tp in partitions)
    finally:
        consumer.close(autocommit=False)


def _dead_letters(run: PipelineRun) -> list[tuple[str, str]]:
    """(source topic, reason) of every dead letter of the run."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        run.topics.deadletter,
        **run.kafka.client_config(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    try:
        out = []
        for record in consumer:
            headers = {k: bytes(v).decode(errors="replace") for k, v in record.headers}
            out.append((headers.get("source", "").rsplit("/", 2)[0], headers.get("reason", "")))
        return out
    finally:
        consumer.close()


def test_ten_thousand_hostile_inputs_never_crash_the_worker_nor_cost_a_valid_station_a_step(
    pipeline: PipelineRun,
) -> None:
    from tests.e2e.reference import reference_steps

    config = pattern_config("normal", duration_s=40.0, seed=61)
    from kafka import KafkaProducer

    source = SimulatedSource(config)
    valid_session = new_session(
        clinic_id=CLINIC, station_id=f"{pipeline.prefix}-valid", patient_id="p-v", source=source
    )
    valid = StationRun(session=valid_session, source=source)

    def fuzz_source(n: int) -> SimulatedSource:
        return SimulatedSource(pattern_config("normal", duration_s=5.0, seed=70 + n))

    sessions = [_session(pipeline.prefix, n, fuzz_source(n)) for n in range(FUZZ_STATIONS)]
    frames = [f for n, session in enumerate(sessions) for f in _valid_frames(session, fuzz_source(n))]
    publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings(linger_ms=5))
    producer = KafkaProducer(**pipeline.kafka.client_config(), linger_ms=5, acks="all")
    sent = {"inputs": 0}
    try:
        for session in sessions:  # the fuzzed stations' sessions are open: fuzzed frames reach engines
            publisher.send(session.station_id, "session_event", session.event("start", session.start_time_us))
        publisher.flush()

        @settings(
            max_examples=INPUTS,
            database=None,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(message=_strategies(sessions, frames))
        def publish(message: tuple[bytes, bytes]) -> None:
            key, value = message
            producer.send(pipeline.topics.stations, key=key, value=value)
            sent["inputs"] += 1

        started = time.monotonic()
        publish()
        producer.flush()
        print(f"fuzz: {sent['inputs']} inputs generated and sent in {time.monotonic() - started:.1f} s")
        run_stations([valid], publisher, frame_samples=FRAME_SAMPLES, speed=0.0)
        for session in sessions:
            publisher.send(
                session.station_id, "session_event", session.event("stop", session.start_time_us + 60_000_000)
            )
        publisher.flush()
    finally:
        producer.close()
        publisher.close()
    assert sent["inputs"] >= INPUTS

    deadline = time.monotonic() + 300
    while not _committed_to_the_end(pipeline):
        assert pipeline.workers[0][0].poll() is None, "the worker died:\n" + pipeline.log(0)[-3000:]
        assert time.monotonic() < deadline, "the worker never acknowledged every input"
        time.sleep(2.0)
    expected = reference_steps(valid, lambda: SimulatedSource(config), FRAME_SAMPLES)
    rows = pipeline.wait_for_steps({valid.session.session_id: len(expected)}, timeout_s=120)[valid.session.session_id]
    assert sorted(r["step_index"] for r in rows) == [s["step_index"] for s in expected]

    log = pipeline.log(0)
    assert pipeline.workers[0][0].poll() is None and "Traceback" not in log and "frame_failed" not in log
    dead = _dead_letters(pipeline)
    assert all(reason for _, reason in dead), "a dead letter without a reason"
    internal = [reason for _, reason in dead if reason.startswith("internal error")]
    assert internal == []
    refused_by_influxdb = [reason for source, reason in dead if source != pipeline.topics.stations]
    assert refused_by_influxdb == []
    from gaitstream.pipelines.sink.points import reason_kind

    reasons: dict[str, int] = {}
    for _, reason in dead:
        reasons[reason_kind(reason)] = reasons.get(reason_kind(reason), 0) + 1
    print(f"fuzz: {len(dead)} of {sent['inputs']} inputs dead-lettered; reasons: {dict(sorted(reasons.items()))}")
