"""The whole chain on the real stack: simulated station -> pipeline worker (alert rules) ->
alerts topic -> dispatcher -> a supervisor's signed webhook. Checks the contract between the
pipeline's records and the dispatcher: every alert state the pipeline published for the
clinic reaches the subscriber once (or, for an open whose resolve was read before it went
out, as the resolve that supersedes it)."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from gaitstream.monitor.alert_settings import settings_key, settings_record
from gaitstream.schemas.codec import decode, encode
from gaitstream.services.alerts.dispatch.settings import DispatchSettings
from gaitstream.services.alerts.store.models import Delivery
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.topics import ensure_alert_topics, write
from tests.e2e.harness import PipelineRun
from tests.services.alerts.dispatch_peers import sessions_for, subscribe, wait_for, webhook_receiver
from tests.services.alerts.test_dispatch_kafka import InProcessDispatcher

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

CLINIC = "clinic-dispatch-e2e"
DASHBOARD = "https://grafana.clinic-dispatch-e2e.example"


def alerts_on_topic(pipeline: PipelineRun) -> list[dict]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        pipeline.topics.alerts,
        **pipeline.kafka.client_config(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        group_id=f"e2e-read-{uuid.uuid4().hex[:6]}",
    )
    try:
        return [decode(message.value)[1] for message in consumer]
    finally:
        consumer.close()


def test_station_to_pipeline_to_dispatcher_to_webhook(kafka_settings, influx_settings, alerts_database_url, tmp_path):
    pipeline = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    ensure_alert_topics(pipeline.kafka, pipeline.topics)
    write(
        pipeline.kafka,
        pipeline.topics.alert_settings,
        settings_key(CLINIC),
        encode("alert_settings", settings_record(CLINIC, updated_us=1, dashboard_url=DASHBOARD)),
    )
    sessions = sessions_for(alerts_database_url)
    try:
        pipeline.start_worker("a")
        with webhook_receiver() as receiver:
            subscribe(sessions, clinic_id=CLINIC, target=receiver.url, min_severity="info")
            settings = DispatchSettings(
                database_url=alerts_database_url,
                consumer_group=f"e2e-{uuid.uuid4().hex[:6]}",
                send_interval_s=0.1,
                consume_poll_timeout_s=0.2,
            )
            with InProcessDispatcher(pipeline.kafka, pipeline.topics, settings):
                from gaitstream.simulate import pattern_config

                source = SimulatedSource(pattern_config("trendelenburg_left", duration_s=40.0, seed=21))
                session = new_session(
                    clinic_id=CLINIC, station_id=f"{pipeline.prefix}-st1", patient_id="p-e2e", source=source
                )
                publisher = StationPublisher(
                    kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings(linger_ms=1)
                )
                try:
                    run_stations([StationRun(session=session, source=source)], publisher, frame_samples=10, speed=0.0)
                finally:
                    publisher.close()

                def resolved_everything() -> bool:
                    published = alerts_on_topic(pipeline)
                    opened = {r["alert_id"] for r in published if r["state"] == "open"}
                    resolved = {r["alert_id"] for r in published if r["state"] == "resolved"}
                    got = {(r.payload["alert"]["alert_id"], r.payload["event"]) for r in receiver.unique().values()}
                    return bool(opened) and opened <= resolved and all((a, "resolved") in got for a in resolved)

                assert wait_for(resolved_everything, 120, interval_s=2.0), (
                    [(r["kind"], r["state"]) for r in alerts_on_topic(pipeline)],
                    len(receiver.requests),
                )
                time.sleep(1.0)
        published = [r for r in alerts_on_topic(pipeline) if r["clinic_id"] == CLINIC]
    finally:
        pipeline.stop()

    with sessions() as session:
        rows = {(d.alert_id, d.state_change): d for d in session.scalars(select(Delivery))}
    received = [(r.payload["alert"]["alert_id"], r.payload["event"]) for r in receiver.requests]
    assert len(received) == len(set(received)), "a delivery arrived twice"
    assert all(r.verified for r in receiver.requests)
    for record in published:
        key = (record["alert_id"], record["state"])
        if key in received:
            continue
        row = rows[key]
        assert record["state"] == "open" and row.last_error == "superseded_by_resolve", (key, row.status)
        assert (record["alert_id"], "resolved") in received
    kinds = {record["kind"] for record in published}
    resolve = next(r.payload["alert"] for r in receiver.requests if r.payload["event"] == "resolved")
    assert resolve["dashboard_url"].startswith(DASHBOARD) and resolve["patient_id"] == "p-e2e"
    print(f"\ne2e: {len(published)} alert records ({', '.join(sorted(kinds))}) -> {len(received)} webhook deliveries")
