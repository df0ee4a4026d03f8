"""The dead-letter topic: refused messages, unchanged, with the reason and source in headers."""

from __future__ import annotations

import logging

from faust.types import EventT

from gaitstream.logging import kv
from pipelines.app import deadletter_topic

log = logging.getLogger(__name__)


async def send_dead_letter(event: EventT, reason: str) -> None:
    msg = event.message
    source = f"{msg.topic}/{msg.partition}/{msg.offset}"
    await deadletter_topic.send(key=msg.key, value=msg.value,
                                headers=[("reason", reason.encode()), ("source", source.encode())])
    log.warning(kv("dead_letter", source=source, reason=reason))
