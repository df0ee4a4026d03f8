"""The record that an erasure (or export) happened, kept without the data: who, when, what was
done, how many records per store, the clinic, and the patient only as the SHA-256 of
``<clinic>/<pseudonym>`` (whoever holds the pseudonym can find the entry; the entry alone names
nobody). An append-only topic only the admin may read or write."""

from __future__ import annotations

import hashlib
import json
import time

from gaitstream.settings import KafkaSettings, TopicSettings


def audit_topic(topics: TopicSettings) -> str:
    return topics.name("privacy-audit")


def pseudonym_digest(clinic: str, pseudonym: str) -> str:
    return hashlib.sha256(f"{clinic}/{pseudonym}".encode()).hexdigest()


def entry(
    action: str, clinic: str, pseudonym: str, actor: str, counts: dict[str, int], *, time_s: float | None = None
) -> dict:
    return {
        "action": action,
        "clinic": clinic,
        "pseudonym_sha256": pseudonym_digest(clinic, pseudonym),
        "actor": actor,
        "time_s": time.time() if time_s is None else time_s,
        "counts": counts,
    }


def record(kafka: KafkaSettings, topics: TopicSettings, record_: dict) -> None:
    """Append ``record_`` to the audit topic (created on first use, kept forever)."""
    from gaitstream.topics import ensure_topics, write

    name = audit_topic(topics)
    ensure_topics(kafka, topics, extra={name: {"cleanup.policy": "delete", "retention.ms": "-1"}})
    write(kafka, name, record_["pseudonym_sha256"], json.dumps(record_, sort_keys=True).encode())
