"""Alerts topic -> store: upsert the alert and queue one delivery per matching subscription.

One poll of records is ingested in one database transaction; the Kafka offsets are committed
only after that transaction commits. A crash between the two replays the poll, and the replay
changes nothing: an alert's state only moves open -> resolved (an old open replayed after its
resolve is ignored) and the delivery log's unique (alert, subscription, state change) turns a
repeated queueing into a no-op. So the topic can be replayed from any offset, the consumer
group reset, or two dispatchers overlap during a rebalance, without a second delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from gaitstream.commits import commit_polled
from gaitstream.logging import kv
from gaitstream.schemas.codec import WireError, decode
from gaitstream.services.alerts.dispatch.matching import matches
from gaitstream.services.alerts.dispatch.settings import DispatchSettings
from gaitstream.services.alerts.dispatch.store_ops import insert_ignore, pending_delivery, utcnow
from gaitstream.services.alerts.store.models import Alert, Delivery, Subscription
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)

# Wait before reading a poll again, or retrying a record, after the store failed.
STORE_RETRY_S = 2.0


@dataclass
class IngestStats:
    alerts: int = 0
    opened: int = 0
    resolved: int = 0
    ignored: int = 0  # replays and duplicates
    queued: int = 0  # new delivery rows
    superseded: int = 0  # unsent open/reminder rows replaced by the resolve

    def add(self, other: IngestStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _queue(session: Session, alert: Alert, state_change: str, now: datetime, *, ignore_severity: bool) -> int:
    subscriptions = session.scalars(
        select(Subscription).where(Subscription.clinic_id == alert.clinic_id, Subscription.enabled.is_(True))
    ).all()
    rows = [
        pending_delivery(alert.alert_id, sub.id, state_change, now)
        for sub in subscriptions
        if matches(alert, sub, ignore_severity=ignore_severity)
    ]
    return insert_ignore(session, Delivery, rows)


def ingest_record(session: Session, record: dict[str, Any], now: datetime, stats: IngestStats) -> None:
    """Apply one ``alert`` wire record inside the caller's transaction."""
    stats.alerts += 1
    alert = session.get(Alert, record["alert_id"])
    if alert is None:
        resolved = record["state"] == "resolved"
        alert = Alert(
            alert_id=record["alert_id"],
            state=record["state"],
            kind=record["kind"],
            severity=record["severity"],
            clinic_id=record["clinic_id"],
            station_id=record["station_id"],
            session_id=record["session_id"],
            patient_id=record["patient_id"],
            side=record.get("side"),
            value=record.get("value"),
            threshold=record.get("threshold"),
            message=record["message"],
            dashboard_url=record.get("dashboard_url"),
            metric=record.get("metric"),
            baseline=record.get("baseline"),
            sensor=record.get("sensor"),
            fault=record.get("fault"),
            opened_at_us=record["time_us"],
            resolved_at_us=record["time_us"] if resolved else None,
            resolve_message=record["message"] if resolved else None,
            received_at=now,
        )
        session.add(alert)
        session.flush()
        # A resolve whose open we never saw (retention, a new clinic): the wire marks resolves
        # "info", so match on the filters alone rather than drop it.
        stats.queued += _queue(session, alert, record["state"], now, ignore_severity=resolved)
        stats.resolved += resolved
        stats.opened += not resolved
        return
    if record["state"] == "open" or alert.state == "resolved":
        stats.ignored += 1  # a duplicate open, a replayed open after its resolve, or a second resolve
        return
    # open -> resolved. Severity, values and message stay the opening ones (what was wrong).
    alert.state = "resolved"
    alert.resolved_at_us = record["time_us"]
    alert.resolve_message = record["message"]  # why: back under the threshold, or the session ended
    # The resolve message says when the alert opened: an open or reminder not yet sent (in
    # backoff, deferred by quiet hours, waiting for a digest) would only say less, later.
    superseded = session.execute(
        update(Delivery)
        .where(
            Delivery.alert_id == alert.alert_id,
            Delivery.status == "pending",
            Delivery.state_change.in_(["open"]) | Delivery.state_change.like("repeat-%"),
        )
        .values(status="suppressed", last_error="superseded_by_resolve")
        .execution_options(synchronize_session=False)
    )
    stats.superseded += superseded.rowcount or 0
    stats.queued += _queue(session, alert, "resolved", now, ignore_severity=False)
    stats.resolved += 1


def ingest_records(
    sessions: sessionmaker[Session], records: list[dict[str, Any]], now: datetime | None = None
) -> IngestStats:
    """Ingest ``records`` in one transaction (committed on return)."""
    stats = IngestStats()
    now = now or utcnow()
    with sessions.begin() as session:
        for record in records:
            ingest_record(session, record, now, stats)
    return stats


