"""Signed webhooks: POST of the message's JSON with an HMAC-SHA256 signature.

Headers: ``X-Gaitstream-Timestamp`` (Unix seconds), ``X-Gaitstream-Signature:
sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``, ``X-Gaitstream-Delivery`` (the
delivery id: the same on a resend, so receivers can drop duplicates). Receivers check with
``verify_signature`` and refuse timestamps outside the replay window.

The URL is checked by ``urlguard`` at every send (DNS may have changed since the subscription
was saved); redirects are not followed (a redirect could point inside the clinic's network).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from gaitstream.services.alerts.dispatch.channels import Target
from gaitstream.services.alerts.dispatch.exceptions import DeliveryError, InvalidSignature
from gaitstream.services.alerts.dispatch.messages import Message
from gaitstream.services.alerts.urlguard import UnsafeWebhookTarget, check_webhook_url, pinned

TIMESTAMP_HEADER = "X-Gaitstream-Timestamp"
SIGNATURE_HEADER = "X-Gaitstream-Signature"
DELIVERY_HEADER = "X-Gaitstream-Delivery"
# Five minutes: generous for clock skew between clinic servers, short enough that a captured
# request cannot be replayed later.
REPLAY_WINDOW_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None, window_s: float = REPLAY_WINDOW_S
) -> int:
    """Check a received webhook; returns its timestamp or raises ``InvalidSignature`` naming why.

    ``headers`` may be any case-insensitive mapping (or a plain dict with our header names).
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    raw_ts, signature = lowered.get(TIMESTAMP_HEADER.lower()), lowered.get(SIGNATURE_HEADER.lower())
    if raw_ts is None or signature is None:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        timestamp = int(raw_ts)
    except ValueError as exc:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not an integer: {raw_ts!r}") from exc
    now = time.time() if now is None else now
    if abs(now - timestamp) > window_s:
        raise InvalidSignature(f"timestamp {timestamp} is {now - timestamp:.0f} s from now; window is {window_s} s")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise InvalidSignature("signature does not match the body and timestamp")
    return timestamp


def encode_body(message: Message) -> bytes:
    return json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel:
    """Sends to one URL per call through a shared ``httpx.Client`` (thread-safe, pooled)."""

    def __init__(self, *, timeout_s: float) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.Client(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": "gaitstream-alerts"}
        )

    def send(self, message: Message, target: Target) -> None:
        if not target.secret:
            raise DeliveryError("webhook subscription has no signing secret", retryable=False)
        try:
            addresses = check_webhook_url(target.address, allow_private=target.allow_private)
        except UnsafeWebhookTarget as exc:
            raise DeliveryError(f"refused target: {exc}", retryable=False) from exc
        # Connect to the address just checked, not to whatever the name resolves to next (DNS rebinding).
        url, pin_headers, extensions = pinned(target.address, addresses[0])
        body = encode_body(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(target.secret, timestamp, body),
            DELIVERY_HEADER: str(message.delivery_id),
        }
        try:
            request = self._client.build_request(
                "POST", url, content=body, headers={**headers, **pin_headers}, extensions=extensions
            )
            response = self._client.send(request)
        except self._httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if response.is_success:
            return
        status = response.status_code
        # 408/429 and 5xx are the receiver's temporary trouble; other answers will not change.
        retryable = status in (408, 425, 429) or status >= 500
        raise DeliveryError(f"HTTP {status}: {response.text[:200]}", retryable=retryable)

    def close(self) -> None:
        self._client.close()
