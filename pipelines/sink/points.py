"""Wire records -> InfluxDB points (pure). Timestamps come from the data, so a replay overwrites.

Measurements (InfluxQL names used by the dashboards):
- ``gait_step``: one point per stance step at its IC; tags clinic, station, patient, session, side.
- ``gait_status``: rolling status after each step; tags clinic, station, patient, session.
- ``pelvic_trace``: obliquity (and trunk lean) at about 20 Hz; tags clinic, station, patient, session.
"""

from __future__ import annotations

from influxdb_client import Point, WritePrecision

STEP_MEASUREMENT = "gait_step"
STATUS_MEASUREMENT = "gait_status"
TRACE_MEASUREMENT = "pelvic_trace"
PRECISION = WritePrecision.US

_STATUS_FIELDS = ("steps_left", "steps_right", "pelvic_drop_deg_median_left", "pelvic_drop_deg_median_right",
                  "trunk_lean_deg_median_left", "trunk_lean_deg_median_right", "cadence_spm",
                  "step_time_asymmetry_pct", "classification")


def _tagged(measurement: str, record: dict) -> Point:
    return (Point(measurement).tag("clinic", record["clinic_id"]).tag("station", record["station_id"])
            .tag("patient", record["patient_id"]).tag("session", record["session_id"]))


def step_points(record: dict) -> list[Point]:
    point = (_tagged(STEP_MEASUREMENT, record).tag("side", record["side"])
             .field("pelvic_drop_deg", float(record["pelvic_drop_deg"]))
             .field("step_time_s", float(record["step_time_s"]))
             .field("step_index", int(record["step_index"]))
             .time(record["start_time_us"], PRECISION))
    if record.get("trunk_lean_deg") is not None:
        point.field("trunk_lean_deg", float(record["trunk_lean_deg"]))
    if record.get("cadence_spm") is not None:
        point.field("cadence_spm", float(record["cadence_spm"]))
    return [point]


def status_points(record: dict) -> list[Point]:
    point = _tagged(STATUS_MEASUREMENT, record).time(record["time_us"], PRECISION)
    for name in _STATUS_FIELDS:
        value = record.get(name)
        if value is not None:
            point.field(name, value if isinstance(value, str) else float(value))
    return [point]


def trace_points(record: dict) -> list[Point]:
    lean = record.get("trunk_lateral_lean_deg")
    out = []
    for i, offset_us in enumerate(record["time_offsets_us"]):
        point = (_tagged(TRACE_MEASUREMENT, record).field("pelvic_obliquity_deg", float(record["pelvic_obliquity_deg"][i]))
                 .time(record["first_time_us"] + offset_us, PRECISION))
        if lean is not None:
            point.field("trunk_lateral_lean_deg", float(lean[i]))
        out.append(point)
    return out


POINTS_BY_SCHEMA = {"step_metrics": step_points, "gait_status": status_points, "obliquity_trace": trace_points}
