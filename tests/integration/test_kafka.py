"""Produce and consume through the real broker with both Kafka clients the project uses."""

from __future__ import annotations

import asyncio
import uuid

import pytest

pytestmark = pytest.mark.integration

MESSAGES = 20


def test_kafka_python_round_trip(kafka_settings) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic = f"it.kafka-python.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()

    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers, acks="all", retries=5)
    sent = [f"frame-{i}".encode() for i in range(MESSAGES)]
    for i, value in enumerate(sent):
        producer.send(topic, key=f"station-{i % 4}".encode(), value=value)
    producer.flush(timeout=20)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_settings.bootstrap_servers,
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

    topic = f"it.aiokafka.{uuid.uuid4().hex[:8]}"

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(MESSAGES):
                await producer.send_and_wait(topic, key=b"station-1", value=f"frame-{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_settings.bootstrap,
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
