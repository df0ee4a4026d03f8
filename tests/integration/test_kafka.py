"""Produce and consume through the real broker with both Kafka clients the project uses."""

from __future__ import annotations

import asyncio
import uuid

MESSAGES = 20


def test_kafka_python_round_trip(kafka_settings) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic = f"it.kafka-python.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_settings.client_config())
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()

    producer = KafkaProducer(**kafka_settings.client_config(), acks="all", retries=5)
    sent = [f"frame-{i}".encode() for i in range(MESSAGES)]
    for i, value in enumerate(sent):
        producer.send(topic, key=f"station-{i % 4}".encode(), value=value)
    producer.flush(timeout=20)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        **kafka_settings.client_config(),
        group_id=f"it-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
    )
    received = []
    keys_by_partition: dict[int, set[bytes]] = {}
    for record in consumer:
        received.append(record.value)
        keys_by_partition.setdefault(record.partition, set()).add(record.key)
        if len(received) == MESSAGES:
            break
    consumer.close()

    assert sorted(received) == sorted(sent)
    # Same key -> same partition: a station's frames stay in order on one partition.
    all_keys = [k for keys in keys_by_partition.values() for k in keys]
    assert len(all_keys) == len(set(all_keys)) == 4


def test_aiokafka_round_trip(kafka_settings) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    topic = f"it.aiokafka.{uuid.uuid4().hex[:8]}"
    # The broker creates no topic by itself (auto-creation is off): the operator does.
    admin = KafkaAdminClient(**kafka_settings.client_config())
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    admin.close()

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(**kafka_settings.client_config(), acks="all")
        await producer.start()
        try:
            for i in range(MESSAGES):
                await producer.send_and_wait(topic, key=b"station-1", value=f"frame-{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            **kafka_settings.client_config(),
            group_id=f"it-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        out: list[bytes] = []
        try:
            async with asyncio.timeout(20):
                async for record in consumer:
                    out.append(record.value)
                    if len(out) == MESSAGES:
                        break
        finally:
            await consumer.stop()
        return out

    received = asyncio.run(run())
    # One key -> one partition -> the order the producer sent.
    assert received == [f"frame-{i}".encode() for i in range(MESSAGES)]


def test_an_existing_topic_gets_the_configs_an_upgrade_asks_for(kafka_settings) -> None:
    """The checkpoint changelog of a running clinic needs the larger max.message.bytes too."""
    import time
    import uuid

    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from gaitstream.settings import TopicSettings
    from gaitstream.topics import delete_topics_with_prefix, ensure_topics

    topics = TopicSettings(prefix=f"it.cfg{uuid.uuid4().hex[:6]}", partitions=1)
    name = f"{topics.prefix}.changelog"
    try:
        ensure_topics(kafka_settings, topics, extra={name: {"cleanup.policy": "compact"}})
        wanted = {"cleanup.policy": "compact", "max.message.bytes": str(8 * 1024 * 1024)}
        ensure_topics(kafka_settings, topics, extra={name: wanted}, update_configs=True)
        admin = KafkaAdminClient(**kafka_settings.client_config())
        try:
            deadline = time.monotonic() + 15
            while True:  # the broker applies a topic config through its metadata log: soon, not at once
                described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])["topic"][name]
                got = {key: value["value"] for key, value in described.items()}
                if got == wanted or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        finally:
            admin.close()
        assert got == wanted
    finally:
        delete_topics_with_prefix(kafka_settings, topics.prefix)
