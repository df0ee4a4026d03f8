"""Errors of the dispatcher; one root, each carrying what the sender needs to decide."""

from __future__ import annotations


class DispatchError(Exception):
    """Root of the dispatcher's errors."""


class DeliveryError(DispatchError):
    """A send failed. ``retryable``: worth trying again later (timeouts, 5xx, 429, SMTP 4xx);
    otherwise the delivery is marked failed at once (4xx, refused target, bad configuration)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class InvalidSignature(DispatchError):
    """A webhook request whose signature or timestamp does not verify (receiver side)."""
