"""Channels against real peers, and ``gaitstream alerts test-send`` as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaitstream.services.alerts.dispatch.channels import Target
from gaitstream.services.alerts.dispatch.channels.apprise_channel import AppriseChannel
from gaitstream.services.alerts.dispatch.channels.email import EmailChannel, message_id
from gaitstream.services.alerts.dispatch.channels.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    encode_body,
    sign,
    verify_signature,
)
from gaitstream.services.alerts.dispatch.exceptions import DeliveryError, InvalidSignature
from gaitstream.services.alerts.dispatch.samples import sample_message
from tests.services.alerts.dispatch_peers import SECRET, smtp_server, webhook_receiver

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")
REPO = Path(__file__).resolve().parents[3]


def signed(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def test_verify_signature_accepts_the_real_thing_and_names_each_failure():
    body, now = b'{"x":1}', 1_800_000_000
    assert verify_signature(SECRET, signed(body, now), body, now=now + 10) == now
    lowercase = {key.lower(): value for key, value in signed(body, now).items()}
    assert verify_signature(SECRET, lowercase, body, now=now) == now
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature(SECRET, signed(body, now), b'{"x":2}', now=now)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature(SECRET, signed(body, now, secret="other"), body, now=now)
    with pytest.raises(InvalidSignature, match="window is 300"):
        verify_signature(SECRET, signed(body, now), body, now=now + 301)  # a replay, later
    with pytest.raises(InvalidSignature, match="missing"):
        verify_signature(SECRET, {TIMESTAMP_HEADER: str(now)}, body, now=now)
    with pytest.raises(InvalidSignature, match="not an integer"):
        verify_signature(SECRET, {TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "sha256=00"}, body, now=now)


def test_webhook_channel_signs_what_a_real_receiver_verifies():
    channel = WebhookChannel(timeout_s=5)
    with webhook_receiver() as receiver:
        message = sample_message()
        channel.send(message, Target("webhook", receiver.url, secret=SECRET, allow_private=True))
        with pytest.raises(DeliveryError, match="HTTP 401") as refused:
            channel.send(message, Target("webhook", receiver.url, secret="wrong", allow_private=True))
    channel.close()
    first, second = receiver.requests
    assert first.verified and not second.verified and not refused.value.retryable
    assert first.headers[DELIVERY_HEADER] == "0" and first.payload == message.payload
    assert first.headers["Content-Type"] == "application/json"


def test_webhook_channel_refuses_loopback_unless_allowed_and_never_follows_redirects():
    channel = WebhookChannel(timeout_s=5)
    with webhook_receiver() as receiver:
        with pytest.raises(DeliveryError, match="refused target") as refused:
            channel.send(sample_message(), Target("webhook", receiver.url, secret=SECRET, allow_private=False))
        assert not refused.value.retryable and receiver.requests == []
        with pytest.raises(DeliveryError, match="must not carry credentials"):
            channel.send(
                sample_message(),
                Target("webhook", receiver.url.replace("http://", "http://u:p@"), secret=SECRET, allow_private=True),
            )
        with pytest.raises(DeliveryError, match="no signing secret"):
            channel.send(sample_message(), Target("webhook", receiver.url, secret=None, allow_private=True))
    with pytest.raises(DeliveryError, match="ConnectError") as down:
        channel.send(sample_message(), Target("webhook", receiver.url, secret=SECRET, allow_private=True))
    assert down.value.retryable  # the receiver is gone now: worth a retry later
    channel.close()


def test_email_channel_on_a_real_smtp_server():
    message = sample_message()
    with smtp_server() as smtp:
        channel = EmailChannel(host=smtp.host, port=smtp.port, sender="alerts@clinic-a.example", timeout_s=5)
        channel.send(message, Target("email", "sam@clinic-a.example"))
        channel.send(message, Target("email", "sam@clinic-a.example"))  # a resend
        with pytest.raises(DeliveryError, match="not an e-mail address"):
            channel.send(message, Target("email", "sam"))
    first, resend = smtp.messages
    assert first["Message-ID"] == resend["Message-ID"] == message_id(message, "alerts@clinic-a.example")
    assert first["Message-ID"].endswith("@clinic-a.example>") and first["Subject"] == message.title
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as down:
        channel.send(message, Target("email", "sam@clinic-a.example"))
    assert down.value.retryable


def test_apprise_channel_guards_generic_http_targets():
    channel = AppriseChannel(timeout_s=5)
    with webhook_receiver(require_signature=False) as receiver:
        url = receiver.url.replace("http://", "json://")
        with pytest.raises(DeliveryError, match="refused target"):
            channel.send(sample_message(), Target("apprise", url, allow_private=False))
        channel.send(sample_message(), Target("apprise", url, allow_private=True))
    assert len(receiver.requests) == 1 and receiver.requests[0].payload["title"] == sample_message().title
    with pytest.raises(DeliveryError, match="does not recognise"):
        channel.send(sample_message(), Target("apprise", "nosuchservice://x", allow_private=True))


class _Recorder:
    """An HTTP server on loopback that records every request (any method) and answers ``answer``."""

    def __init__(self, answer):
        import http.server
        import threading

        self.requests: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                recorder.requests.append(self.command)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                answer(self)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("suffix", ["", "?redirect=yes"])
def test_apprise_channel_follows_no_redirect(status, suffix):
    """A public host the guard allowed may answer with a redirect to an address it refused: the
    request stops there (the URL's own ``redirect=yes`` changes nothing) and the send fails, to be
    retried; the redirect's target is never contacted."""

    def ok(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    inside = _Recorder(ok)

    def redirect(handler):
        handler.send_response(status)
        handler.send_header("Location", inside.url)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    outside = _Recorder(redirect)
    try:
        url = outside.url.replace("http://", "json://") + f"hook{suffix}"
        with pytest.raises(DeliveryError, match="apprise status"):
            AppriseChannel(timeout_s=5).send(sample_message(), Target("apprise", url, allow_private=True))
    finally:
        outside.close()
        inside.close()
    assert outside.requests == ["POST"] and inside.requests == []


def test_message_body_is_deterministic():
    assert encode_body(sample_message()).count(b'"delivery_id":0') == 1


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gaitstream", "alerts", "test-send", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_test_send_command_webhook_email_and_refusal():
    with webhook_receiver() as receiver, smtp_server() as smtp:
        started = time.monotonic()
        ok = run_cli("--channel", "webhook", "--target", receiver.url, "--secret", SECRET, "--allow-private")
        assert ok.returncode == 0 and "test_send_ok channel=webhook" in ok.stderr, ok.stderr
        refused = run_cli("--channel", "webhook", "--target", receiver.url, "--secret", SECRET)
        assert refused.returncode == 1 and "test_send_failed" in refused.stderr and "retryable=False" in refused.stderr
        mail = run_cli(
            "--channel",
            "email",
            "--target",
            "sam@clinic-a.example",
            env={"GAITSTREAM_ALERTS_SMTP_HOST": smtp.host, "GAITSTREAM_ALERTS_SMTP_PORT": str(smtp.port)},
        )
        assert mail.returncode == 0, mail.stderr
        print(f"\ntest-send: three commands in {time.monotonic() - started:.1f} s")
    assert [r.verified for r in receiver.requests] == [True]
    assert len(smtp.messages) == 1 and "test message" in smtp.messages[0].get_content()
    bad = run_cli("--channel", "pigeon", "--target", "x")
    assert bad.returncode == 2 and "channel must be one of" in bad.stderr
