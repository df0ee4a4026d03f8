"""The dead-letter topic: refused messages, unchanged, with the reason and source in headers."""

from __future__ import annotations

import asyncio
import logging

from faust.types import EventT

from gaitstream.logging import kv
from gaitstream.pipelines.app import deadletter_topic

log = logging.getLogger(__name__)


async def send_dead_letter(event: EventT, reason: str) -> asyncio.Future:
    """Queue ``event``'s message for the dead-letter topic; the future completes once the broker has
    it (the gait agent acknowledges the source only then)."""
    msg = event.message
    return await send_dead_letter_raw(msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason)


async def send_dead_letter_raw(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str
) -> asyncio.Future:
    """Queue the message for the dead-letter topic; the returned future completes once the broker has it."""
    source = f"{topic}/{partition}/{offset}"
    delivered = await deadletter_topic.send(
        key=key, value=value, headers=[("reason", reason.encode()), ("source", source.encode())]
    )
    log.warning(kv("dead_letter", source=source, reason=reason))
    return delivered
