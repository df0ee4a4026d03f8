"""Find and parse the schema files; no I/O until a schema is asked for."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

AVRO_DIR = Path(__file__).resolve().parent / "avro"
_FILE_RE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.avsc$")

# One byte on the wire per record type (see README: envelope). Never reuse or renumber.
SCHEMA_IDS: dict[str, int] = {
    "imu_frame": 1,
    "session_event": 2,
    "step_metrics": 3,
    "gait_status": 4,
    "alert": 5,
    "obliquity_trace": 6,
    "alert_settings": 7,
    "session_history": 8,
    "feedback_cue": 9,
}


def schema_versions(name: str) -> list[int]:
    """All versions of ``name`` present, ascending."""
    if name not in SCHEMA_IDS:
        raise ValueError(f"unknown schema {name!r}; valid: {sorted(SCHEMA_IDS)}")
    found = (_FILE_RE.match(p.name) for p in AVRO_DIR.glob(f"{name}.v*.avsc"))
    return sorted(int(m["version"]) for m in found if m and m["name"] == name)


@cache
def latest_version(name: str) -> int:
    versions = schema_versions(name)
    if not versions:
        raise ValueError(f"no schema file for {name!r} in {AVRO_DIR}")
    return versions[-1]


def _without_logical_types(node):
    """Logical types do not change the binary encoding; dropping them keeps times as integers
    (microseconds) in Python instead of datetime objects."""
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(v) for v in node]
    return node


def raw_schema(name: str, version: int) -> dict:
    """The schema file as written (JSON), with its logical types and docs."""
    path = AVRO_DIR / f"{name}.v{version}.avsc"
    if not path.exists():
        raise ValueError(f"schema {name!r} has no version {version}; present: {schema_versions(name)}")
    return json.loads(path.read_text())


@cache
def load_schema(name: str, version: int) -> dict:
    """The parsed (fastavro) schema ``name`` at ``version``, times as integer microseconds."""
    from fastavro import parse_schema

    return parse_schema(_without_logical_types(raw_schema(name, version)))
