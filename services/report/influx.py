"""What InfluxDB holds of a session, read back as a :class:`SessionRecord` (the pipeline's points:
``gait_session``, ``gait_step``, ``gait_feedback``, ``gait_status``), and a patient's sessions.

Reads with a token that may read the bucket (the report service's, or the operator's); the sink's
may only write. Ids reach Flux only through :func:`flux_string` (an id is data, never query text).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from influxdb_client import InfluxDBClient

from gaitstream.exceptions import GaitstreamError
from gaitstream.services.report.figures import Cue, SessionRecord, Step
from gaitstream.settings import InfluxSettings

# Steps and cues of a session come after its start and at most this long after its stop (the
# sink's batches, a late trunk step): the read window's slack.
AFTER_STOP_S = 300
TIMEOUT_MS = 120_000
# A range without a stop ends at now(): a station whose clock runs ahead (or a replay faster than
# real time) would have its last points, and its stop, missing from the report.
FAR_FUTURE = "2200-01-01T00:00:00Z"


class SessionNotFound(GaitstreamError):
    """InfluxDB holds no start of the session (the message names it)."""


class SessionIncomplete(GaitstreamError):
    """InfluxDB does not hold the session's stop yet: the sink writes a session's points in the
    order of the steps topic, so until the stop is there some steps may not be."""


def flux_string(value: str) -> str:
    """``value`` as a Flux string literal (backslash, quote and interpolation escaped)."""
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


def _rfc3339(time_us: int) -> str:
    return datetime.fromtimestamp(time_us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time_us(record) -> int:
    moment = record.get_time()
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


class SessionReader:
    """Reads sessions over one InfluxDB client (``with SessionReader.open(settings) as reader``)."""

    def __init__(self, client: InfluxDBClient, bucket: str) -> None:
        self._query = client.query_api()
        self.bucket = bucket

    @classmethod
    @contextmanager
    def open(cls, influx: InfluxSettings) -> Iterator[SessionReader]:
        with InfluxDBClient(
            url=influx.url, token=influx.token.get_secret_value(), org=influx.org, timeout=TIMEOUT_MS
        ) as client:
            yield cls(client, influx.bucket)

    def _rows(self, measurement: str, where: str, start: str, stop: str | None = None) -> list[dict]:
        flux = (
            f"from(bucket: {flux_string(self.bucket)}) "
            f"|> range(start: {start}, stop: {stop or FAR_FUTURE}) "
            f"|> filter(fn: (r) => r._measurement == {flux_string(measurement)} and {where}) "
            '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") '
            '|> group() |> sort(columns: ["_time"])'
        )
        return [
            {**record.values, "time_us": _time_us(record)}
            for table in self._query.query(flux)
            for record in table.records
        ]

    def session_ids_of(self, clinic_id: str, patient_id: str) -> list[str]:
        """The patient's sessions that started, oldest first."""
        rows = self._rows(
            "gait_session",
            f"r.clinic == {flux_string(clinic_id)} and r.patient == {flux_string(patient_id)}",
            start="0",
        )
        return list(dict.fromkeys(row["session"] for row in rows if row.get("active") == 1))

    def read(self, session_id: str, *, require_stop: bool = False) -> SessionRecord:
        """The session as InfluxDB holds it; ``require_stop``: refuse (SessionIncomplete) until
        its stop point is there, which the sink writes after every step before it."""
        where = f"r.session == {flux_string(session_id)}"
        events = self._rows("gait_session", where, start="0")
        starts = [row for row in events if row.get("active") == 1]
        if not starts:
            raise SessionNotFound(f"session {session_id}: InfluxDB holds no start of it")
        start = starts[0]
        stops = [row for row in events if row.get("active") == 0 and row["time_us"] >= start["time_us"]]
        stopped_us = stops[-1]["time_us"] if stops else None
        if require_stop and stopped_us is None:
            raise SessionIncomplete(f"session {session_id}: InfluxDB does not hold its stop yet")
        window = {
            "start": _rfc3339(start["time_us"] - 1_000_000),
            "stop": None if stopped_us is None else _rfc3339(stopped_us + AFTER_STOP_S * 1_000_000),
        }
        steps = tuple(
            Step(
                time_us=row["time_us"],
                side=row["side"],
                pelvic_drop_deg=float(row["pelvic_drop_deg"]),
                step_time_s=float(row["step_time_s"]),
                trunk_lean_deg=row.get("trunk_lean_deg"),
                cadence_spm=row.get("cadence_spm"),
                step_index=int(row.get("step_index") or 0),
            )
            for row in self._rows("gait_step", where, **window)
            if row.get("pelvic_drop_deg") is not None and row.get("step_time_s") is not None
        )
        cues = tuple(
            Cue(
                time_us=row["time_us"],
                block_index=int(row["block"]),
                schedule=row["schedule"],
                side=row["side"],
                shown=bool(row.get("shown")),
                pelvic_drop_deg=float(row.get("pelvic_drop_deg") or 0.0),
                step_index=int(row.get("step_index") or 0),
            )
            for row in self._rows("gait_feedback", where, **window)
        )
        statuses = self._rows("gait_status", where, **window)
        last = statuses[-1] if statuses else {}
        flags = str(last.get("classification_flags") or "")
        target = start.get("target_pelvic_drop_deg")
        return SessionRecord(
            clinic_id=start["clinic"],
            patient_id=start["patient"],
            session_id=session_id,
            station_id=start["station"],
            started_us=start["time_us"],
            stopped_us=stopped_us,
            pelvic_drop_threshold_deg=float(start.get("pelvic_drop_threshold_deg") or 5.0),
            trunk_lean_threshold_deg=float(start.get("trunk_lean_threshold_deg") or 5.0),
            target_pelvic_drop_deg=None if target is None else float(target),
            feedback_plan=start.get("feedback_plan"),
            trunk_present=bool(start.get("trunk_present")),
            classification=last.get("classification"),
            classification_flags=tuple(flag for flag in flags.split(",") if flag),
            steps=steps,
            cues=cues,
        )
