"""gaitstream's topics from outside the pipeline (kafka-python): create them when missing
(idempotent; used by the worker and the stations), and read or write the compacted ones (the alert
rules' settings and the patients' session histories: ``gaitstream alerts settings``, the tests)."""

from __future__ import annotations

import logging
import time

from gaitstream.logging import kv
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)


def ensure_topics(
    kafka: KafkaSettings,
    topics: TopicSettings,
    *,
    replication_factor: int = 1,
    extra: dict[str, dict[str, str]] | None = None,
    update_configs: bool = False,
) -> list[str]:
    """Create the stations, steps, status, trace, alerts and dead-letter topics; returns those created.

    All share the same partition count and key (station id), so a station's frames, steps and
    status live on the same partition number and one worker owns all of them. ``extra`` adds
    topics (name -> topic configs) with the same partition count, e.g. the pipeline's changelogs.
    ``update_configs``: topics that exist already get the configs given here (an upgrade changes
    them in place).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**kafka.client_config(), client_id="gaitstream-topics")
    try:
        existing = set(admin.list_topics())
        wanted = {name: {} for name in topics.all()} | (extra or {})
        missing = [name for name in wanted if name not in existing]
        created: list[str] = []
        if missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=topics.partitions,
                            replication_factor=replication_factor,
                            topic_configs=wanted[name],
                        )
                        for name in missing
                    ]
                )
                created = missing
            except TopicAlreadyExistsError:
                pass  # another worker or station created them in between (with which configs?)
            log.info(kv("topics_created", topics=",".join(missing), partitions=topics.partitions))
        if update_configs:
            _update_configs(
                admin, {name: configs for name, configs in wanted.items() if configs and name not in created}
            )
        return missing
    finally:
        admin.close()


def _update_configs(admin, wanted: dict[str, dict[str, str]]) -> None:
    """Set each topic's configs where they differ from ``wanted`` (kafka-python 3 alters
    incrementally where the broker supports it: other keys keep their values)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    if not wanted:
        return
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in wanted])
    topics = described.get("topic", {})
    changed = [
        name
        for name, configs in wanted.items()
        if any((topics.get(name, {}).get(key) or {}).get("value") != value for key, value in configs.items())
    ]
    if changed:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=wanted[name]) for name in changed])
        log.info(kv("topic_configs_updated", topics=",".join(changed)))


def delete_topics_with_prefix(kafka: KafkaSettings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (test and benchmark runs clean up)."""
    from kafka import KafkaAdminClient

    if not prefix:
        raise ValueError("prefix must not be empty: it would delete every topic")
    admin = KafkaAdminClient(**kafka.client_config(), client_id="gaitstream-topics")
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed)
        return doomed
    finally:
        admin.close()


COMPACTED = {"cleanup.policy": "compact"}
# Reading a compacted topic to its end: it is small (one record per clinic or patient).
READ_TIMEOUT_S = 20.0


def ensure_alert_topics(kafka: KafkaSettings, topics: TopicSettings) -> None:
    """All gaitstream topics, with the settings and history topics compacted."""
    ensure_topics(kafka, topics, extra={topics.alert_settings: COMPACTED, topics.session_history: COMPACTED})


def read_latest(kafka: KafkaSettings, topic: str, *, timeout_s: float = READ_TIMEOUT_S) -> dict[str, bytes]:
    """The latest value per key (str) of ``topic``, read from the beginning to the current end."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        **kafka.client_config(),
        client_id="gaitstream-alert-settings",
        enable_auto_commit=False,
        group_id=None,
    )
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

    producer = KafkaProducer(**kafka.client_config(), client_id="gaitstream-alert-settings", acks="all")
    try:
        producer.send(topic, key=key.encode(), value=value).get(timeout=30)
    finally:
        producer.close()
