"""A quick end-to-end check of a running stack: one message through Kafka, one point through InfluxDB."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from gaitstream.settings import InfluxSettings, KafkaSettings

SMOKE_TOPIC = "gaitstream.smoke"
SMOKE_MEASUREMENT = "gaitstream_smoke"


@dataclass(frozen=True)
class SmokeResult:
    check: str
    ok: bool
    elapsed_ms: float
    detail: str


def kafka_round_trip(kafka: KafkaSettings, timeout_s: float = 20.0) -> SmokeResult:
    """Produce one keyed message with acks=all and read it back (as the admin: the topic is
    created first, the broker creates none by itself)."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    marker = uuid.uuid4().hex.encode()
    started = time.perf_counter()
    admin = KafkaAdminClient(**kafka.client_config())
    try:
        if SMOKE_TOPIC not in admin.list_topics():
            admin.create_topics([NewTopic(SMOKE_TOPIC, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(**kafka.client_config(), acks="all")
    try:
        meta = producer.send(SMOKE_TOPIC, key=b"smoke", value=marker).get(timeout=timeout_s)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        **kafka.client_config(),
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    try:
        from kafka import TopicPartition

        tp = TopicPartition(SMOKE_TOPIC, meta.partition)
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        found = any(record.value == marker for record in consumer)
    finally:
        consumer.close()
    elapsed_ms = (time.perf_counter() - started) * 1000
    return SmokeResult(
        "kafka produce+consume",
        found,
        elapsed_ms,
        f"topic={SMOKE_TOPIC} partition={meta.partition} offset={meta.offset}",
    )


def influx_round_trip(influx: InfluxSettings) -> SmokeResult:
    """Write one point with the v2 write API, read it back with Flux and with InfluxQL."""
    from influxdb_client import InfluxDBClient, Point
    from influxdb_client.client.write_api import SYNCHRONOUS

    marker = uuid.uuid4().hex
    started = time.perf_counter()
    with InfluxDBClient(url=influx.url, token=influx.token.get_secret_value(), org=influx.org) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=influx.bucket, record=Point(SMOKE_MEASUREMENT).tag("marker", marker).field("value_deg", 1.5)
        )
        flux = (
            f'from(bucket: "{influx.bucket}") |> range(start: -1h) '
            f'|> filter(fn: (r) => r._measurement == "{SMOKE_MEASUREMENT}" and r.marker == "{marker}")'
        )
        flux_values = [rec.get_value() for table in client.query_api().query(flux) for rec in table.records]
        import httpx

        resp = httpx.post(
            f"{influx.url}/query",
            data={
                "db": influx.database,
                "q": f"SELECT value_deg FROM {SMOKE_MEASUREMENT} WHERE marker = '{marker}'",
            },
            headers={"Authorization": f"Token {influx.token.get_secret_value()}"},
            timeout=10.0,
        )
        series = resp.json()["results"][0].get("series", [])
        influxql_values = [row[1] for row in series[0]["values"]] if series else []
    ok = flux_values == [1.5] and influxql_values == [1.5]
    elapsed_ms = (time.perf_counter() - started) * 1000
    return SmokeResult("influxdb write+flux+influxql", ok, elapsed_ms, f"flux={flux_values} influxql={influxql_values}")
