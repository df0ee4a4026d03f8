"""Real peers and store helpers for the dispatcher tests: an HTTP webhook receiver that checks
signatures (and can fail or be slow on purpose), an aiosmtpd SMTP server, rows to subscribe with,
and alert wire records."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gaitstream.services.alerts.dispatch.channels.webhook import DELIVERY_HEADER, verify_signature
from gaitstream.services.alerts.dispatch.exceptions import InvalidSignature
from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
from gaitstream.services.alerts.store.models import ClinicSettings, Subscription, Supervisor

SECRET = "whsec-" + uuid.uuid4().hex


@dataclass
class Received:
    delivery_id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    verified: bool
    error: str | None
    at: float  # time.time() on arrival


@dataclass
class WebhookReceiver:
    """Records every request; answers ``fail_first`` of them with 503 first, sleeps ``delay_s``
    before answering. ``unique()`` is what a receiver that drops resends (same delivery id) keeps."""

    secret: str = SECRET
    fail_first: int = 0
    delay_s: float = 0.0
    require_signature: bool = True
    requests: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def unique(self) -> dict[str, Received]:
        with self._lock:
            kept: dict[str, Received] = {}
            for request in self.requests:
                if request.verified:
                    kept.setdefault(request.delivery_id, request)
            return kept

    def wait(self, predicate: Callable[[WebhookReceiver], bool], timeout_s: float) -> bool:
        return wait_for(lambda: predicate(self), timeout_s)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        headers = {key: value for key, value in handler.headers.items()}
        try:
            verify_signature(self.secret, headers, body)
            verified, error = True, None
        except InvalidSignature as exc:
            verified, error = False, str(exc)
        with self._lock:
            self.requests.append(
                Received(
                    delivery_id=handler.headers.get(DELIVERY_HEADER, ""),
                    payload=json.loads(body or b"{}"),
                    headers=headers,
                    verified=verified,
                    error=error,
                    at=time.time(),
                )
            )
            failing = len(self.requests) <= self.fail_first
        if self.delay_s:
            time.sleep(self.delay_s)
        status = 401 if self.require_signature and not verified else 503 if failing else 200
        self.answered.append(status)
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver._handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/gaitstream"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class MailBox:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)  # email.message.Message, parsed

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        message.envelope_to = list(envelope.rcpt_tos)
        message.received_at = time.time()
        self.messages.append(message)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[MailBox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    box = MailBox(host="127.0.0.1", port=port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def wait_for(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


# --- store rows ---------------------------------------------------------------------------------


def sessions_for(database_url: str):
    return make_sessionmaker(make_engine(database_url))


def subscribe(
    sessions,
    *,
    clinic_id: str = "clinic-a",
    channel: str = "webhook",
    target: str,
    secret: str | None = SECRET,
    allow_private: bool = True,
    digest_after: int = 1000,
    digest_window_s: int = 300,
    **fields: Any,
) -> int:
    """A supervisor, the clinic's settings (created or updated) and one subscription; its id."""
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:
        supervisor = Supervisor(name="Sam Supervisor", email=None, created_at=now)
        session.add(supervisor)
        clinic = session.get(ClinicSettings, clinic_id) or ClinicSettings(clinic_id=clinic_id)
        clinic.allow_private_webhooks = allow_private
        clinic.digest_after, clinic.digest_window_s = digest_after, digest_window_s
        session.add(clinic)
        session.flush()
        subscription = Subscription(
            supervisor_id=supervisor.id,
            clinic_id=clinic_id,
            channel=channel,
            target=target,
            webhook_secret=secret if channel == "webhook" else None,
            min_severity=fields.pop("min_severity", "warning"),
            timezone=fields.pop("timezone", "UTC"),
            enabled=fields.pop("enabled", True),
            created_at=now,
            updated_at=now,
            **fields,
        )
        session.add(subscription)
        session.flush()
        return subscription.id


def alert_record(
    n: int = 0,
    *,
    state: str = "open",
    severity: str = "warning",
    kind: str = "pelvic_drop_sustained",
    clinic_id: str = "clinic-a",
    station_id: str = "station-01",
    alert_id: str | None = None,
    time_us: int | None = None,
) -> dict[str, Any]:
    time_us = time_us if time_us is not None else int(time.time() * 1e6)
    return {
        "alert_id": alert_id or f"sess-{n:04d}:{kind}:left:{time_us}",
        "state": state,
        "kind": kind,
        "severity": severity if state == "open" else "info",
        "time_us": time_us,
        "clinic_id": clinic_id,
        "station_id": station_id,
        "session_id": f"sess-{n:04d}",
        "patient_id": f"p-{n:04d}",
        "side": "left",
        "value": 7.5,
        "threshold": 6.0,
        "message": "sustained pelvic drop on the left",
        "dashboard_url": "http://grafana.local/d/gaitstream-patient-session?var-session=sess",
        "sensor": None,
        "fault": None,
        "baseline": None,
        "metric": "pelvic_drop_deg_median",
    }
