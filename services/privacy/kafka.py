"""Kafka side: the compacted records that name a patient (session history, alert settings, the
pipeline's station checkpoints), exported and erased with tombstones; retention of the others.
A patient is a pseudonym within a clinic: keys and checkpoints must name both."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from gaitstream.settings import KafkaSettings, TopicSettings
from gaitstream.topics import read_latest, write


@dataclass(frozen=True)
class Held:
    """One compacted record of the patient: where it is and its latest value."""

    topic: str
    key: str
    value: bytes


def _mentions(value: object, clinic: str, pseudonym: str) -> bool:
    """A record (e.g. a session start) anywhere in ``value`` with this clinic and patient."""
    if isinstance(value, dict):
        if value.get("patient_id") == pseudonym and value.get("clinic_id") == clinic:
            return True
        return any(_mentions(v, clinic, pseudonym) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, clinic, pseudonym) for v in value)
    return False


def changelog_of(app_id: str) -> str:
    """The station-state table's changelog (Faust's name for it)."""
    return f"{app_id}-station-state-changelog"


def held_records(kafka: KafkaSettings, topics: TopicSettings, app_id: str, clinic: str, pseudonym: str) -> list[Held]:
    """Every compacted record whose latest value belongs to the clinic's ``pseudonym``."""
    held: list[Held] = []
    for key, value in read_latest(kafka, topics.session_history).items():
        if key == f"{clinic}/{pseudonym}":
            held.append(Held(topics.session_history, key, value))
    for key, value in read_latest(kafka, topics.alert_settings).items():
        if key == f"patient/{clinic}/{pseudonym}":
            held.append(Held(topics.alert_settings, key, value))
    changelog = changelog_of(app_id)
    for key, value in read_latest(kafka, changelog).items():
        try:
            checkpoint = json.loads(value)
        except ValueError:
            continue
        if _mentions(checkpoint, clinic, pseudonym):
            held.append(Held(changelog, key, value))
    return held


def exported(record: Held) -> dict:
    """A record as JSON: decoded where it is one of our Avro records, and its bytes in base64."""
    from gaitstream.schemas.codec import WireError, decode

    out: dict = {"topic": record.topic, "key": record.key, "value_base64": base64.b64encode(record.value).decode()}
    try:
        kind, decoded = decode(record.value)
        out.update(kind=kind, value=decoded)
    except (WireError, ValueError):
        try:
            out["value"] = json.loads(record.value)
        except ValueError:
            pass
    return out


def tombstone(kafka: KafkaSettings, records: list[Held]) -> int:
    """A tombstone for each record's key: compaction then removes every value it had."""
    for record in records:
        write(kafka, record.topic, record.key, None)
    return len(records)
