"""The dispatcher end to end on the real broker: alerts topic -> store -> real receivers.

- in-process dispatcher: webhook and e-mail received, latency from the alert being in the topic
  to its arrival; a full replay of the topic (a new consumer group on the same store) sends
  nothing twice;
- ``gaitstream alerts dispatch`` as a subprocess, SIGKILLed mid-batch (slow receiver, alerts
  still arriving) and restarted: every alert arrives, none twice (a resend of a send that was in
  flight at the kill carries the same delivery id, and the receiver keeps the first); SIGTERM
  stops it cleanly.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gaitstream.schemas.codec import encode
from gaitstream.services.alerts.dispatch.runner import run_dispatcher
from gaitstream.services.alerts.dispatch.settings import DispatchSettings
from gaitstream.services.alerts.store.models import Delivery
from gaitstream.settings import TopicSettings
from gaitstream.topics import ensure_topics
from tests.roles import role_env
from tests.services.alerts.dispatch_peers import (
    alert_record,
    sessions_for,
    smtp_server,
    subscribe,
    wait_for,
    webhook_receiver,
)

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

REPO = Path(__file__).resolve().parents[3]
# A consumer group's first join and a subprocess's imports take a few seconds on the shared machine.
FIRST_ALERT_TIMEOUT_S = 45.0


@pytest.fixture()
def topics(kafka_settings) -> TopicSettings:
    topics = TopicSettings(prefix=f"it.dispatch-{uuid.uuid4().hex[:8]}", partitions=3)
    ensure_topics(kafka_settings, topics)
    return topics


def publish(kafka_settings, topics: TopicSettings, records: list[dict]) -> dict[str, float]:
    """Send alert records (key = station id) and wait for the broker's acks; alert id -> time acked."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka_settings.client_config(), acks="all")
    try:
        acked: dict[str, float] = {}
        futures = [
            (record, producer.send(topics.alerts, key=record["station_id"].encode(), value=encode("alert", record)))
            for record in records
        ]
        for record, future in futures:
            future.get(timeout=30)
            acked.setdefault(record["alert_id"], time.time())
        return acked
    finally:
        producer.close()


def reset_to_earliest(kafka_settings, topic: str, group: str) -> None:
    """What an operator does to replay the topic: move the (stopped) group back to the start."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.admin import OffsetSpec

    admin = KafkaAdminClient(**kafka_settings.client_config())
    consumer = KafkaConsumer(**kafka_settings.client_config())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        admin.reset_group_offsets(group, {tp: OffsetSpec.EARLIEST for tp in partitions})
        assert all(meta.offset == 0 for meta in admin.list_group_offsets({group: None})[group].values())
    finally:
        consumer.close()
        admin.close()


def group_caught_up(kafka_settings, topic: str, group: str) -> bool:
    """The group's committed offsets have reached the end of every partition."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(**kafka_settings.client_config())
    consumer = KafkaConsumer(**kafka_settings.client_config())
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(partitions)
        return all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items())
    finally:
        consumer.close()
        admin.close()


class InProcessDispatcher:
    def __init__(self, kafka_settings, topics, settings: DispatchSettings) -> None:
        self.stop = threading.Event()
        self.codes: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.codes.append(
                run_dispatcher(
                    kafka=kafka_settings,
                    topics=topics,
                    settings=settings,
                    status_interval_s=5,
                    stop=self.stop,
                    install_signals=False,
                )
            ),
            daemon=True,
        )

    def __enter__(self) -> InProcessDispatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "dispatcher did not stop within 30 s"


