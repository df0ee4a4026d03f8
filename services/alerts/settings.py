"""Settings of the alert service and dispatcher (``GAITSTREAM_ALERTS_*``), read when a command
starts, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    state = Path.home() / ".local" / "state" / "gaitstream"
    return f"sqlite:///{state / 'alerts.db'}"


class AlertServiceSettings(BaseSettings):
    """Store, API and dispatcher settings.

    ``database_url``: any SQLAlchemy URL; SQLite by default, PostgreSQL as
    ``postgresql+psycopg://user:password@host/db``. ``admin_token`` guards the endpoints that
    create supervisors and API keys; it has no default (without it those endpoints refuse).
    """

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_ALERTS_", extra="ignore")

    database_url: str = ""
    admin_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8088
    # The dispatcher's consumer group on the alerts topic.
    consumer_group: str = "gaitstream-alerts-dispatcher"

    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()
