"""The envelope: every Kafka value is ``MAGIC | schema id | schema version | Avro binary body``.

Three header bytes make each message self-describing without a schema registry: a reader picks
the writer's schema from the header and resolves it to its own (newest) version, so old
producers keep working while consumers move on.
"""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from gaitstream.schemas.registry import SCHEMA_IDS, latest_version, load_schema

MAGIC = 0x47  # "G"
HEADER_BYTES = 3
_NAMES_BY_ID = {schema_id: name for name, schema_id in SCHEMA_IDS.items()}


class WireError(ValueError):
    """A message that cannot be decoded; ``reason`` is short and goes to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(name: str, record: dict[str, Any], *, version: int | None = None) -> bytes:
    """Serialise ``record`` as schema ``name`` (newest version unless given)."""
    version = latest_version(name) if version is None else version
    buf = io.BytesIO()
    buf.write(bytes((MAGIC, SCHEMA_IDS[name], version)))
    schemaless_writer(buf, load_schema(name, version), record)
    return buf.getvalue()


def peek(data: bytes) -> tuple[str, int]:
    """The (schema name, writer version) of a message, or WireError."""
    if len(data) < HEADER_BYTES:
        raise WireError(f"message too short ({len(data)} bytes) for the 3-byte envelope")
    if data[0] != MAGIC:
        raise WireError(f"bad magic byte 0x{data[0]:02x} (want 0x{MAGIC:02x}): not a gaitstream message")
    name = _NAMES_BY_ID.get(data[1])
    if name is None:
        raise WireError(f"unknown schema id {data[1]}")
    return name, data[2]


def decode(data: bytes, *, expect: tuple[str, ...] | None = None) -> tuple[str, dict[str, Any]]:
    """Decode a message into (schema name, record in the newest version's shape)."""
    name, version = peek(data)
    if expect is not None and name not in expect:
        raise WireError(f"unexpected record type {name!r} here; expected one of {list(expect)}")
    try:
        writer = load_schema(name, version)
    except ValueError as exc:
        raise WireError(f"{name} version {version} is unknown to this reader") from exc
    try:
        record = schemaless_reader(io.BytesIO(data[HEADER_BYTES:]), writer, load_schema(name, latest_version(name)))
    except Exception as exc:
        raise WireError(f"corrupt {name} v{version} body: {type(exc).__name__}: {exc}") from exc
    return name, record
