"""The station's disk spool (files only): order, acknowledgement, restart, torn writes, limits."""

from __future__ import annotations

import pytest

from gaitstream.services.station.spool import DiskSpool, SpoolFull, decode_record, encode_record


def _spool(path, **kwargs) -> DiskSpool:
    return DiskSpool(path, fsync=False, **{"segment_bytes": 256, **kwargs})


def test_records_leave_in_order_and_acknowledged_ones_are_forgotten(tmp_path) -> None:
    spool = _spool(tmp_path)
    ids = [spool.append(f"frame-{i}".encode()) for i in range(50)]
    assert ids == list(range(50)) and spool.pending == 50
    first = spool.peek(10)
    assert [r.payload for r in first] == [f"frame-{i}".encode() for i in range(10)]
    spool.ack(first[-1].record_id)
    assert [r.record_id for r in spool.peek(5)] == [10, 11, 12, 13, 14]
    spool.ack(49)
    assert spool.pending == 0 and spool.peek(10) == []
    assert len(list(tmp_path.glob("*.seg"))) <= 1  # acknowledged segments are deleted


def test_a_restarted_station_resumes_after_the_last_acknowledged_record(tmp_path) -> None:
    spool = _spool(tmp_path)
    for i in range(30):
        spool.append(f"r{i}".encode())
    spool.ack(11)
    spool.close()
    again = _spool(tmp_path)
    assert again.pending == 18 and again.next_id == 30
    assert [r.payload for r in again.peek(100)] == [f"r{i}".encode() for i in range(12, 30)]
    assert again.append(b"r30") == 30


def test_a_record_torn_by_a_crash_is_cut_off(tmp_path) -> None:
    spool = _spool(tmp_path, segment_bytes=10_000)
    for i in range(5):
        spool.append(f"r{i}".encode())
    spool.close()
    (segment,) = tmp_path.glob("*.seg")
    segment.write_bytes(segment.read_bytes() + b"\x00\x00\x01\x00torn")  # a header promising 256 bytes
    again = _spool(tmp_path, segment_bytes=10_000)
    assert [r.payload for r in again.peek(10)] == [f"r{i}".encode() for i in range(5)]
    assert again.append(b"r5") == 5 and again.peek(10)[-1].payload == b"r5"


def test_the_size_limit_drops_new_records_and_counts_them(tmp_path) -> None:
    spool = _spool(tmp_path, max_bytes=300)
    kept = 0
    with pytest.raises(SpoolFull):
        for _ in range(100):
            spool.append(b"x" * 20)
            kept += 1
    assert 0 < kept < 100 and spool.dropped == 1 and spool.pending == kept
    assert [r.record_id for r in spool.peek(1000)] == list(range(kept))  # the kept ones stay contiguous


def test_segments_past_the_age_limit_expire(tmp_path) -> None:
    now = [1000.0]
    spool = _spool(tmp_path, max_age_s=60, clock=lambda: now[0])
    for i in range(40):
        spool.append(f"r{i:02d}".encode())
    import os

    oldest = sorted(tmp_path.glob("*.seg"))[0]
    os.utime(oldest, (0, 0))  # written long ago
    now[0] = 10_000.0
    dropped = spool.expire()
    assert dropped > 0 and spool.dropped == dropped
    assert spool.peek(1)[0].record_id == dropped


def test_records_round_trip_with_headers() -> None:
    payload = encode_record(b"st-1", b"\x00\x01value", [("gs-sig", b"s" * 32), ("x", b"")])
    assert decode_record(payload) == (b"st-1", b"\x00\x01value", [("gs-sig", b"s" * 32), ("x", b"")])
