"""Write with influxdb-client's write API; read back with Flux (/api/v2/query) and InfluxQL (/query)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest


def test_write_then_read_with_flux_and_influxql(influx_settings) -> None:
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    session = uuid.uuid4().hex[:12]
    now_ns = time.time_ns()
    drops_deg = [3.1, 4.2, 5.3, 6.4]
    points = [
        Point("it_steps")
        .tag("session", session)
        .tag("side", "left" if i % 2 == 0 else "right")
        .field("pelvic_drop_deg", value)
        .time(now_ns - (len(drops_deg) - i) * 1_000_000_000, WritePrecision.NS)
        for i, value in enumerate(drops_deg)
    ]
    token = influx_settings.token.get_secret_value()
    with InfluxDBClient(url=influx_settings.url, token=token, org=influx_settings.org) as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket=influx_settings.bucket, record=points)
        flux = (
            f'from(bucket: "{influx_settings.bucket}") |> range(start: -10m) '
            f'|> filter(fn: (r) => r._measurement == "it_steps" and r.session == "{session}") '
            f'|> filter(fn: (r) => r._field == "pelvic_drop_deg")'
        )
        tables = client.query_api().query(flux)
        by_side: dict[str, list[float]] = {}
        for table in tables:
            for record in table.records:
                by_side.setdefault(record.values["side"], []).append(record.get_value())
    assert by_side == {"left": [3.1, 5.3], "right": [4.2, 6.4]}

    resp = httpx.post(
        f"{influx_settings.url}/query",
        headers={"Authorization": f"Token {token}"},
        data={
            "db": influx_settings.database,
            "q": f"SELECT median(pelvic_drop_deg) FROM it_steps WHERE session = '{session}' GROUP BY side",
        },
        timeout=10,
    )
    resp.raise_for_status()
    series = {s["tags"]["side"]: s["values"][0][1] for s in resp.json()["results"][0]["series"]}
    assert series == pytest.approx({"left": 4.2, "right": 5.3})


def test_unauthenticated_write_is_refused(influx_settings) -> None:
    resp = httpx.post(
        f"{influx_settings.url}/api/v2/write",
        params={"bucket": influx_settings.bucket},
        content=b"it_steps,side=left pelvic_drop_deg=1",
        timeout=10,
    )
    assert resp.status_code == 401
