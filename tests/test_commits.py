"""A commit the group refuses is reported, not raised, and the next poll's commit goes through.

The alerts dispatcher's consumer thread died of such a refusal in CI (RebalanceInProgressError from
kafka-python 3, raised by its commit while the group rebalanced). Here the refusal is made
deterministic the other way kafka-python has: the member is dropped from the group for not polling
(CommitFailedError); both take the same path in ``commit_polled``."""

from __future__ import annotations

import time
import uuid

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from gaitstream.commits import commit_polled


def _consumer(kafka_settings, group: str, topic: str) -> KafkaConsumer:
    consumer = KafkaConsumer(
        **kafka_settings.client_config(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        # Longer than this between polls and the client leaves the group (as a stalled store would
        # make the dispatcher do); the broker's smallest session timeout is 6 s.
        max_poll_interval_ms=6000,
    )
    consumer.subscribe([topic])
    return consumer


def _poll_until_records(consumer: KafkaConsumer, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        polled = consumer.poll(timeout_ms=500)
        if polled:
            return sum(len(records) for records in polled.values())
    raise AssertionError("no records polled")


def test_a_commit_outside_the_group_is_refused_with_the_reason_and_the_next_poll_commits(kafka_settings) -> None:
    topic, group = f"commits-{uuid.uuid4().hex[:8]}", f"commits-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_settings.client_config())
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(**kafka_settings.client_config())
    for i in range(20):
        producer.send(topic, key=str(i).encode(), value=b"x")
    producer.flush()
    producer.close()

    consumer = _consumer(kafka_settings, group, topic)
    try:
        assert _poll_until_records(consumer) > 0
        assert commit_polled(consumer) is None
        time.sleep(8.0)  # past max_poll_interval_ms: the member has left; the group moves on without it
        refused = commit_polled(consumer)
        assert refused is not None and ("RebalanceInProgress" in refused or "CommitFailed" in refused), refused
        # Polling again rejoins the group; then the commit goes through.
        deadline = time.monotonic() + 30
        committed = "not yet"
        while committed is not None and time.monotonic() < deadline:
            consumer.poll(timeout_ms=500)
            committed = commit_polled(consumer)
        assert committed is None
    finally:
        consumer.close()