class AlertConsumer:
    """kafka-python consumer of the alerts topic, manual commits after each ingested poll."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topics: TopicSettings,
        settings: DispatchSettings,
        sessions: sessionmaker[Session],
        on_ingest: Callable[[IngestStats], None] | None = None,
    ) -> None:
        self.kafka, self.topics, self.settings, self.sessions = kafka, topics, settings, sessions
        self.on_ingest = on_ingest
        self.consumed = 0
        self.undecodable = 0
        self.refused = 0

    def _consumer(self):
        from kafka import KafkaConsumer

        return KafkaConsumer(
            **self.kafka.client_config(),
            group_id=self.settings.consumer_group,
            client_id="gaitstream-alerts-dispatcher",
            enable_auto_commit=False,
            session_timeout_ms=int(self.settings.consumer_session_timeout_s * 1000),
            heartbeat_interval_ms=int(self.settings.consumer_session_timeout_s * 1000 / 3),
            group_instance_id=self.settings.consumer_instance_id,
            # A new group starts at the beginning: alerts sent before the first start still count.
            auto_offset_reset="earliest",
        )

    def _store_answers(self) -> bool:
        try:
            with self.sessions() as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def _ingest_one_by_one(self, records: list[dict[str, Any]], stop: threading.Event) -> IngestStats:
        """After a poll failed as a whole: each record in its own transaction, tried twice. A
        record that still fails while the store answers is refused (logged with its id and
        skipped, so one bad record cannot stop every alert behind it; after a fix, replaying
        the topic is safe). If the store does not answer, raise: the poll is read again later."""
        stats = IngestStats()
        for record in records:
            for attempt in (1, 2):
                try:
                    one = ingest_records(self.sessions, [record])
                except Exception as exc:
                    if attempt == 1:
                        stop.wait(STORE_RETRY_S)
                        continue
                    if not self._store_answers():
                        raise
                    self.refused += 1
                    log.error(
                        kv(
                            "alert_refused",
                            alert=record.get("alert_id"),
                            state=record.get("state"),
                            reason=f"{type(exc).__name__}: {exc}"[:300],
                            action="skipped",
                        )
                    )
                else:
                    stats.add(one)
                    break
        return stats

    def _subscribe(self, consumer, stop: threading.Event) -> bool:
        """Subscribe once the topic's partitions are known: joining the group before that gets no
        partitions assigned until the next metadata refresh (minutes), so no alert would be read."""
        while not stop.is_set():
            if consumer.partitions_for_topic(self.topics.alerts):
                consumer.subscribe([self.topics.alerts])
                return True
            log.warning(kv("alerts_topic_missing", topic=self.topics.alerts, action="waiting"))
            stop.wait(self.settings.consume_poll_timeout_s)
        return False

    def run(self, stop: threading.Event) -> None:
        consumer = self._consumer()
        if not self._subscribe(consumer, stop):
            consumer.close()
            return
        log.info(kv("consumer_started", topic=self.topics.alerts, group=self.settings.consumer_group))
        try:
            while not stop.is_set():
                batches = consumer.poll(
                    timeout_ms=int(self.settings.consume_poll_timeout_s * 1000),
                    max_records=self.settings.consume_max_records,
                )
                if not batches:
                    continue
                records = []
                for partition_records in batches.values():
                    for message in partition_records:
                        try:
                            records.append(decode(message.value, expect=("alert",))[1])
                        except WireError as exc:
                            self.undecodable += 1
                            log.warning(
                                kv(
                                    "alert_undecodable",
                                    partition=message.partition,
                                    offset=message.offset,
                                    reason=exc.reason,
                                )
                            )
                try:
                    stats = ingest_records(self.sessions, records)
                except Exception:
                    log.exception(kv("ingest_failed", records=len(records), action="one_by_one"))
                    try:
                        stats = self._ingest_one_by_one(records, stop)
                    except Exception:
                        log.exception(kv("ingest_failed", records=len(records), action="rewind"))
                        for partition, partition_records in batches.items():
                            consumer.seek(partition, partition_records[0].offset)
                        stop.wait(STORE_RETRY_S)
                        continue
                # Only now: the poll is in the store. During a rebalance the records are read again,
                # which the store turns into no-ops.
                refused = commit_polled(consumer)
                if refused is not None:
                    log.warning(kv("commit_failed", records=len(records), reason=refused))
                self.consumed += len(records)
                log.info(
                    kv(
                        "ingested",
                        records=len(records),
                        opened=stats.opened,
                        resolved=stats.resolved,
                        ignored=stats.ignored,
                        queued=stats.queued,
                        superseded=stats.superseded,
                    )
                )
                if self.on_ingest is not None:
                    self.on_ingest(stats)
        finally:
            consumer.close(autocommit=False)
            log.info(kv("consumer_stopped", consumed=self.consumed))
