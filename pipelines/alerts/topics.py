"""The alert rules' compacted topics from outside the pipeline (kafka-python): create them, read
them whole, write one record. Used by ``gaitstream alerts settings`` and the tests."""

from __future__ import annotations

import time

from gaitstream.settings import KafkaSettings, TopicSettings
from gaitstream.topics import ensure_topics

COMPACTED = {"cleanup.policy": "compact"}
# Reading a compacted topic to its end: it is small (one record per clinic or patient).
READ_TIMEOUT_S = 20.0


def ensure_alert_topics(kafka: KafkaSettings, topics: TopicSettings) -> None:
    """All gaitstream topics, with the settings and history topics compacted."""
    ensure_topics(kafka, topics, extra={topics.alert_settings: COMPACTED, topics.session_history: COMPACTED})


def read_latest(kafka: KafkaSettings, topic: str, *, timeout_s: float = READ_TIMEOUT_S) -> dict[str, bytes]:
    """The latest value per key (str) of ``topic``, read from the beginning to the current end."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, client_id="gaitstream-alert-settings",
                             enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            return {}
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        latest: dict[str, bytes] = {}
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} to its end took over {timeout_s} s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    key = (record.key or b"").decode()
                    if record.value is None:
                        latest.pop(key, None)  # a tombstone
                    else:
                        latest[key] = record.value
        return latest
    finally:
        consumer.close()


def write(kafka: KafkaSettings, topic: str, key: str, value: bytes | None) -> None:
    """One record (``None`` = a tombstone), acknowledged by every in-sync replica."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, client_id="gaitstream-alert-settings",
                             acks="all")
    try:
        producer.send(topic, key=key.encode(), value=value).get(timeout=30)
    finally:
        producer.close()
