"""Publishing from inside the agents straight through the app's producer.

Our values are already Avro bytes and our keys station ids, so Faust's ``Topic.send`` layers
(channel, schema, serializers, a future message per record) add nothing but cost: about a
tenth of the worker's time at 50 stations (benchmarks/pipeline_load.py --capacity). Delivery
guarantees are unchanged: Faust flushes this producer before it commits any offset, so no
input is committed ahead of the outputs it produced.
"""

from __future__ import annotations

import asyncio
import logging

from gaitstream.logging import kv
from pipelines.app import app

log = logging.getLogger(__name__)


def _report(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error(kv("produce_failed", error=f"{type(future.exception()).__name__}: {future.exception()}"))


async def produce(topic: str, key: bytes, value: bytes) -> None:
    """Queue one record (the producer batches; ``linger`` bounds the wait)."""
    delivered = await app.producer.send(topic, key, value, None, None, None)
    delivered.add_done_callback(_report)
