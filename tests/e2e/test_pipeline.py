"""End to end on the real stack: simulated stations -> Kafka -> Faust workers -> InfluxDB."""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time

import pytest

from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from tests.e2e.harness import PipelineRun
from tests.e2e.reference import reference_steps
from tests.roles import signed

FRAME_SAMPLES = 10
PATTERNS = [
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "trendelenburg_bilateral",
    "compensated_left",
    "compensated_right",
    # a lean toward the weak side only: the lever arm of a trunk sensor above the pivot turned its
    # mounting yaw and read the lean 1.6-1.8° short before the engine removed it
    "compensated_left_unilateral",
    "compensated_right_unilateral",
]


@pytest.fixture()
def pipeline(kafka_settings, influx_settings, tmp_path):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    yield run
    run.stop()


#: Where a sternum or mid-thoracic sensor sits above the lumbar pivot (GAIT_SPEC "Where sensors sit"):
#: the trunk sensor feels its lever arm, which the engine must remove to see the lean.
TRUNK_SENSOR_HEIGHT_M = 0.45


def _config(pattern: str, seed: int, duration_s: float):
    return pattern_config(
        pattern,
        duration_s=duration_s,
        seed=seed,
        cadence_spm=100.0 + 3 * seed,
        trunk_sensor_height_m=TRUNK_SENSOR_HEIGHT_M,
    )


def _stations(pipeline: PipelineRun, patterns: list[str], duration_s: float) -> list[tuple[StationRun, callable]]:
    out = []
    for i, pattern in enumerate(patterns):

        def factory(pattern=pattern, i=i):
            return SimulatedSource(_config(pattern, i, duration_s))

        source = factory()
        session = new_session(
            clinic_id="clinic-e2e", station_id=f"{pipeline.prefix}-st{i:02d}", patient_id=f"p-{i:04d}", source=source
        )
        out.append((StationRun(session=session, source=source), factory))
    return out


def _publish(pipeline: PipelineRun, runs: list[StationRun], speed: float) -> None:
    publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings())
    try:
        run_stations(runs, publisher, frame_samples=FRAME_SAMPLES, speed=speed)
    finally:
        publisher.close()


def test_per_side_medians_and_classification_match_the_truth(pipeline: PipelineRun) -> None:
    pipeline.start_worker("a")
    stations = _stations(pipeline, PATTERNS, duration_s=60.0)
    runs = [run for run, _ in stations]
    _publish(pipeline, runs, speed=0.0)
    truths = {run.session.session_id: run.source.truth() for run in runs}
    expected = {sid: len(t["steps"]) - 4 for sid, t in truths.items()}
    rows = pipeline.wait_for_steps(expected, timeout_s=120)
    for run in runs:
        sid, truth = run.session.session_id, truths[run.session.session_id]
        got = rows[sid]
        assert len(got) >= expected[sid], f"{sid}: {len(got)} steps in InfluxDB, truth has {len(truth['steps'])}"
        for side in ("left", "right"):
            median = statistics.median(r["pelvic_drop_deg"] for r in got if r["side"] == side)
            want = truth["summary"][side]["pelvic_drop_deg_median"]
            assert median == pytest.approx(want, abs=1.0), f"{sid} {side}: {median:.2f} vs truth {want:.2f}"
            lean = statistics.median(
                r["trunk_lean_deg"] for r in got if r["side"] == side and r["trunk_lean_deg"] is not None
            )
            want = truth["summary"][side]["trunk_lean_deg_median"]
            assert lean == pytest.approx(want, abs=0.5), f"{sid} {side} lean: {lean:.2f} vs truth {want:.2f}"
        status = pipeline.influxql(f"SELECT last(classification) FROM gait_status WHERE session = '{sid}'")
        assert status[0]["values"][0][1] == truth["summary"]["classification"], sid
    # Alerts: a sustained deviation opens once per affected side and resolves when the session ends.
    expected_alerts = {
        "normal": set(),
        "trendelenburg_left": {("pelvic_drop_sustained", "left")},
        "trendelenburg_right": {("pelvic_drop_sustained", "right")},
        "trendelenburg_bilateral": {("pelvic_drop_sustained", "left"), ("pelvic_drop_sustained", "right")},
        "compensated_left": {("trunk_lean_sustained", "left")},
        "compensated_right": {("trunk_lean_sustained", "right")},
        "compensated_left_unilateral": {("trunk_lean_sustained", "left")},
        "compensated_right_unilateral": {("trunk_lean_sustained", "right")},
    }
    deadline = time.monotonic() + 60
    for pattern, run in zip(PATTERNS, runs, strict=True):
        while True:
            series = pipeline.influxql(
                f"SELECT alert_id, kind, state FROM gait_alert WHERE session = '{run.session.session_id}' GROUP BY side"
            )
            # A row whose fields are not all visible yet is still being written (see PipelineRun.rows).
            rows = [(s["tags"]["side"], *row[1:]) for s in series for row in s["values"] if None not in row[1:]]
            if len(rows) >= 2 * len(expected_alerts[pattern]) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        opened = {(kind, side) for side, _, kind, state in rows if state == "open"}
        assert opened == expected_alerts[pattern], (pattern, rows)
        for kind, side in opened:  # one open and one resolve, same id
            states = [(alert_id, state) for s, alert_id, k, state in rows if (k, s) == (kind, side)]
            assert sorted(st for _, st in states) == ["open", "resolved"], (pattern, states)
            assert len({alert_id for alert_id, _ in states}) == 1


