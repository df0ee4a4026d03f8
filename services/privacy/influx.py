"""InfluxDB side: one patient's points exported as CSV, deleted, and points past retention deleted
(v2 HTTP API with the operator's token: the sink's may only write). A patient is a pseudonym
within a clinic: every query and deletion matches both tags, as pseudonyms are unique per clinic
only (the same ``p-0042`` may be two people in two clinics)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from gaitstream.settings import InfluxSettings

MEASUREMENTS = ("gait_step", "gait_status", "gait_session", "gait_alert", "pelvic_trace", "gait_feedback")
# Every point ever written lies after this (the sink writes the data's own times).
EPOCH = "1970-01-01T00:00:00Z"
TIMEOUT_S = 120.0


def _client(influx: InfluxSettings) -> httpx.Client:
    return httpx.Client(
        base_url=influx.url,
        headers={"Authorization": f"Token {influx.token.get_secret_value()}"},
        timeout=TIMEOUT_S,
    )


def _flux(influx: InfluxSettings, measurement: str, clinic: str, pseudonym: str) -> str:
    return (
        f'from(bucket: "{influx.bucket}") |> range(start: 0) '
        f'|> filter(fn: (r) => r._measurement == "{measurement}" and r.clinic == "{clinic}" '
        f'and r.patient == "{pseudonym}") '
        '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") '
        '|> group() |> sort(columns: ["_time"])'
    )


def export_points(influx: InfluxSettings, clinic: str, pseudonym: str, out_dir: Path) -> dict[str, int]:
    """One CSV per measurement (``influxdb-<measurement>.csv``: time, tags, fields); rows per file."""
    counts: dict[str, int] = {}
    with _client(influx) as client:
        for measurement in MEASUREMENTS:
            resp = client.post(
                "/api/v2/query",
                params={"org": influx.org},
                headers={"Accept": "application/csv", "Content-Type": "application/vnd.flux"},
                content=_flux(influx, measurement, clinic, pseudonym),
            )
            resp.raise_for_status()
            rows = _rows(resp.text)
            path = out_dir / f"influxdb-{measurement}.csv"
            with path.open("w", newline="") as handle:
                if rows:
                    columns = [
                        c for c in rows[0] if c not in ("", "result", "table", "_start", "_stop", "_measurement")
                    ]
                    writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
                    writer.writeheader()
                    writer.writerows(rows)
            counts[measurement] = len(rows)
    return counts


def _rows(text: str) -> list[dict[str, str]]:
    """Flux's CSV answer (one table after ``group()``; blank lines separate tables)."""
    rows: list[dict[str, str]] = []
    for block in text.strip().split("\r\n\r\n"):
        if block.strip():
            rows += list(csv.DictReader(io.StringIO(block)))
    return rows


def count_values(influx: InfluxSettings, clinic: str, pseudonym: str) -> int:
    """How many field values InfluxDB holds of the clinic's ``pseudonym`` (every measurement; a
    point of n fields counts n)."""
    query = (
        f'from(bucket: "{influx.bucket}") |> range(start: 0) '
        f'|> filter(fn: (r) => r.clinic == "{clinic}" and r.patient == "{pseudonym}") |> group() |> count()'
    )
    with _client(influx) as client:
        resp = client.post(
            "/api/v2/query",
            params={"org": influx.org},
            headers={"Accept": "application/csv", "Content-Type": "application/vnd.flux"},
            content=query,
        )
        resp.raise_for_status()
    return sum(int(row["_value"]) for row in _rows(resp.text) if row.get("_value"))


def delete_points(influx: InfluxSettings, clinic: str, pseudonym: str) -> None:
    """Every point tagged with the clinic and ``pseudonym``, in every measurement, of all time."""
    _delete(influx, EPOCH, _far_future(), f'clinic="{clinic}" AND patient="{pseudonym}"')


def delete_older(influx: InfluxSettings, measurement: str, days: float, *, now: datetime | None = None) -> str:
    """Points of ``measurement`` older than ``days``; returns the cut-off (RFC 3339)."""
    now = now or datetime.now(UTC)
    cutoff = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _delete(influx, EPOCH, cutoff, f'_measurement="{measurement}"')
    return cutoff


def _far_future() -> str:
    return (datetime.now(UTC) + timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _delete(influx: InfluxSettings, start: str, stop: str, predicate: str) -> None:
    with _client(influx) as client:
        resp = client.post(
            "/api/v2/delete",
            params={"org": influx.org, "bucket": influx.bucket},
            json={"start": start, "stop": stop, "predicate": predicate},
        )
    if resp.status_code >= 400:
        raise RuntimeError(f"InfluxDB refused the delete ({resp.status_code}): {resp.text[:200]}")
