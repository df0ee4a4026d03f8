"""Line protocol of the sink: escaping, types, deterministic timestamps."""

from __future__ import annotations

import pytest

from gaitstream.pipelines.sink.points import status_lines, step_lines, tag_value, trace_lines

RECORD = {
    "clinic_id": "clinic a",
    "station_id": "st,1",
    "session_id": "s1",
    "patient_id": "p=7",
    "step_index": 3,
    "side": "left",
    "start_time_us": 1_700_000_000_000_000,
    "end_time_us": 1_700_000_000_550_000,
    "step_time_s": 0.55,
    "pelvic_drop_deg": 4.5,
    "trunk_lean_deg": None,
    "cadence_spm": 109.0,
}


def test_step_line_escapes_tags_types_fields_and_uses_the_ic_time() -> None:
    (line,) = step_lines(RECORD)
    assert line == (
        "gait_step,clinic=clinic\\ a,patient=p\\=7,session=s1,side=left,station=st\\,1 "
        "pelvic_drop_deg=4.5,step_time_s=0.55,cadence_spm=109.0,step_index=3i 1700000000000000"
    )


def test_same_step_gives_the_same_line_so_a_replay_overwrites() -> None:
    assert step_lines(RECORD) == step_lines(dict(RECORD))


def test_status_line_has_string_classification_and_integer_counts() -> None:
    (line,) = status_lines(
        {
            **RECORD,
            "time_us": 5,
            "steps_left": 20,
            "steps_right": 19,
            "steps_last_10s": 18,
            "pelvic_drop_deg_median_left": 6.25,
            "cadence_spm": None,
            "classification": "trendelenburg_left",
        }
    )
    assert " steps_left=20i,steps_right=19i,steps_last_10s=18i,pelvic_drop_deg_median_left=6.25," in line
    assert line.endswith('classification="trendelenburg_left",classification_flags="" 5')
    (flagged,) = status_lines(
        {
            **RECORD,
            "time_us": 5,
            "classification": "normal",
            "trunk_lean_reference": "walking",
            "classification_flags": ["trunk_lean_reference_walking"],
        }
    )
    assert flagged.endswith('classification_flags="trunk_lean_reference_walking",trunk_lean_reference="walking" 5')
    assert "cadence_spm" not in line


def test_trace_lines_keep_exact_sample_times() -> None:
    lines = trace_lines(
        {
            **RECORD,
            "first_time_us": 1000,
            "time_offsets_us": [0, 50_000, 150_000],
            "pelvic_obliquity_deg": [1.0, -2.5, 0.25],
            "trunk_lateral_lean_deg": [0.5, 0.5, 0.5],
        }
    )
    assert [ln.rsplit(" ", 1)[1] for ln in lines] == ["1000", "51000", "151000"]
    assert "pelvic_obliquity_deg=-2.5,trunk_lateral_lean_deg=0.5" in lines[1]


def test_session_lines_mark_start_and_stop_with_thresholds() -> None:
    from gaitstream.pipelines.sink.points import session_lines

    event = {
        **RECORD,
        "event": "start",
        "time_us": 42,
        "pelvic_drop_threshold_deg": 6.0,
        "trunk_lean_threshold_deg": 5.0,
        "min_steps_per_side": 10,
        "trunk_present": True,
    }
    (start,) = session_lines(event)
    assert start == (
        "gait_session,clinic=clinic\\ a,patient=p\\=7,session=s1,station=st\\,1 active=1i,"
        "pelvic_drop_threshold_deg=6.0,trunk_lean_threshold_deg=5.0,min_steps_per_side=10i,"
        "trunk_present=true 42"
    )
    (stop,) = session_lines({**event, "event": "stop", "time_us": 99})
    assert " active=0i," in stop and stop.endswith(" 99")
    (screen,) = session_lines({**event, "feedback_plan": 'none:2m,"faded":10m', "target_pelvic_drop_deg": 2.5})
    assert screen.endswith('trunk_present=true,feedback_plan="none:2m,\\"faded\\":10m",target_pelvic_drop_deg=2.5 42')


