"""Who is calling: a supervisor's API key (``Authorization: Bearer gsk_…`` or ``X-API-Key``),
or the operator's admin token on ``/v1/admin``.

- no key, a malformed, unknown or revoked key: 401;
- a valid key asking about a clinic outside its scope: 403 (``Principal.require_clinic``);
- admin endpoints while ``GAITSTREAM_ALERTS_ADMIN_TOKEN`` is unset on the server: 503.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from gaitstream.logging import kv
from gaitstream.services.alerts.store.accounts import find_active_key, parse_key_prefix

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="A supervisor's API key (gsk_…) or, on /v1/admin, the admin token")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A supervisor's API key (gsk_…)")


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    """The supervisor behind a valid API key, and the clinics the key is scoped to."""

    supervisor_id: int
    key_id: int
    key_prefix: str
    clinics: frozenset[str]

    def require_clinic(self, clinic_id: str) -> None:
        if clinic_id not in self.clinics:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this API key is not scoped to clinic {clinic_id!r} (its clinics: {', '.join(sorted(self.clinics))})",
            )


def client_address(request: Request) -> str:
    """The client a request comes from: its connection's address, or, when that is a trusted
    reverse proxy (``trusted_proxies``), the last address of ``X-Forwarded-For`` that is not one
    (proxies append the address they received from; the entries before it are the client's word)."""
    peer = request.client.host if request.client else "unknown"
    proxies = request.app.state.proxy_networks
    if not proxies or not _in(peer, proxies):
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _in(address, proxies):
            return address
    return forwarded[0] if forwarded else peer


def _in(address: str, networks: list) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _throttle_keys(request: Request, prefix_key: str) -> tuple[str, str]:
    return prefix_key, f"client:{client_address(request)}"


def _refuse_if_throttled(request: Request, keys: tuple[str, ...]) -> None:
    """429 with Retry-After while the key prefix or the client is blocked for failed attempts."""
    wait_s = request.app.state.throttle.retry_after_s(*keys)
    if wait_s is not None:
        log.warning(kv("auth throttled", keys=",".join(keys), retry_after_s=round(wait_s)))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed attempts: try again later",
            headers={"Retry-After": str(max(1, round(wait_s)))},
        )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _presented(bearer: HTTPAuthorizationCredentials | None, header_key: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header_key or None


def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    key = _presented(bearer, header_key)
    if key is None:
        raise _unauthorized("missing API key: send `Authorization: Bearer gsk_…` or `X-API-Key: gsk_…`")
    prefix = parse_key_prefix(key)
    keys = _throttle_keys(request, f"prefix:{prefix or 'malformed'}")
    _refuse_if_throttled(request, keys)
    row = find_active_key(session, key)
    if row is None:
        request.app.state.throttle.failed(*keys)
        request.state.actor = f"key:{prefix or 'malformed'}"
        log.warning(kv("api key refused", prefix=prefix or "malformed", path=request.url.path))
        raise _unauthorized("invalid or revoked API key")
    request.state.actor = f"key:{row.prefix}"
    return Principal(
        supervisor_id=row.supervisor_id, key_id=row.id, key_prefix=row.prefix, clinics=frozenset(row.clinics)
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_admin(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = request.app.state.settings.admin_token
    if expected is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the admin API is disabled: GAITSTREAM_ALERTS_ADMIN_TOKEN is not set on the server "
            "(or use `gaitstream alerts admin` on the database)",
        )
    if bearer is None or not bearer.credentials:
        raise _unauthorized("missing admin token: send `Authorization: Bearer <GAITSTREAM_ALERTS_ADMIN_TOKEN>`")
    keys = _throttle_keys(request, "prefix:admin")
    _refuse_if_throttled(request, keys)
    if not hmac.compare_digest(bearer.credentials.encode(), expected.get_secret_value().encode()):
        request.app.state.throttle.failed(*keys)
        request.state.actor = "admin?"
        log.warning(kv("admin token refused", path=request.url.path))
        raise _unauthorized("invalid admin token")
    request.state.actor = "admin"
