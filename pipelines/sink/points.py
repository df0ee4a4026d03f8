"""Wire records -> InfluxDB line protocol (pure). Timestamps come from the data, so a replay
overwrites instead of duplicating.

Measurements (InfluxQL names used by the dashboards), all tagged clinic, station, patient, session:
- ``gait_step``: one point per stance step at its IC, also tagged ``side``; fields
  pelvic_drop_deg, trunk_lean_deg (with a trunk sensor), step_time_s, cadence_spm, step_index.
- ``gait_status``: the rolling status after each step (medians per side, cadence, asymmetry,
  classification as a string field, its flags comma-separated (empty: none) and what the trunk
  lean is relative to).
- ``pelvic_trace``: pelvic_obliquity_deg (and trunk_lateral_lean_deg) at about 20 Hz.
- ``gait_alert``: each alert opening or resolving (tags + side; fields alert_id, kind, severity,
  state, message, value, threshold, and when present baseline, sensor, fault, dashboard_url),
  read by the dashboards as annotations.
- ``dead_letter``: each refused message (tags clinic when readable, station, source topic kind,
  reason kind; fields count=1, reason), so a dashboard counts them per station and reason.
- ``gait_session``: a point at each session start (``active=1``) and stop (``active=0``) with
  the session's thresholds (and, with a feedback screen, its plan and target), so dashboards and
  alert rules can tell a finished session from a silent station, and draw each patient's own
  threshold.

Only finite numbers reach line protocol: a NaN or infinite field is left out of its point (InfluxDB
2.x refuses a whole request for one ``nan``), a point with no field left is not written, and a
time outside InfluxDB's range (1677-2262) refuses its record with the reason.

Lines are formatted here rather than with ``influxdb_client.Point``: at clinic scale the
generic Point serialisation cost more CPU than the gait engine (benchmarks/pipeline_load.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from influxdb_client import WritePrecision

from gaitstream.schemas.codec import WireError, decode

SESSION_MEASUREMENT = "gait_session"
FEEDBACK_MEASUREMENT = "gait_feedback"
ALERT_MEASUREMENT = "gait_alert"
STEP_MEASUREMENT = "gait_step"
STATUS_MEASUREMENT = "gait_status"
TRACE_MEASUREMENT = "pelvic_trace"
DEAD_LETTER_MEASUREMENT = "dead_letter"
PRECISION = WritePrecision.US
# InfluxDB stores nanoseconds in an int64: times in microseconds must stay within this.
MAX_ABS_TIME_US = (2**63 - 1) // 1000

_STATUS_FIELDS = (
    "steps_left",
    "steps_right",
    "steps_last_10s",
    "pelvic_drop_deg_median_left",
    "pelvic_drop_deg_median_right",
    "trunk_lean_deg_median_left",
    "trunk_lean_deg_median_right",
    "cadence_spm",
    "step_time_asymmetry_pct",
)
# Line protocol escapes commas, equals signs and spaces in tag values; control characters cannot be
# written at all, and a backslash before the separator would escape it: it is written as %5C.
_TAG_ESCAPES = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\\": "%5C", **{chr(c): "" for c in (*range(32), 127)}}
)


def tag_value(value: str) -> str:
    """A tag value as line protocol takes it (escaped; an empty one, which InfluxDB refuses, is "-").
    Ids from hostile input (a dead letter's key) can be anything."""
    return str(value).translate(_TAG_ESCAPES) or "-"


def string_field(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _series(measurement: str, record: dict) -> str:
    return (
        f"{measurement},clinic={tag_value(record['clinic_id'])},patient={tag_value(record['patient_id'])},"
        f"session={tag_value(record['session_id'])},station={tag_value(record['station_id'])}"
    )


def point_time_us(value) -> int:
    """A point's time, refused (ValueError) when InfluxDB could not store it."""
    time_us = int(value)
    if abs(time_us) > MAX_ABS_TIME_US:
        raise ValueError(f"time {time_us} us is outside InfluxDB's time range")
    return time_us


def _line(series: str, fields: str, time_us) -> list[str]:
    """One point, or none when no field is left (every value was missing or not finite)."""
    return [f"{series} {fields} {point_time_us(time_us)}"] if fields else []


def _fields(pairs: list[tuple[str, object]]) -> str:
    out = []
    for name, value in pairs:
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if isinstance(value, str):
            out.append(f"{name}={string_field(value)}")
        elif isinstance(value, bool):
            out.append(f"{name}={'true' if value else 'false'}")
        elif isinstance(value, int):
            out.append(f"{name}={value}i")
        else:
            out.append(f"{name}={float(value)!r}")
    return ",".join(out)


def step_lines(record: dict) -> list[str]:
    fields = _fields(
        [
            ("pelvic_drop_deg", float(record["pelvic_drop_deg"])),
            ("trunk_lean_deg", None if record.get("trunk_lean_deg") is None else float(record["trunk_lean_deg"])),
            ("step_time_s", float(record["step_time_s"])),
            ("cadence_spm", None if record.get("cadence_spm") is None else float(record["cadence_spm"])),
            ("step_index", int(record["step_index"])),
        ]
    )
    # Tags in sorted key order (InfluxDB's preference): clinic, patient, session, side, station.
    series = _series(STEP_MEASUREMENT, record).replace(",station=", f",side={tag_value(record['side'])},station=", 1)
    return _line(series, fields, record["start_time_us"])


def status_lines(record: dict) -> list[str]:
    pairs: list[tuple[str, object]] = [(name, record.get(name)) for name in _STATUS_FIELDS]
    pairs = [(n, float(v) if isinstance(v, float) else v) for n, v in pairs]
    pairs.append(("classification", record["classification"]))
    # always written (empty: no caveat), so that a dashboard's last() never shows a stale flag
    pairs.append(("classification_flags", ",".join(record.get("classification_flags") or [])))
    if record.get("trunk_lean_reference") is not None:
        pairs.append(("trunk_lean_reference", record["trunk_lean_reference"]))
    return _line(_series(STATUS_MEASUREMENT, record), _fields(pairs), record["time_us"])


def trace_lines(record: dict) -> list[str]:
    # The busiest measurement (20 points per station-second): one comprehension per record.
    series = _series(TRACE_MEASUREMENT, record)
    lean = record.get("trunk_lateral_lean_deg")
    t0 = int(record["first_time_us"])
    offsets = record["time_offsets_us"]
    for dt in (0, *((min(offsets), max(offsets)) if offsets else ())):
        point_time_us(t0 + dt)
    phi = [float(v) for v in record["pelvic_obliquity_deg"]]
    lean = None if lean is None else [float(v) for v in lean]
    if not (all(map(math.isfinite, phi)) and (lean is None or all(map(math.isfinite, lean)))):
        return _finite_trace(series, phi, lean, t0, offsets)
    head = f"{series} pelvic_obliquity_deg="
    if lean is None:
        return [f"{head}{p!r} {t0 + dt}" for p, dt in zip(phi, offsets, strict=True)]
    return [f"{head}{p!r},trunk_lateral_lean_deg={q!r} {t0 + dt}" for p, q, dt in zip(phi, lean, offsets, strict=True)]


def _finite_trace(series: str, phi: list[float], lean: list[float] | None, t0: int, offsets) -> list[str]:
    """The trace's points with non-finite values left out (rare: the fast path checks first)."""
    if len(phi) != len(offsets) or (lean is not None and len(lean) != len(offsets)):
        raise ValueError("trace arrays differ in length")
    lines = []
    for i, dt in enumerate(offsets):
        fields = _fields(
            [("pelvic_obliquity_deg", phi[i]), ("trunk_lateral_lean_deg", None if lean is None else lean[i])]
        )
        lines.extend(_line(series, fields, t0 + dt))
    return lines


def session_lines(record: dict) -> list[str]:
    fields = _fields(
        [
            ("active", 1 if record["event"] == "start" else 0),
            ("pelvic_drop_threshold_deg", float(record["pelvic_drop_threshold_deg"])),
            ("trunk_lean_threshold_deg", float(record["trunk_lean_threshold_deg"])),
            ("min_steps_per_side", int(record["min_steps_per_side"])),
            ("trunk_present", bool(record["trunk_present"])),
            # v2, on a real station's stop event: its sensor link and clocks over the session
            *((name, _optional(record.get(name), kind)) for name, kind in SESSION_LINK_FIELDS),
            # v3, with the patient's screen: its plan and target, for the session report
            ("feedback_plan", record.get("feedback_plan")),
            ("target_pelvic_drop_deg", _optional(record.get("target_pelvic_drop_deg"), float)),
        ]
    )
    return _line(_series(SESSION_MEASUREMENT, record), fields, record["time_us"])


SESSION_LINK_FIELDS = (
    ("device_clock_drift_ppm", float),
    ("trunk_clock_offset_ms", float),
    ("trunk_clock_drift_ppm", float),
    ("dropped_samples", int),
    ("sample_gaps", int),
    ("sensor_restarts", int),
    ("trunk_missing_samples", int),
)


def _optional(value, kind):
    return None if value is None else kind(value)


def alert_lines(record: dict) -> list[str]:
    series = _series(ALERT_MEASUREMENT, record)
    if record.get("side"):
        series = series.replace(",station=", f",side={tag_value(record['side'])},station=", 1)
    fields = _fields(
        [
            ("alert_id", record["alert_id"]),
            ("kind", record["kind"]),
            ("severity", record["severity"]),
            ("state", record["state"]),
            ("message", record["message"]),
            ("value", None if record.get("value") is None else float(record["value"])),
            ("threshold", None if record.get("threshold") is None else float(record["threshold"])),
            ("baseline", None if record.get("baseline") is None else float(record["baseline"])),
            ("sensor", record.get("sensor")),
            ("fault", record.get("fault")),
            ("dashboard_url", record.get("dashboard_url")),
        ]
    )
    return _line(series, fields, record["time_us"])


def feedback_lines(record: dict) -> list[str]:
    """One step's cue on the patient's screen (measurement ``gait_feedback``; tags block, its
    schedule and side; cue and shown as 0/1 so that their mean is the dose)."""
    series = _series(FEEDBACK_MEASUREMENT, record).replace(
        ",clinic=", f",block={int(record['block_index'])},clinic=", 1
    )
    series = series.replace(",session=", f",schedule={tag_value(record['schedule'])},session=", 1)
    series = series.replace(",station=", f",side={tag_value(record['side'])},station=", 1)
    fields = _fields(
        [
            ("step_index", int(record["step_index"])),
            ("cue", int(bool(record["cue"]))),
            ("shown", int(bool(record["shown"]))),
            ("screens", int(record["screens"])),
            ("pelvic_drop_deg", float(record["pelvic_drop_deg"])),
            (
                "display_latency_ms",
                None if record.get("display_latency_ms") is None else float(record["display_latency_ms"]),
            ),
        ]
    )
    return _line(series, fields, record["end_time_us"])


LINES_BY_SCHEMA = {
    "session_event": session_lines,
    "feedback_cue": feedback_lines,
    "alert": alert_lines,
    "step_metrics": step_lines,
    "gait_status": status_lines,
    "obliquity_trace": trace_lines,
}


@dataclass
class BatchLines:
    """A batch of Kafka records as line protocol: each decodable record with its lines (in
    order), the records refused with the reason (for the dead-letter topic), and the clinics
    whose data the batch carries (who is told when it cannot be stored)."""

    entries: list[tuple[object, list[str]]] = field(default_factory=list)
    refused: list[tuple[object, str]] = field(default_factory=list)
    clinics: set[str] = field(default_factory=set)


def batch_lines(records) -> BatchLines:
    """Line protocol of a batch of Kafka records (anything with a ``value`` of wire bytes)."""
    batch = BatchLines()
    for record in records:
        try:
            kind, value = decode(record.value)
            lines, clinic = LINES_BY_SCHEMA[kind](value), str(value["clinic_id"])
        except (WireError, KeyError, TypeError, ValueError, OverflowError) as exc:
            batch.refused.append((record, getattr(exc, "reason", f"{type(exc).__name__}: {exc}")))
        else:
            batch.entries.append((record, lines))
            batch.clinics.add(clinic)
    return batch


def reason_kind(reason: str) -> str:
    """The reason's leading words (before any number, colon or quote): a tag of few values."""
    match = re.match(r"[A-Za-z_ ]+", reason)
    return (match.group(0).strip().lower() if match else "")[:40] or "other"


def _header(record, name: str) -> str:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return ""


def dead_letter_fields(record) -> dict:
    """What a dead letter says: who it came from (as far as it can be read), why and whence."""
    ids = {"clinic_id": "-", "station_id": (record.key or b"-").decode(errors="replace")[:100] or "-"}
    ids.update(session_id="-", patient_id="-")
    try:
        _, value = decode(record.value)
    except (WireError, TypeError, ValueError):
        value = {}
    for name in ("clinic_id", "session_id", "patient_id"):
        if isinstance(value.get(name), str):
            ids[name] = value[name][:100] or "-"
    reason = _header(record, "reason") or "unknown"
    source = _header(record, "source")
    return {**ids, "reason": reason, "source_topic": source.rsplit("/", 2)[0] if source else "-"}


def dead_letter_lines(record) -> list[str]:
    """One point per dead letter, at the time it was refused (its Kafka time; the offset's last
    digits keep two in the same millisecond apart)."""
    info = dead_letter_fields(record)
    topic = info["source_topic"]
    kind = (topic.split(".")[-2] if topic.count(".") >= 2 else topic) or "-"  # <prefix>.<kind>.v1
    series = (
        f"{DEAD_LETTER_MEASUREMENT},clinic={tag_value(info['clinic_id'])},reason_kind={tag_value(reason_kind(info['reason']))},"
        f"source={tag_value(kind)},station={tag_value(info['station_id'])}"
    )
    fields = _fields([("count", 1), ("reason", info["reason"][:300])])
    return _line(series, fields, int(record.timestamp) * 1000 + record.offset % 1000)