def test_a_batch_gives_the_lines_of_what_decodes_and_names_what_does_not() -> None:
    from types import SimpleNamespace

    from gaitstream.pipelines.sink.points import batch_lines
    from gaitstream.schemas.codec import decode, encode

    good = SimpleNamespace(value=encode("step_metrics", RECORD))
    garbage = SimpleNamespace(value=b"not avro")
    frame_here = SimpleNamespace(value=b"\x47\x63\x01")  # an unknown schema id
    batch = batch_lines([garbage, good, frame_here])
    assert batch.entries == [(good, step_lines(decode(good.value)[1]))]  # float fields travel as Avro floats
    assert batch.clinics == {"clinic a"}
    assert [record for record, _ in batch.refused] == [garbage, frame_here]
    assert "bad magic byte" in batch.refused[0][1] and "unknown schema id 99" in batch.refused[1][1]


def test_non_finite_values_never_reach_line_protocol() -> None:
    (line,) = step_lines({**RECORD, "pelvic_drop_deg": float("nan"), "cadence_spm": float("inf")})
    assert "nan" not in line.lower() and "inf" not in line.lower()
    assert "pelvic_drop_deg" not in line and "step_time_s=0.55" in line
    trace = {
        **RECORD,
        "first_time_us": 1_000,
        "time_offsets_us": [0, 50_000, 100_000],
        "pelvic_obliquity_deg": [1.0, float("nan"), float("-inf")],
        "trunk_lateral_lean_deg": [2.0, 3.0, float("inf")],
    }
    assert trace_lines(trace) == [
        "pelvic_trace,clinic=clinic\\ a,patient=p\\=7,session=s1,station=st\\,1 "
        "pelvic_obliquity_deg=1.0,trunk_lateral_lean_deg=2.0 1000",
        "pelvic_trace,clinic=clinic\\ a,patient=p\\=7,session=s1,station=st\\,1 trunk_lateral_lean_deg=3.0 51000",
    ]  # the third sample has no finite value: no point


def test_a_time_influxdb_cannot_store_refuses_the_record_with_the_reason() -> None:
    import pytest

    with pytest.raises(ValueError, match="outside InfluxDB's time range"):
        step_lines({**RECORD, "start_time_us": 1_700_000_000_000_000_000})  # nanoseconds sent as microseconds
    trace = {**RECORD, "first_time_us": 0, "time_offsets_us": [0, 2**62], "pelvic_obliquity_deg": [1.0, 2.0]}
    with pytest.raises(ValueError, match="time range"):
        trace_lines(trace)


def test_a_dead_letter_is_a_point_per_station_and_reason_kind() -> None:
    from types import SimpleNamespace

    from gaitstream.pipelines.sink.points import dead_letter_lines, reason_kind
    from gaitstream.schemas.codec import encode

    assert reason_kind("station clock: sample time 17 us is ...") == "station clock"
    assert reason_kind("frame has 3000 samples; allowed 1..2000") == "frame has"
    assert reason_kind("12 samples") == "other"
    event = {"station_id": "st 1", "session_id": "s1", "event": "stop", "time_us": 1, "clinic_id": "c,1"}
    event.update(patient_id="p1", sampling_rate_hz=100.0, trunk_present=False)
    event.update(pelvic_drop_threshold_deg=5.0, trunk_lean_threshold_deg=5.0, min_steps_per_side=10)
    headers = [("reason", b'station clock: "far" off'), ("source", b"gaitstream.stations.v1/3/42")]
    readable = SimpleNamespace(
        key=b"st 1", value=encode("session_event", event), headers=headers, timestamp=1_700, offset=1042
    )
    (line,) = dead_letter_lines(readable)
    assert line == (
        "dead_letter,clinic=c\\,1,reason_kind=station\\ clock,source=stations,station=st\\ 1 "
        'count=1i,reason="station clock: \\"far\\" off" 1700042'
    )
    garbage = SimpleNamespace(key=None, value=b"\x00junk", headers=[], timestamp=5, offset=7)
    (line,) = dead_letter_lines(garbage)
    assert line == 'dead_letter,clinic=-,reason_kind=unknown,source=-,station=- count=1i,reason="unknown" 5007'


@pytest.mark.parametrize("hostile", ["", "\n", "\r\n", "\t", " ", "a\\", "\\", "=,", "\x00x\x7f"])
def test_a_hostile_id_still_makes_a_tag_influxdb_parses(hostile: str) -> None:
    """Found by the fuzz test: a dead letter's key of only control characters made an empty tag
    (InfluxDB refuses the whole batch: HTTP 400); a trailing backslash would escape the separator."""
    value = tag_value(hostile)
    assert value and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    assert not value.endswith("\\") or value.endswith(("\\,", "\\=", "\\ "))
    assert "\\" not in value.replace("\\,", "").replace("\\=", "").replace("\\ ", "")
