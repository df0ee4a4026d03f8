"""``check_messages``: a simulated station that follows the contract passes every rule; each
classic vendor mistake is flagged by its rule, and only by it."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.schemas.codec import decode, encode, peek
from gaitstream.services.station.conformance import check_messages
from gaitstream.services.station.frames import frame_record
from gaitstream.services.station.runner import new_session
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config


def _messages(fault: str | None = None) -> list:
    source = SimulatedSource(pattern_config("normal", duration_s=20.0, seed=4, trunk=False))
    session = new_session(clinic_id="c1", station_id="st", patient_id="p", source=source)
    raw = [encode("session_event", session.event("start", session.start_time_us))]
    for sequence, (first_s, block) in enumerate(source.frames(10)):
        block = dict(block)
        if fault == "rad/s":
            for axis in "xyz":
                block[f"gyr_{axis}"] = np.deg2rad(block[f"gyr_{axis}"])
        if fault == "g":
            for axis in "xyz":
                block[f"acc_{axis}"] = block[f"acc_{axis}"] / 9.80665
        if fault == "axes":
            block["acc_y"], block["acc_z"] = block["acc_z"], block["acc_y"]
        if fault == "gap" and sequence == 50:
            continue
        record = frame_record(session, sequence=sequence, first_sample_s=first_s, block=block)
        if fault == "ms":
            record["first_sample_time_us"] //= 1000
        if fault == "rate":  # declared 100 Hz, but the device samples at 50 Hz
            record["first_sample_time_us"] = session.start_time_us + round(first_s * 2e6)
        raw.append(encode("imu_frame", record))
    raw.append(encode("session_event", session.event("stop", session.start_time_us + 20_000_000)))
    return [(*peek(m), decode(m)[1], None) for m in raw]


def _failed(results) -> set[str]:
    return {r.rule for r in results if not r.ok}


def test_a_station_that_follows_the_contract_passes_every_rule() -> None:
    results = check_messages(_messages())
    assert _failed(results) == set(), [r for r in results if not r.ok]
    assert len(results) == 10


@pytest.mark.parametrize(
    ("fault", "rule", "says"),
    [
        ("rad/s", "angular-rate unit", "rad/s sent as deg/s"),
        ("g", "acceleration unit", "g sent as m/s²"),
        ("ms", "clock unit", "looks like ms"),
        ("gap", "sequence", "jumps"),
        ("axes", "axes", "axes swapped"),
        ("rate", "rate", "clock says 50.0 Hz"),
    ],
)
def test_each_mistake_is_flagged_by_its_rule(fault: str, rule: str, says: str) -> None:
    results = check_messages(_messages(fault))
    assert _failed(results) == {rule}, [r for r in results if not r.ok]
    assert says in next(r.detail for r in results if r.rule == rule)


def test_messages_that_do_not_decode_are_named() -> None:
    results = check_messages([("?", 0, None, "bad magic byte 0x00"), *_messages()[:3]])
    schema = results[0]
    assert not schema.ok and "bad magic byte" in schema.detail


def test_the_check_command_reads_a_capture_and_fails_on_a_mistake(tmp_path) -> None:
    import struct
    import subprocess
    import sys
    from pathlib import Path

    from gaitstream.schemas.codec import encode

    repo = Path(__file__).resolve().parents[2]
    for fault, code in ((None, 0), ("g", 1)):
        messages = _messages(fault)
        capture = tmp_path / f"capture-{fault}.bin"
        capture.write_bytes(
            b"".join(
                struct.pack(">I", len(raw)) + raw for raw in (encode(kind, record) for kind, _v, record, _e in messages)
            )
        )
        done = subprocess.run(
            [sys.executable, "-m", "gaitstream", "station", "check", "--capture", str(capture)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == code, done.stderr
        assert done.stderr.count("station_check rule=") == 10
        if fault == "g":
            assert 'rule="acceleration unit" ok=False' in done.stderr
