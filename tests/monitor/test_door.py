"""Checks at the pipeline's door: message size before decoding, session rate, the station's clock."""

from __future__ import annotations

import pytest

from gaitstream.monitor.door import (
    MAX_MESSAGE_BYTES,
    StationClockFaults,
    check_message_size,
    check_session_rate,
    clock_problem,
)
from gaitstream.monitor.frames import FrameError
from gaitstream.schemas.codec import decode, encode

NOW_US = 1_764_000_000_000_000  # late 2025, microseconds


@pytest.mark.parametrize("packed", [True, False])
def test_the_largest_valid_frame_fits_under_the_bound(packed: bool) -> None:
    import numpy as np

    from gaitstream.monitor.frames import MAX_FRAME_SAMPLES
    from gaitstream.services.station.frames import PELVIS_COLUMNS, SessionInfo, frame_record

    ids = "x" * 200
    session = SessionInfo(
        clinic_id=ids,
        station_id=ids,
        session_id=ids,
        patient_id=ids,
        sampling_rate_hz=1000.0,
        start_time_us=NOW_US,
        trunk_present=True,
    )
    block = {p + c: np.full(MAX_FRAME_SAMPLES, 1.5) for p in ("", "trunk_") for c in PELVIS_COLUMNS}
    message = encode("imu_frame", frame_record(session, sequence=2**40, first_sample_s=1e5, block=block, packed=packed))
    assert len(message) <= MAX_MESSAGE_BYTES
    check_message_size(len(message))


def test_a_larger_message_is_refused_unread() -> None:
    check_message_size(MAX_MESSAGE_BYTES)
    with pytest.raises(FrameError, match="refused unread"):
        check_message_size(MAX_MESSAGE_BYTES + 1)


@pytest.mark.parametrize("rate_hz", [0.0, 10.0, 1e6, float("nan")])
def test_a_session_rate_outside_the_supported_range_is_refused(rate_hz: float) -> None:
    with pytest.raises(FrameError, match="outside"):
        check_session_rate(rate_hz)


@pytest.mark.parametrize("rate_hz", [20.0, 100.0, 1000.0])
def test_supported_session_rates_pass(rate_hz: float) -> None:
    check_session_rate(rate_hz)


@pytest.mark.parametrize(
    ("sample_time_us", "hint"),
    [
        (NOW_US * 1000, "nanoseconds"),
        (NOW_US // 1000, "milliseconds"),
        (946_684_800_000_000, "behind"),  # an RTC reset to 2000-01-01
        (0, "behind"),
        (NOW_US + 2 * 86_400_000_000, "ahead"),
    ],
)
def test_a_clock_far_from_kafkas_is_named_with_its_likely_cause(sample_time_us: int, hint: str) -> None:
    problem = clock_problem(sample_time_us, NOW_US)
    assert problem is not None and hint in problem and "station clock" in problem


def test_a_clock_within_the_tolerance_passes() -> None:
    assert clock_problem(NOW_US - 600_000_000, NOW_US) is None  # 10 min of send buffer
    assert clock_problem(NOW_US + 60_000_000, NOW_US) is None  # a fast-running station
    assert clock_problem(NOW_US - 600_000_000, NOW_US, tolerance_s=300) is not None


def test_a_station_clock_alert_opens_once_and_resolves_with_the_same_id() -> None:
    faults = StationClockFaults()
    frame = {"clinic_id": "c", "station_id": "s1", "session_id": "x", "patient_id": "p", "sequence": 7}
    (opened,) = faults.refused(frame, "station clock: ...", time_us=1, sequence=7)
    assert (opened["kind"], opened["state"], opened["severity"]) == ("station_clock", "open", "critical")
    assert faults.refused({**frame, "sequence": 8}, "again", time_us=2, sequence=8) == []
    assert faults.accepted("s2", time_us=3) == []
    (resolved,) = faults.accepted("s1", time_us=4)
    assert resolved["alert_id"] == opened["alert_id"] and resolved["state"] == "resolved"
    assert faults.accepted("s1", time_us=5) == []
    assert decode(encode("alert", opened))[1]["patient_id"] == "p"  # a valid wire record
