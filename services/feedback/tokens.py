"""Station-scoped screen tokens (pure): the URL of a treadmill's screen carries a token that opens
that station's page and WebSocket and no other.

``token = base64url(station_id | expiry) . base64url(HMAC-SHA256(secret, "gaitstream-screen" |
station_id | expiry))``: checked in constant time; an expired token, another station's token or a
forged one is refused. The secret (``GAITSTREAM_FEEDBACK_SECRET``) has no default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_CONTEXT = b"gaitstream-screen"


class TokenError(ValueError):
    """The token does not open this station's screen (the reason says why, without secrets)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, station_id: str, expires_s: int) -> bytes:
    return hmac.new(
        secret, _CONTEXT + b"|" + station_id.encode() + b"|" + str(expires_s).encode(), hashlib.sha256
    ).digest()


def make_token(secret: bytes, station_id: str, *, expires_s: int) -> str:
    body = _b64(f"{station_id}|{expires_s}".encode())
    return f"{body}.{_b64(_mac(secret, station_id, expires_s))}"


def check_token(secret: bytes, token: str, *, station_id: str, now_s: float) -> None:
    """Raise ``TokenError`` unless ``token`` opens ``station_id``'s screen at ``now_s``."""
    try:
        body, mac = token.split(".", 1)
        token_station, expires = _unb64(body).decode().rsplit("|", 1)
        expires_s = int(expires)
        given = _unb64(mac)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("malformed token") from exc
    if not hmac.compare_digest(given, _mac(secret, token_station, expires_s)):
        raise TokenError("token not issued by this deployment")
    if token_station != station_id:
        raise TokenError("token is for another station")
    if now_s >= expires_s:
        raise TokenError("token expired")
