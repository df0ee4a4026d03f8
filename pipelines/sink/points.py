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
- ``gait_session``: a point at each session start (``active=1``) and stop (``active=0``) with
  the session's thresholds, so dashboards and alert rules can tell a finished session from a
  silent station, and draw each patient's own threshold.

Lines are formatted here rather than with ``influxdb_client.Point``: at clinic scale the
generic Point serialisation cost more CPU than the gait engine (benchmarks/pipeline_load.py).
"""

from __future__ import annotations

from influxdb_client import WritePrecision

from gaitstream.schemas.codec import WireError, decode

SESSION_MEASUREMENT = "gait_session"
ALERT_MEASUREMENT = "gait_alert"
STEP_MEASUREMENT = "gait_step"
STATUS_MEASUREMENT = "gait_status"
TRACE_MEASUREMENT = "pelvic_trace"
PRECISION = WritePrecision.US

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
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": "", "\r": ""})


def tag_value(value: str) -> str:
    """Escape a tag value (line protocol: commas, equals signs and spaces)."""
    return str(value).translate(_TAG_ESCAPES)


def string_field(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _series(measurement: str, record: dict) -> str:
    return (
        f"{measurement},clinic={tag_value(record['clinic_id'])},patient={tag_value(record['patient_id'])},"
        f"session={tag_value(record['session_id'])},station={tag_value(record['station_id'])}"
    )


def _fields(pairs: list[tuple[str, object]]) -> str:
    out = []
    for name, value in pairs:
        if value is None:
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
    return [f"{series} {fields} {int(record['start_time_us'])}"]


def status_lines(record: dict) -> list[str]:
    pairs: list[tuple[str, object]] = [(name, record.get(name)) for name in _STATUS_FIELDS]
    pairs = [(n, float(v) if isinstance(v, float) else v) for n, v in pairs]
    pairs.append(("classification", record["classification"]))
    # always written (empty: no caveat), so that a dashboard's last() never shows a stale flag
    pairs.append(("classification_flags", ",".join(record.get("classification_flags") or [])))
    if record.get("trunk_lean_reference") is not None:
        pairs.append(("trunk_lean_reference", record["trunk_lean_reference"]))
    return [f"{_series(STATUS_MEASUREMENT, record)} {_fields(pairs)} {int(record['time_us'])}"]


def trace_lines(record: dict) -> list[str]:
    # The busiest measurement (20 points per station-second): one comprehension per record.
    head = f"{_series(TRACE_MEASUREMENT, record)} pelvic_obliquity_deg="
    lean = record.get("trunk_lateral_lean_deg")
    t0 = int(record["first_time_us"])
    phi = [float(v) for v in record["pelvic_obliquity_deg"]]
    if lean is None:
        return [f"{head}{p!r} {t0 + dt}" for p, dt in zip(phi, record["time_offsets_us"], strict=True)]
    lean = [float(v) for v in lean]
    return [
        f"{head}{p!r},trunk_lateral_lean_deg={q!r} {t0 + dt}"
        for p, q, dt in zip(phi, lean, record["time_offsets_us"], strict=True)
    ]


def session_lines(record: dict) -> list[str]:
    fields = _fields(
        [
            ("active", 1 if record["event"] == "start" else 0),
            ("pelvic_drop_threshold_deg", float(record["pelvic_drop_threshold_deg"])),
            ("trunk_lean_threshold_deg", float(record["trunk_lean_threshold_deg"])),
            ("min_steps_per_side", int(record["min_steps_per_side"])),
            ("trunk_present", bool(record["trunk_present"])),
        ]
    )
    return [f"{_series(SESSION_MEASUREMENT, record)} {fields} {int(record['time_us'])}"]


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
    return [f"{series} {fields} {int(record['time_us'])}"]


LINES_BY_SCHEMA = {
    "session_event": session_lines,
    "alert": alert_lines,
    "step_metrics": step_lines,
    "gait_status": status_lines,
    "obliquity_trace": trace_lines,
}


def batch_lines(records) -> tuple[list[str], list[tuple[object, str]]]:
    """Line protocol of a batch of Kafka records (anything with a ``value`` of wire bytes), and
    the records refused with the reason (for the dead-letter topic)."""
    lines: list[str] = []
    refused: list[tuple[object, str]] = []
    for record in records:
        try:
            kind, value = decode(record.value)
            lines.extend(LINES_BY_SCHEMA[kind](value))
        except (WireError, KeyError, TypeError, ValueError) as exc:
            refused.append((record, getattr(exc, "reason", f"{type(exc).__name__}: {exc}")))
    return lines, refused
