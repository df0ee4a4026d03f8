"""Per-station signing keys: a frame is accepted only if it carries its station's signature.

Kafka's ACLs say who may write to the stations topic, not which station a record speaks for: the
record key is whatever the producer wrote. So every station signs each record (HMAC-SHA256 over
the key and the value, header ``gs-sig``) with a key only it and the pipeline know, and the worker
dead-letters a record whose signature does not verify. A station's key is derived from the
deployment's signing secret and the station id, so workers need no key distribution (no race
between a new station's first frame and its key reaching every worker); revoking a station
removes its Kafka user and ACLs, and rotating the secret re-keys every station.

Why not a topic per clinic with prefixed ACLs: a station could still speak for any other station
of its clinic. Why not a topic per station: the station-state table is co-partitioned with one
stations topic (same key, same partition); per-station topics would break that.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "gs-sig"
# Domain separation: this secret derives station keys and nothing else.
_KEY_CONTEXT = b"gaitstream station signing key v1\x00"
SIGNATURE_BYTES = 32
# Derived keys kept per verifier; beyond this many station ids the cache starts over (bounded memory).
MAX_CACHED_KEYS = 10_000


class SignatureError(ValueError):
    """A record's signature is missing, malformed or wrong (``reason`` is the dead-letter reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def station_key(signing_secret: bytes, station_id: str) -> bytes:
    """The key ``station_id`` signs with (32 bytes)."""
    if len(signing_secret) < 32:
        raise ValueError("signing_secret must be at least 32 bytes")
    return hmac.digest(signing_secret, _KEY_CONTEXT + station_id.encode(), "sha256")


def sign(key: bytes, record_key: bytes, value: bytes) -> bytes:
    """The signature of one record: HMAC-SHA256 over the key's length, the key and the value."""
    return hmac.digest(key, len(record_key).to_bytes(4, "big") + record_key + value, "sha256")


def signature_of(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> bytes | None:
    if isinstance(headers, Mapping):
        headers = headers.items()
    for name, value in headers or ():
        if name == SIGNATURE_HEADER:
            return value
    return None


class SignatureVerifier:
    """Checks records against their station's key (derived once per station and kept)."""

    def __init__(self, signing_secret: bytes) -> None:
        station_key(signing_secret, "")  # validates the secret's length now, not at the first frame
        self._secret = signing_secret
        self._keys: dict[bytes, bytes] = {}

    def verify(self, record_key: bytes | None, value: bytes | None, headers) -> None:
        """Return when the record is signed by the station its key names; else raise ``SignatureError``."""
        if not record_key:
            raise SignatureError("signature: the record has no key (station id)")
        signature = signature_of(headers)
        if signature is None:
            raise SignatureError("signature: missing (unsigned record)")
        if len(signature) != SIGNATURE_BYTES:
            raise SignatureError(f"signature: {len(signature)} bytes, expected {SIGNATURE_BYTES}")
        key = self._keys.get(record_key)
        if key is None:
            if len(self._keys) >= MAX_CACHED_KEYS:
                self._keys.clear()
            key = self._keys[record_key] = station_key(self._secret, record_key.decode(errors="replace"))
        if not hmac.compare_digest(sign(key, record_key, value or b""), signature):
            raise SignatureError("signature: does not match the station's key")