def test_topic_to_webhook_and_email_then_a_full_replay_sends_nothing_twice(kafka_settings, topics, alerts_database_url):
    sessions = sessions_for(alerts_database_url)
    with webhook_receiver() as receiver, smtp_server() as smtp:
        subscribe(sessions, target=receiver.url)
        subscribe(sessions, channel="email", target="sam@clinic-a.example")
        settings = DispatchSettings(
            database_url=alerts_database_url,
            consumer_group=f"it-{uuid.uuid4().hex[:8]}",
            send_interval_s=0.05,
            consume_poll_timeout_s=0.2,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            webhook_timeout_s=5,
            lease_s=30,
        )
        opened = [alert_record(n, station_id=f"station-{n % 3:02d}") for n in range(12)]
        resolved = [
            {**r, "state": "resolved", "severity": "info", "time_us": r["time_us"] + 90_000_000} for r in opened[:4]
        ]
        with InProcessDispatcher(kafka_settings, topics, settings):
            # Warm-up: the first alert also waits for the group join; it is not counted in the latency.
            warm = alert_record(99)
            publish(kafka_settings, topics, [warm])
            assert receiver.wait(lambda r: len(r.unique()) >= 1, FIRST_ALERT_TIMEOUT_S), "no first alert"
            acked: dict[str, float] = {}
            for record in opened:  # one at a time: latency per alert, not of a burst
                acked |= publish(kafka_settings, topics, [record])
                time.sleep(0.1)
            publish(kafka_settings, topics, resolved)
            expected = 1 + len(opened) + len(resolved)
            assert receiver.wait(lambda r: len(r.unique()) >= expected, 30), len(receiver.unique())
            assert wait_for(lambda: len(smtp.messages) >= expected, 30), len(smtp.messages)
            time.sleep(1.0)  # anything extra would show up now
        first_pass = (len(receiver.requests), len(smtp.messages))
        assert first_pass == (expected, expected)
        assert all(r.verified for r in receiver.requests)
        latencies = sorted(
            next(
                r.at
                for r in receiver.requests
                if r.payload["alert"]["alert_id"] == alert_id and r.payload["event"] == "open"
            )
            - at
            for alert_id, at in acked.items()
        )
        mail_latencies = sorted(
            next(
                m.received_at
                for m in smtp.messages
                if opened[n]["patient_id"] in m.get_content() and " open " in m["Subject"]
            )
            - acked[opened[n]["alert_id"]]
            for n in range(len(opened))
        )
        print(
            f"\nlatency topic->webhook n={len(latencies)} median_s={statistics.median(latencies):.3f} "
            f"max_s={latencies[-1]:.3f}; topic->smtp median_s={statistics.median(mail_latencies):.3f} "
            f"max_s={mail_latencies[-1]:.3f}"
        )
        assert latencies[-1] < 5.0

        # Replay everything: the group's offsets reset to the start, the dispatcher started again.
        reset_to_earliest(kafka_settings, topics.alerts, settings.consumer_group)
        assert not group_caught_up(kafka_settings, topics.alerts, settings.consumer_group)
        with InProcessDispatcher(kafka_settings, topics, settings):
            assert wait_for(lambda: group_caught_up(kafka_settings, topics.alerts, settings.consumer_group), 45)
            time.sleep(1.0)  # several sender passes
        assert (len(receiver.requests), len(smtp.messages)) == first_pass
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 2 * expected
        assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status != "sent")) == 0


