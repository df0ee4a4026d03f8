"""Delivery channels: ``webhook`` (signed JSON over httpx), ``email`` (SMTP), ``apprise``
(Slack, Teams, ntfy and the other services apprise knows). Each has ``send(message, target)``
and raises ``DeliveryError`` saying whether a retry may help."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the subscription's channel and target, and what the clinic allows."""

    channel: str
    address: str  # e-mail address, webhook URL or apprise URL
    secret: str | None = None  # webhook signing key
    allow_private: bool = False  # the clinic's allow_private_webhooks
