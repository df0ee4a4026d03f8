"""Publishing from inside the agents straight through the app's producer.

Our values are already Avro bytes and our keys station ids, so Faust's ``Topic.send`` layers
(channel, schema, serializers, a future message per record) add nothing but cost: about a
tenth of the worker's time at 50 stations (benchmarks/pipeline_load.py --capacity). Each record's
delivery future is returned: the gait agent acknowledges an input only once the records it
caused are stored (ledger.CheckpointLedger).

Partitions are chosen here, as the Kafka clients' default partitioner chooses them (murmur2 of
the key over the topic's partitions), once per station and topic: aiokafka would hash the key
in Python at every record.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.partitioner import murmur2

from gaitstream.logging import kv
from gaitstream.pipelines.app import app
from gaitstream.pipelines.faust_adapter import producer_partitions

log = logging.getLogger(__name__)

# (topic, key) -> partition; a few entries per station.
_partitions: dict[tuple[str, bytes], int] = {}


def _report(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error(kv("produce_failed", error=f"{type(future.exception()).__name__}: {future.exception()}"))


def default_partition(key: bytes, partitions: list[int]) -> int:
    """The Kafka clients' default placement of a keyed record (Java, kafka-python, aiokafka)."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


def _partition(topic: str, key: bytes) -> int | None:
    partition = _partitions.get((topic, key))
    if partition is None:
        known = producer_partitions(app, topic)
        if not known:
            return None  # no metadata yet: the client places this one itself
        partition = _partitions[(topic, key)] = default_partition(key, sorted(known))
    return partition


async def produce(topic: str, key: bytes, value: bytes) -> asyncio.Future:
    """Queue one record (the producer batches; ``linger`` bounds the wait); the future completes
    once the broker has it."""
    delivered = await app.producer.send(topic, key, value, _partition(topic, key), None, None)
    delivered.add_done_callback(_report)
    return delivered
