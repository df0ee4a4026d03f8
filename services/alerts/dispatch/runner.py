"""The dispatcher process: the consumer (alerts topic -> store) in a thread, the sender
(store -> channels) in the calling thread, status lines, clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from sqlalchemy import func, select

from gaitstream.logging import emit, kv
from gaitstream.services.alerts.dispatch.channels.apprise_channel import AppriseChannel
from gaitstream.services.alerts.dispatch.channels.email import EmailChannel
from gaitstream.services.alerts.dispatch.channels.webhook import WebhookChannel
from gaitstream.services.alerts.dispatch.ingest import AlertConsumer
from gaitstream.services.alerts.dispatch.sender import Sender
from gaitstream.services.alerts.dispatch.settings import DispatchSettings
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)


def prepare_database(database_url: str) -> None:
    """Bring the store's schema up to date with the store's Alembic migrations."""
    from gaitstream.services.alerts.store.migrate import upgrade_database

    upgrade_database(database_url)


def build_channels(settings: DispatchSettings) -> dict[str, Any]:
    return {
        "webhook": WebhookChannel(timeout_s=settings.webhook_timeout_s),
        "email": EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout_s=settings.smtp_timeout_s,
        ),
        "apprise": AppriseChannel(timeout_s=settings.apprise_timeout_s),
    }


def delivery_counts(sessions) -> dict[str, int]:
    from gaitstream.services.alerts.store.models import Delivery

    with sessions() as session:
        return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


def run_dispatcher(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    settings: DispatchSettings,
    status_interval_s: float = 10.0,
    stop: threading.Event | None = None,
    install_signals: bool = True,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop``); returns the process exit code."""
    from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker

    database_url = settings.resolved_database_url()
    prepare_database(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    stop = stop or threading.Event()
    if install_signals:

        def _on_signal(signum, _frame) -> None:
            emit("dispatch_stopping", signal=signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)

    consumer = AlertConsumer(kafka=kafka, topics=topics, settings=settings, sessions=sessions)
    sender = Sender(sessions=sessions, settings=settings, channels=build_channels(settings))
    crashed: list[BaseException] = []

    def _consume() -> None:
        try:
            consumer.run(stop)
        except BaseException as exc:
            log.exception(kv("consumer_crashed"))
            crashed.append(exc)
            stop.set()

    def _status() -> None:
        while not stop.wait(status_interval_s):
            try:
                counts = delivery_counts(sessions)
            except Exception:
                counts = {}
            emit(
                "dispatch_status",
                consumed=consumer.consumed,
                refused=consumer.refused,
                sent=sender.totals.sent,
                retried=sender.totals.retried,
                failed=sender.totals.failed,
                digested=sender.totals.digested,
                pending=counts.get("pending", 0),
                sending=counts.get("sending", 0),
            )

    emit(
        "dispatch_started",
        topic=topics.alerts,
        group=settings.consumer_group,
        database=engine.url.render_as_string(hide_password=True),
    )
    started = time.monotonic()
    threads = [
        threading.Thread(target=_consume, name="alerts-consume", daemon=True),
        threading.Thread(target=_status, name="alerts-status", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        sender.run(stop)
    finally:
        stop.set()
        threads[0].join(timeout=30)
        sender.close()
        engine.dispose()
        emit(
            "dispatch_stopped",
            consumed=consumer.consumed,
            sent=sender.totals.sent,
            failed=sender.totals.failed,
            uptime_s=round(time.monotonic() - started, 1),
        )
    return 1 if crashed else 0