def dispatcher_process(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gaitstream", "alerts", "dispatch", "--status-interval-s", "1"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_dispatcher_killed_mid_batch_and_restarted_drops_nothing_and_duplicates_nothing(
    kafka_settings, topics, store_url, tmp_path
):
    """On SQLite and on PostgreSQL (the clinics' store in docker compose)."""
    sessions = sessions_for(store_url)
    alerts = 80
    # 0.15 s per request, 4 in parallel: about 26 deliveries a second, so the kill lands mid-stream.
    with webhook_receiver(delay_s=0.15) as receiver:
        subscribe(sessions, target=receiver.url)
        group = f"it-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            # The dispatcher's own Kafka user: reads the alerts topic and its group, nothing else.
            **role_env("dispatcher", topics.prefix, dispatcher_group=group),
            "GAITSTREAM_TOPIC_PREFIX": topics.prefix,
            "GAITSTREAM_TOPIC_PARTITIONS": str(topics.partitions),
            "GAITSTREAM_ALERTS_DATABASE_URL": store_url,
            "GAITSTREAM_ALERTS_CONSUMER_GROUP": group,
            "GAITSTREAM_ALERTS_SEND_INTERVAL_S": "0.05",
            "GAITSTREAM_ALERTS_CONSUME_MAX_RECORDS": "10",
            "GAITSTREAM_ALERTS_CONSUME_POLL_TIMEOUT_S": "0.2",
            "GAITSTREAM_ALERTS_SEND_CONCURRENCY": "4",
            "GAITSTREAM_ALERTS_WEBHOOK_TIMEOUT_S": "2",
            "GAITSTREAM_ALERTS_APPRISE_TIMEOUT_S": "2",
            "GAITSTREAM_ALERTS_SMTP_TIMEOUT_S": "2",
            "GAITSTREAM_ALERTS_LEASE_S": "3",
            # The broker's minimum: the killed dispatcher's partitions are free again after 6 s.
            "GAITSTREAM_ALERTS_CONSUMER_SESSION_TIMEOUT_S": "6",
        }
        log = tmp_path / "dispatch.log"
        records = [alert_record(n, station_id=f"station-{n % 5:02d}") for n in range(alerts)]
        publish(kafka_settings, topics, records[: alerts // 2])
        first = dispatcher_process(env, log)
        try:
            assert receiver.wait(lambda r: len(r.unique()) >= 15, FIRST_ALERT_TIMEOUT_S), log.read_text()[-3000:]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = len(receiver.unique())
        # The rest arrives while no dispatcher runs.
        publish(kafka_settings, topics, records[alerts // 2 :])
        started = time.monotonic()
        second = dispatcher_process(env, log)
        try:
            assert receiver.wait(lambda r: len(r.unique()) >= alerts, 60), (
                len(receiver.unique()),
                log.read_text()[-3000:],
            )
            recovered_s = time.monotonic() - started
            time.sleep(4.0)  # past a lease: a late resend would show up now
        finally:
            second.send_signal(signal.SIGTERM)
            code = second.wait(timeout=30)
    output = log.read_text()
    assert code == 0 and "dispatch_stopped" in output, output[-2000:]
    assert "dispatch_status consumed=" in output

    unique = receiver.unique()
    assert sorted(r.payload["alert"]["alert_id"] for r in unique.values()) == sorted(r["alert_id"] for r in records)
    assert all(r.verified for r in receiver.requests)
    resends = len(receiver.requests) - len(unique)
    for request in receiver.requests:  # a resend is the same delivery, recognisable by its id
        assert request.payload == unique[request.delivery_id].payload
    # Only sends in flight at the kill can be repeated: at most send_concurrency of them.
    assert resends <= 4, resends
    assert resends == 0 or "delivery_lease_expired" in output  # resent on purpose, after the lease
    print(
        f"\n{store_url.split(':')[0]}: kill -9 after {at_kill}/{alerts} delivered; all {alerts} delivered "
        f"{recovered_s:.1f} s after the restart; resends of in-flight deliveries (same id, dropped by the "
        f"receiver): {resends}"
    )
    with sessions() as session:
        statuses = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    assert statuses == {"sent": alerts}


def test_a_record_the_store_refuses_is_skipped_and_the_alerts_behind_it_arrive(
    kafka_settings, topics, fresh_postgres_url
):
    from gaitstream.services.alerts.dispatch.ingest import AlertConsumer

    sessions = sessions_for(fresh_postgres_url)
    settings = DispatchSettings(
        database_url=fresh_postgres_url, consumer_group=f"it-{uuid.uuid4().hex[:8]}", consume_poll_timeout_s=0.2
    )
    # PostgreSQL refuses a station id longer than the column (100 characters).
    poison = alert_record(2, station_id="s" * 150)
    publish(kafka_settings, topics, [alert_record(1), poison, alert_record(3)])
    consumer = AlertConsumer(kafka=kafka_settings, topics=topics, settings=settings, sessions=sessions)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: consumer.consumed == 3, FIRST_ALERT_TIMEOUT_S), (consumer.consumed, consumer.refused)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert consumer.refused == 1
    from gaitstream.services.alerts.store.models import Alert

    with sessions() as session:
        assert sorted(session.scalars(select(Alert.session_id))) == ["sess-0001", "sess-0003"]
    assert group_caught_up(kafka_settings, topics.alerts, settings.consumer_group)
