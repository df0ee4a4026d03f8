"""Supervisors and their API keys, shared by the admin API and ``gaitstream alerts admin``.

An API key reads ``gsk_<prefix>_<secret>``: ``prefix`` is 12 random hex characters stored in
clear (it finds the row and names the key in lists), ``secret`` is 32 random bytes
(``secrets.token_urlsafe``). Only the SHA-256 of the whole key is stored; the key itself is shown
once, when it is created. A fast hash is enough here: the key carries 256 random bits, so there
is nothing to guess (a slow hash protects low-entropy passwords, not random tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gaitstream.ids import ID_PATTERN
from gaitstream.services.alerts.store.models import ApiKey, ClinicSettings, Supervisor

KEY_SCHEME = "gsk"
PREFIX_HEX_CHARS = 12
SECRET_BYTES = 32
# Clinic, station and patient ids as the pipeline writes them; no spaces, no slashes.
_KEY_RE = re.compile(rf"^{KEY_SCHEME}_([0-9a-f]{{{PREFIX_HEX_CHARS}}})_([A-Za-z0-9_-]{{20,}})$")


class UnknownSupervisor(LookupError):
    def __init__(self, supervisor_id: int) -> None:
        super().__init__(f"no supervisor with id {supervisor_id}")
        self.supervisor_id = supervisor_id


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns: they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, ``None`` for anything else."""
    match = _KEY_RE.match(key)
    return match.group(1) if match else None


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``key`` is the only copy of the plaintext (show it once, then drop it)."""

    row: ApiKey
    key: str


def create_supervisor(session: Session, *, name: str, email: str | None = None) -> Supervisor:
    supervisor = Supervisor(name=name, email=email, created_at=utcnow())
    session.add(supervisor)
    session.flush()
    return supervisor


def issue_key(session: Session, *, supervisor_id: int, clinics: list[str]) -> IssuedKey:
    """A new API key for ``supervisor_id`` scoped to ``clinics``."""
    if session.get(Supervisor, supervisor_id) is None:
        raise UnknownSupervisor(supervisor_id)
    if not clinics:
        raise ValueError("an API key needs at least one clinic in its scope")
    bad = [clinic for clinic in clinics if not re.match(ID_PATTERN, clinic)]
    if bad:
        raise ValueError(f"invalid clinic ids {bad}: letters, digits and _.:- only, at most 100 characters")
    while True:
        prefix = secrets.token_hex(PREFIX_HEX_CHARS // 2)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    row = ApiKey(
        supervisor_id=supervisor_id,
        prefix=prefix,
        key_sha256=hash_key(key),
        clinics=sorted(set(clinics)),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return IssuedKey(row=row, key=key)


# Compared against when no key has the prefix, so a miss costs the same as a wrong secret.
_NO_KEY_HASH = hash_key("no such key")


def find_active_key(session: Session, key: str) -> ApiKey | None:
    """The unrevoked key row matching the plaintext ``key``, compared in constant time."""
    prefix = parse_key_prefix(key)
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    matches = hmac.compare_digest(hash_key(key), row.key_sha256 if row else _NO_KEY_HASH)
    if row is None or not matches or row.revoked_at is not None:
        return None
    return row


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def clinic_settings(session: Session, clinic_id: str) -> ClinicSettings:
    """The clinic's settings row, or the defaults (not saved) when it has none."""
    row = session.get(ClinicSettings, clinic_id)
    if row is None:
        row = ClinicSettings(
            clinic_id=clinic_id,
            allow_private_webhooks=False,
            digest_after=5,
            digest_window_s=300,
            escalate_after_failures=3,
        )
    return row
