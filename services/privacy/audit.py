"""The record that an erasure (or export) happened, kept without the data: who, when, what was
done, how many records per store, the clinic, and the patient only as HMAC-SHA256 of
``<clinic>/<pseudonym>`` under a deployment's key (whoever holds the pseudonym and the key can
find the entry; the entry alone names nobody, and with short pseudonym patterns a plain hash
could be reversed by trying them all). An append-only topic only the admin may read or write."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from gaitstream.settings import KafkaSettings, TopicSettings


def audit_topic(topics: TopicSettings) -> str:
    return topics.name("privacy-audit")


def pseudonym_digest(key: bytes, clinic: str, pseudonym: str) -> str:
    return hmac.new(key, f"{clinic}/{pseudonym}".encode(), hashlib.sha256).hexdigest()


def entry(
    action: str,
    clinic: str,
    pseudonym: str,
    actor: str,
    counts: dict[str, int],
    *,
    key: bytes,
    time_s: float | None = None,
) -> dict:
    return {
        "action": action,
        "clinic": clinic,
        "patient_hmac_sha256": pseudonym_digest(key, clinic, pseudonym),
        "actor": actor,
        "time_s": time.time() if time_s is None else time_s,
        "counts": counts,
    }


def record(kafka: KafkaSettings, topics: TopicSettings, record_: dict) -> None:
    """Append ``record_`` to the audit topic (created on first use, kept forever)."""
    from gaitstream.topics import ensure_topics, write

    name = audit_topic(topics)
    ensure_topics(kafka, topics, extra={name: {"cleanup.policy": "delete", "retention.ms": "-1"}})
    write(kafka, name, record_["patient_hmac_sha256"], json.dumps(record_, sort_keys=True).encode())
