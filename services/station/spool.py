"""The station's on-disk spool: every record is written here first and leaves for the broker in
order; what the broker has acknowledged is forgotten. A broker outage only makes the spool grow;
a station restarted during one resumes from it. Bounded by size and age (settings).

Layout: segment files ``<first id, 20 digits>.seg`` of records ``length (4 bytes) | crc32 (4) |
payload``, and ``acked`` holding the last acknowledged id (replaced atomically). A record torn by a
crash mid-write fails its length or checksum and is cut off at open. Pure file I/O, no broker.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct(">II")  # payload length, crc32
SEGMENT_SUFFIX = ".seg"


class SpoolFull(RuntimeError):
    """The spool holds ``max_bytes`` already: the record was not kept (``reason`` says which limit)."""


@dataclass(frozen=True)
class SpooledRecord:
    record_id: int
    payload: bytes


def encode_record(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> bytes:
    """A Kafka record as spool payload: key, value and headers, each length-prefixed."""
    parts = [struct.pack(">I", len(key)), key, struct.pack(">I", len(value)), value, struct.pack(">H", len(headers))]
    for name, data in headers:
        encoded = name.encode()
        parts += [struct.pack(">H", len(encoded)), encoded, struct.pack(">I", len(data)), data]
    return b"".join(parts)


def decode_record(payload: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    offset = 0

    def take(size_format: str) -> bytes:
        nonlocal offset
        (size,) = struct.unpack_from(size_format, payload, offset)
        offset += struct.calcsize(size_format)
        data = payload[offset : offset + size]
        offset += size
        return data

    key = take(">I")
    value = take(">I")
    (count,) = struct.unpack_from(">H", payload, offset)
    offset += 2
    headers = []
    for _ in range(count):
        name = take(">H").decode()
        headers.append((name, take(">I")))
    return key, value, headers


def read_pending(directory: Path) -> list[bytes]:
    """The payloads not yet acknowledged, in order, read-only: another process may be using the
    spool (a record it is writing is not returned). For tools and tests, not for sending."""
    try:
        acked = int((directory / "acked").read_text())
    except (FileNotFoundError, ValueError):
        acked = -1
    out = []
    segments = sorted((int(p.stem), p) for p in directory.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit())
    for first_id, path in segments:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # acknowledged and removed meanwhile
        offset, record_id = 0, first_id
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[offset + _HEADER.size : end]) != crc:
                break
            if record_id > acked:
                out.append(data[offset + _HEADER.size : end])
            offset, record_id = end, record_id + 1
    return out


class DiskSpool:
    """An ordered, durable, bounded queue of records in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 512 * 1024 * 1024,
        max_age_s: float = 7 * 24 * 3600.0,
        segment_bytes: int = 4 * 1024 * 1024,
        fsync: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes <= 0 or segment_bytes <= 0 or max_age_s <= 0:
            raise ValueError("max_bytes, segment_bytes and max_age_s must be positive")
        self.directory = directory
        self.max_bytes, self.max_age_s, self.segment_bytes = max_bytes, max_age_s, segment_bytes
        self.fsync, self.clock = fsync, clock
        directory.mkdir(parents=True, exist_ok=True)
        self._acked = self._read_acked()
        self._segments: list[tuple[int, Path]] = sorted(
            (int(p.stem), p) for p in directory.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit()
        )
        self._next_id = self._repair_tail()
        self._write_handle = None
        self.dropped = 0

    # ------------------------------------------------------------------ state
    def _read_acked(self) -> int:
        try:
            return int((self.directory / "acked").read_text())
        except (FileNotFoundError, ValueError):
            return -1

    def _repair_tail(self) -> int:
        """The next id; a torn record at the end of the last segment is cut off."""
        if not self._segments:
            return self._acked + 1
        first_id, path = self._segments[-1]
        count, good_bytes = 0, 0
        with path.open("rb") as handle:
            data = handle.read()
        while good_bytes + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, good_bytes)
            end = good_bytes + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[good_bytes + _HEADER.size : end]) != crc:
                break
            good_bytes, count = end, count + 1
        if good_bytes != len(data):
            with path.open("r+b") as handle:
                handle.truncate(good_bytes)
        return max(first_id + count, self._acked + 1)

    @property
    def next_id(self) -> int:
        return self._next_id

    @property
    def pending(self) -> int:
        """Records written and not yet acknowledged."""
        return self._next_id - self._acked - 1

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for _, p in self._segments if p.exists())

    def oldest_age_s(self) -> float:
        """Age of the oldest segment still holding unacknowledged records (0 when empty)."""
        if not self.pending or not self._segments:
            return 0.0
        return max(0.0, self.clock() - self._segments[0][1].stat().st_mtime)

    # ------------------------------------------------------------------ write
    def append(self, payload: bytes) -> int:
        """Store one record durably; its id. Raises ``SpoolFull`` at the size limit (the record is
        dropped and counted: the older records keep their order and contiguity)."""
        record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        if self.size_bytes + len(record) > self.max_bytes:
            self.dropped += 1
            raise SpoolFull(f"spool holds {self.size_bytes} bytes, its limit is {self.max_bytes}")
        if not self._segments or self._segments[-1][1].stat().st_size + len(record) > self.segment_bytes:
            self._roll()
        handle = self._handle()
        handle.write(record)
        handle.flush()
        if self.fsync:
            os.fsync(handle.fileno())
        record_id = self._next_id
        self._next_id += 1
        return record_id

    def _roll(self) -> None:
        if self._write_handle is not None:
            self._write_handle.close()
            self._write_handle = None
        path = self.directory / f"{self._next_id:020d}{SEGMENT_SUFFIX}"
        path.touch()
        self._segments.append((self._next_id, path))

    def _handle(self):
        if self._write_handle is None:
            self._write_handle = self._segments[-1][1].open("ab")
        return self._write_handle

    # ------------------------------------------------------------------ read and acknowledge
    def peek(self, max_records: int) -> list[SpooledRecord]:
        """Up to ``max_records`` unacknowledged records from the oldest on, in order."""
        out: list[SpooledRecord] = []
        wanted = self._acked + 1
        for index, (first_id, path) in enumerate(self._segments):
            next_first = self._segments[index + 1][0] if index + 1 < len(self._segments) else self._next_id
            if next_first <= wanted:
                continue
            data = path.read_bytes()
            offset, record_id = 0, first_id
            while offset + _HEADER.size <= len(data) and len(out) < max_records:
                length, _crc = _HEADER.unpack_from(data, offset)
                payload = data[offset + _HEADER.size : offset + _HEADER.size + length]
                if record_id >= wanted and record_id < self._next_id:
                    out.append(SpooledRecord(record_id, payload))
                offset += _HEADER.size + length
                record_id += 1
            if len(out) >= max_records:
                break
        return out

    def ack(self, record_id: int) -> None:
        """Everything up to ``record_id`` reached the broker: forget it (whole segments are removed)."""
        if record_id <= self._acked:
            return
        self._acked = min(record_id, self._next_id - 1)
        tmp = self.directory / "acked.tmp"
        tmp.write_text(str(self._acked))
        os.replace(tmp, self.directory / "acked")
        while len(self._segments) > 1 and self._segments[1][0] <= self._acked + 1:
            _, path = self._segments.pop(0)
            path.unlink(missing_ok=True)
        if len(self._segments) == 1 and self._acked + 1 >= self._next_id and self._write_handle is None:
            _, path = self._segments.pop(0)
            path.unlink(missing_ok=True)

    def expire(self) -> int:
        """Drop whole segments older than ``max_age_s`` (counted as dropped); returns records dropped."""
        dropped = 0
        while len(self._segments) > 1 and self.clock() - self._segments[0][1].stat().st_mtime > self.max_age_s:
            first_id, path = self._segments.pop(0)
            last_id = self._segments[0][0] - 1
            dropped += max(0, last_id - max(first_id, self._acked + 1) + 1)
            path.unlink(missing_ok=True)
            self._acked = max(self._acked, last_id)
        if dropped:
            self.dropped += dropped
            (self.directory / "acked").write_text(str(self._acked))
        return dropped

    def close(self) -> None:
        if self._write_handle is not None:
            self._write_handle.close()
            self._write_handle = None
