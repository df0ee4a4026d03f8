"""Dispatcher settings (``GAITSTREAM_ALERTS_*``), read when a command starts, never at import.

``database_url`` and ``consumer_group`` are the same variables as the alert service's
(``services/alerts/settings.py``): the API and the dispatcher share one store.
"""

from __future__ import annotations

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.services.alerts.settings import default_database_url


class DispatchSettings(BaseSettings):
    """Consumer, sender, retry and channel knobs of ``gaitstream alerts dispatch``."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_ALERTS_", extra="ignore")

    database_url: str = ""
    # The alerts API as supervisors reach it: messages link the session's report there (made when
    # the session stops). None: no report link.
    public_url: str | None = None
    consumer_group: str = "gaitstream-alerts-dispatcher"
    # Records per poll; each poll is ingested in one transaction, then its offsets are committed.
    consume_max_records: int = 200
    consume_poll_timeout_s: float = 1.0
    # A dispatcher that died keeps its partitions until the broker stops hearing from it; the
    # client's default (45 s) is a long time for an unread alert. The broker's minimum is 6 s.
    consumer_session_timeout_s: float = 10.0
    # Static group membership (KIP-345): a restarted dispatcher with the same id gets its
    # partitions back at once, without waiting for the session timeout. Unique per dispatcher.
    consumer_instance_id: str | None = None

    # The sender looks for due deliveries this often (also the reminder/digest resolution).
    send_interval_s: float = 0.5
    # Due rows examined per pass (decided, deferred, folded); at most send_concurrency claimed.
    send_batch: int = 200
    # Parallel sends: one slow receiver must not hold every other supervisor's alert. A row is
    # claimed only when a sender slot is free, so its send starts at once.
    send_concurrency: int = 4
    # A claimed delivery ("sending") whose dispatcher died is sent again after this long. Must
    # exceed the slowest channel timeout, or a live slow send would be sent twice.
    lease_s: float = 60.0
    max_attempts: int = 6
    # Exponential backoff: base * 2**(attempt-1), capped, with half of it random (jitter) so
    # many deliveries failing together do not retry in lockstep. 5 s base and 6 attempts give
    # up after about 2.5 minutes of a receiver being down.
    backoff_base_s: float = 5.0
    backoff_max_s: float = 300.0

    webhook_timeout_s: float = 10.0
    apprise_timeout_s: float = 15.0

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "gaitstream-alerts@localhost"
    smtp_starttls: bool = False
    smtp_timeout_s: float = 10.0

    @model_validator(mode="after")
    def _check(self) -> DispatchSettings:
        if self.smtp_username and self.smtp_password is None:
            raise ValueError("smtp_username is set but smtp_password is not (GAITSTREAM_ALERTS_SMTP_PASSWORD)")
        slowest = max(self.webhook_timeout_s, self.apprise_timeout_s, self.smtp_timeout_s)
        if self.lease_s <= slowest:
            raise ValueError(
                f"lease_s={self.lease_s} must exceed the slowest channel timeout ({slowest} s), "
                "or a slow send still in progress would be claimed and sent again"
            )
        for name in ("send_batch", "send_concurrency", "max_attempts", "consume_max_records"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        return self

    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()