def _first_difference(got: list[dict], reference: list[dict]) -> tuple[list[dict], list[dict]]:
    """The rows around the first place where InfluxDB and the reference disagree (for the failure message)."""
    at = next(
        (i for i, (g, r) in enumerate(zip(got, reference, strict=False)) if g["step_index"] != r["step_index"]),
        min(len(got), len(reference)),
    )
    return got[max(at - 2, 0) : at + 3], [
        {k: r[k] for k in ("step_index", "side", "pelvic_drop_deg", "start_time_us")}
        for r in reference[max(at - 2, 0) : at + 3]
    ]


def test_a_killed_workers_stations_continue_on_the_other_with_no_step_lost_or_duplicated(pipeline) -> None:
    pipeline.start_worker("a")
    worker_b = pipeline.start_worker("b")
    stations = _stations(pipeline, PATTERNS + ["normal", "trendelenburg_left"], duration_s=60.0)
    runs = [run for run, _ in stations]
    publisher = threading.Thread(target=_publish, args=(pipeline, runs, 4.0))  # 60 s sessions in 15 s
    publisher.start()
    # Kill b once it is really working on stations (its table recovery can take a few seconds).
    deadline = time.monotonic() + 30
    while "session_start station=" not in pipeline.log(1):
        assert time.monotonic() < deadline, "worker b never started processing a station"
        time.sleep(0.2)
    time.sleep(2.0)
    os.kill(worker_b.pid, signal.SIGKILL)  # mid-session, no goodbye to the group
    publisher.join()
    expected = {run.session.session_id: len(reference_steps(run, factory, FRAME_SAMPLES)) for run, factory in stations}
    rows = pipeline.wait_for_steps(expected, timeout_s=120)
    moved = [run for run in runs if f"session_start station={run.session.station_id} " in pipeline.log(1)]
    assert moved, "worker b owned no station: the failover was not exercised"
    for run, factory in stations:
        sid = run.session.session_id
        reference = reference_steps(run, factory, FRAME_SAMPLES)
        got = sorted(rows[sid], key=lambda r: r["step_index"])
        indices = [r["step_index"] for r in got]
        assert indices == [s["step_index"] for s in reference], (sid, _first_difference(got, reference))
        for row, ref in zip(got, reference, strict=True):
            assert row["side"] == ref["side"]
            assert row["pelvic_drop_deg"] == pytest.approx(ref["pelvic_drop_deg"], abs=1e-4)
    survivor = pipeline.log(0)
    for run in moved:  # b's stations were finished by a
        assert f"session_stop station={run.session.station_id}" in survivor


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_pipeline_keeps_going(pipeline) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    from gaitstream.schemas.codec import encode
    from gaitstream.services.station.frames import frame_record

    pipeline.start_worker("a")
    ((good, _),) = _stations(pipeline, ["trendelenburg_right"], duration_s=30.0)
    station = good.session.station_id
    block = next(iter(SimulatedSource(_config("normal", 0, 30.0)).frames(FRAME_SAMPLES)))[1]
    bad_frame = frame_record(good.session, sequence=0, first_sample_s=0.0, block=block)
    bad_frame["sensors"][0]["acc_y_mps2"] = bad_frame["sensors"][0]["acc_y_mps2"][:3]
    producer = KafkaProducer(**pipeline.kafka.client_config(), acks="all")
    topic = pipeline.topics.stations

    def send_signed(key: bytes, value: bytes) -> None:  # a station with its key, sending garbage
        producer.send(topic, key=key, value=value, headers=signed(key, value))

    send_signed(station.encode(), b"not avro at all")
    send_signed(station.encode(), encode("imu_frame", bad_frame))  # before its session starts
    send_signed(b"someone-else", encode("session_event", good.session.event("start", 1)))
    # Unsigned, and signed by another station: neither may speak for this one.
    producer.send(topic, key=station.encode(), value=encode("session_event", good.session.event("start", 2)))
    forged = encode("session_event", good.session.event("start", 3))
    producer.send(topic, key=station.encode(), value=forged, headers=signed(station.encode(), forged, as_station="x"))
    producer.flush()
    _publish(pipeline, [good], speed=0.0)
    send_signed(station.encode(), encode("imu_frame", {**bad_frame, "sequence": 10_000}))
    # The InfluxDB sink refuses what it cannot decode on the output topics the same way.
    producer.send(pipeline.topics.steps, key=station.encode(), value=b"\x47\x63 not a step")
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        pipeline.topics.deadletter,
        **pipeline.kafka.client_config(),
        auto_offset_reset="earliest",
        group_id=f"{pipeline.prefix}-dlq",
        consumer_timeout_ms=60_000,
    )
    reasons, sources = [], []
    for record in consumer:
        headers = dict(record.headers)
        reasons.append(headers["reason"].decode())
        sources.append(headers["source"].decode())
        if len(reasons) == 7:
            break
    consumer.close()
    assert "signature: missing (unsigned record)" in reasons, reasons
    assert "signature: does not match the station's key" in reasons, reasons
    sink_refused = [r for r, src in zip(reasons, sources, strict=True) if src.startswith(pipeline.topics.steps + "/")]
    assert sink_refused and "unknown schema id 99" in sink_refused[0], (reasons, sources)
    assert any("bad magic byte" in r for r in reasons), reasons
    assert any("message key must equal station_id" in r for r in reasons), reasons
    assert any("no active session" in r for r in reasons), reasons
    assert (
        any("acc_y_mps2 has 3 samples, expected 10" in r for r in reasons)
        or sum("no active session" in r for r in reasons) == 2
    ), reasons
    rows = pipeline.wait_for_steps({good.session.session_id: 40}, timeout_s=60)
    assert len(rows[good.session.session_id]) >= 40
    assert "fetch_wait_set fetch_max_wait_ms=50" in pipeline.log(
        0
    )  # gaitstream.pipelines.app.shorten_fetch_wait took hold
