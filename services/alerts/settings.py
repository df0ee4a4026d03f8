"""Settings of the alert service and dispatcher (``GAITSTREAM_ALERTS_*``), read when a command
starts, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The admin token unlocks every clinic; a short or sample value would be guessed.
MIN_ADMIN_TOKEN_CHARS = 24
_PLACEHOLDERS = ("changeme", "change-me", "password", "example", "replace")


def parse_networks(value: str) -> list:
    """``"10.0.0.5, 172.16.0.0/12"`` -> IP networks; ``ValueError`` naming an entry that is neither."""
    import ipaddress

    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"GAITSTREAM_ALERTS_TRUSTED_PROXIES: {item!r} is not an IP address or network") from exc
    return networks


def default_database_url() -> str:
    state = Path.home() / ".local" / "state" / "gaitstream"
    return f"sqlite:///{state / 'alerts.db'}"


class AlertServiceSettings(BaseSettings):
    """Store, API and dispatcher settings.

    ``database_url``: any SQLAlchemy URL; SQLite by default, PostgreSQL as
    ``postgresql+psycopg://user:password@host/db``. ``admin_token`` guards the endpoints that
    create supervisors and API keys; it has no default (without it those endpoints refuse).
    ``api_url`` and ``api_key`` are what the CLI's client commands (``subscribe``, ``list``,
    ``ack``, ``mute``) use to reach a running service.
    """

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_ALERTS_", extra="ignore")

    database_url: str = ""
    admin_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8088
    # Failed authentication (a wrong key or admin token): after auth_max_failures within
    # auth_window_s from one client or for one key prefix, that client or prefix is answered 429
    # for auth_block_s. 10 a minute lets a person mistype; it stops a guesser at 10 tries per 5 min.
    auth_max_failures: int = 10
    auth_window_s: float = 60.0
    auth_block_s: float = 300.0
    # Addresses (IPs or CIDR networks, comma-separated) of the reverse proxies in front of the API:
    # a request from one of them is counted against the client its X-Forwarded-For names (the last
    # address not itself a trusted proxy), so that one client's failures never block everyone behind
    # the proxy. Empty: the connection's own address is the client (the header is ignored, as anyone
    # could send it).
    trusted_proxies: str = ""
    # Requests with a larger body are refused (413) before they are read: the API's bodies are
    # subscriptions, programmes and mutes, a few kilobytes at most.
    max_body_bytes: int = 64 * 1024
    # The dispatcher's consumer group on the alerts topic.
    consumer_group: str = "gaitstream-alerts-dispatcher"
    api_url: str = "http://127.0.0.1:8088"
    api_key: SecretStr | None = None
    # Where the report service writes the session reports (<clinic>/<session>.html|.pdf|.fhir.json);
    # the API serves them to keys scoped to the clinic. None: no reports here (404).
    reports_dir: Path | None = None
    # A clinic's own exercises (*.yaml, services/programme/library.py) beside the built-in ones.
    programme_library_dir: Path | None = None

    @field_validator("admin_token")
    @classmethod
    def _admin_token_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        token = value.get_secret_value()
        if len(token) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"GAITSTREAM_ALERTS_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if any(word in token.lower() for word in _PLACEHOLDERS):
            raise ValueError("GAITSTREAM_ALERTS_ADMIN_TOKEN looks like a placeholder; use a random value")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_networks(value)  # raises ValueError naming the bad entry
        return value

    def proxy_networks(self) -> list:
        return parse_networks(self.trusted_proxies)

    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()
