"""The wire contract: every schema parses, each version reads what its predecessor wrote, the
envelope refuses what is not ours, and nothing carries a patient's name."""

from __future__ import annotations

import json

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from gaitstream.schemas import SCHEMA_IDS, latest_version, load_schema, schema_versions
from gaitstream.schemas.codec import WireError, decode, encode
from gaitstream.schemas.registry import AVRO_DIR, raw_schema

SAMPLES = {
    "imu_frame": {
        "station_id": "s1",
        "session_id": "x",
        "sequence": 3,
        "first_sample_time_us": 1_700_000_000_000_000,
        "sampling_rate_hz": 100.0,
        "sensors": [
            {
                "location": "pelvis",
                "acc_x_mps2": [0.5],
                "acc_y_mps2": [0.0],
                "acc_z_mps2": [9.75],
                "gyr_x_dps": [1.0],
                "gyr_y_dps": [2.0],
                "gyr_z_dps": [-3.0],
            }
        ],
    },
    "session_event": {
        "station_id": "s1",
        "session_id": "x",
        "event": "start",
        "time_us": 5,
        "clinic_id": "c",
        "patient_id": "p-1",
        "sampling_rate_hz": 100.0,
        "sensor_axes": "x=forward,y=left,z=up",
        "trunk_present": False,
        "pelvic_drop_threshold_deg": 5.0,
        "trunk_lean_threshold_deg": 5.0,
        "min_steps_per_side": 10,
    },
    "step_metrics": {
        "clinic_id": "c",
        "station_id": "s1",
        "session_id": "x",
        "patient_id": "p-1",
        "step_index": 7,
        "side": "left",
        "start_time_us": 10,
        "end_time_us": 20,
        "step_time_s": 0.5,
        "pelvic_drop_deg": 4.5,
        "trunk_lean_deg": None,
    },
    "gait_status": {
        "clinic_id": "c",
        "station_id": "s1",
        "session_id": "x",
        "patient_id": "p-1",
        "time_us": 1,
        "window_steps": 20,
        "steps_left": 3,
        "steps_right": 2,
        "classification": "insufficient_data",
    },
    "alert": {
        "alert_id": "a1",
        "state": "open",
        "kind": "pelvic_drop_sustained",
        "severity": "warning",
        "time_us": 1,
        "clinic_id": "c",
        "station_id": "s1",
        "session_id": "x",
        "patient_id": "p-1",
        "message": "left pelvic drop over 5 deg on 16 of 20 steps",
    },
    "obliquity_trace": {
        "clinic_id": "c",
        "station_id": "s1",
        "session_id": "x",
        "patient_id": "p-1",
        "first_time_us": 100,
        "time_offsets_us": [0, 50_000],
        "pelvic_obliquity_deg": [1.0, 2.0],
        "trunk_lateral_lean_deg": None,
    },
    "alert_settings": {
        "scope": "patient",
        "clinic_id": "c",
        "patient_id": "p-1",
        "updated_us": 1,
        "open_fraction": 0.8,
        "severities": {"worsening": "critical"},
    },
    "session_history": {
        "clinic_id": "c",
        "patient_id": "p-1",
        "sessions": [
            {
                "session_id": "x",
                "station_id": "s1",
                "start_time_us": 1,
                "stop_time_us": 2,
                "steps_left": 40,
                "steps_right": 41,
                "pelvic_drop_deg_median_left": 3.5,
                "pelvic_drop_deg_median_right": 3.25,
            }
        ],
    },
    "feedback_cue": {
        "clinic_id": "c",
        "station_id": "s1",
        "session_id": "x",
        "patient_id": "p-1",
        "step_index": 7,
        "side": "right",
        "end_time_us": 20,
        "block_index": 1,
        "schedule": "faded",
        "cue": True,
        "shown": True,
        "screens": 1,
        "pelvic_drop_deg": 4.5,
        "display_latency_ms": 180.5,
    },
}


def test_every_schema_file_is_registered_and_parses() -> None:
    names = {p.name.split(".v")[0] for p in AVRO_DIR.glob("*.avsc")}
    assert names == set(SCHEMA_IDS)
    for name in names:
        for version in schema_versions(name):
            parse_schema(raw_schema(name, version))


def test_schema_ids_are_unique_bytes() -> None:
    assert len(set(SCHEMA_IDS.values())) == len(SCHEMA_IDS)
    assert all(0 < i < 256 for i in SCHEMA_IDS.values())


PAIRS = [(name, v) for name in SCHEMA_IDS for v in schema_versions(name) if v > 1]


def test_at_least_one_schema_has_evolved() -> None:
    assert PAIRS, "the compatibility test below needs at least one schema with two versions"


def _keeps(written, read) -> bool:
    """``read`` holds everything ``written`` had (nested records may gain defaulted fields)."""
    if isinstance(written, dict):
        return isinstance(read, dict) and all(k in read and _keeps(v, read[k]) for k, v in written.items())
    if isinstance(written, list):
        return isinstance(read, list) and len(read) == len(written) and all(map(_keeps, written, read))
    if isinstance(written, float):
        return read == pytest.approx(written)
    return read == written


@pytest.mark.parametrize(("name", "version"), PAIRS)
def test_each_version_reads_data_written_by_its_previous_version(name: str, version: int) -> None:
    old = encode(name, SAMPLES[name], version=version - 1)
    kind, record = decode(old)  # the reader uses the newest version
    assert kind == name
    for key, value in SAMPLES[name].items():
        assert _keeps(value, record[key]), f"{name}.{key}: wrote {value!r}, read {record[key]!r}"
    new_fields = {f["name"] for f in raw_schema(name, version)["fields"]} - set(SAMPLES[name])
    for field in raw_schema(name, version)["fields"]:
        if field["name"] in new_fields:
            assert "default" in field, f"{name} v{version} adds {field['name']} without a default"
            assert record[field["name"]] == field["default"]


@pytest.mark.parametrize("name", sorted(SCHEMA_IDS))
def test_round_trip_newest_version(name: str) -> None:
    assert validate(SAMPLES[name] | _defaults(name), load_schema(name, latest_version(name)))
    kind, record = decode(encode(name, SAMPLES[name]))
    assert kind == name
    assert record.get("station_id", "s1") == "s1"  # settings and histories are keyed by clinic/patient


def _defaults(name: str) -> dict:
    return {f["name"]: f["default"] for f in raw_schema(name, latest_version(name))["fields"] if "default" in f}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (b"\x00\x01\x01abc", "bad magic byte"),
        (b"G\xfe\x01abc", "unknown schema id 254"),
        (b"G\x01\x63abc", "imu_frame version 99 is unknown"),
        (b"G\x01\x01\xff\xff", "corrupt imu_frame v1 body"),
    ],
)
def test_decode_refuses_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        decode(data)


def test_decode_refuses_unexpected_type() -> None:
    with pytest.raises(WireError, match="unexpected record type 'alert'"):
        decode(encode("alert", SAMPLES["alert"]), expect=("imu_frame",))


def test_no_field_can_carry_a_name() -> None:
    for path in AVRO_DIR.glob("*.avsc"):
        text = json.dumps(json.loads(path.read_text())["fields"]).lower()
        for forbidden in ('"name": "patient_name', '"first_name', '"last_name', '"surname', '"birth'):
            assert forbidden not in text, f"{path.name} has a field that identifies a person"
