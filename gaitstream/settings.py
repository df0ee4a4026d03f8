"""Connection settings shared by the pipeline, the services and the tools.

All from ``GAITSTREAM_*`` environment variables (pydantic-settings). Secrets have no default:
a missing token is an error at the moment a client is built, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def default_cache_dir() -> Path:
    """Downloads and builds (``$XDG_CACHE_HOME/gaitstream``)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "gaitstream"


def default_state_dir() -> Path:
    """Data that outlives a process: the local stack, Faust's table state, logs
    (``$XDG_STATE_HOME/gaitstream``)."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "gaitstream"


class KafkaSettings(BaseSettings):
    """Where the Kafka brokers are (``GAITSTREAM_KAFKA_*``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_KAFKA_", extra="ignore")

    bootstrap: str = "127.0.0.1:19092"

    @property
    def bootstrap_servers(self) -> list[str]:
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]

    @property
    def faust_broker(self) -> str:
        """Faust's broker URL form: ``kafka://host:port;host:port``."""
        return "kafka://" + ";".join(self.bootstrap_servers)


class InfluxSettings(BaseSettings):
    """Which InfluxDB to write to (``GAITSTREAM_INFLUX_*``).

    ``token`` is an InfluxDB 2.x API token, ``org`` and ``bucket`` where the points go;
    ``database`` is the bucket's InfluxQL name (its DBRP mapping), read by the dashboards.
    Defaults are compose's (``.env.example``) and the local stack's port.
    """

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_INFLUX_", extra="ignore")

    url: str = "http://127.0.0.1:18086"
    token: SecretStr
    org: str = "clinic"
    bucket: str = "gaitstream"
    database: str = "gaitstream"
    # Compress writes: worth it across a network, a waste of CPU next to the database.
    gzip: bool = False


class TopicSettings(BaseSettings):
    """Kafka topic names (``GAITSTREAM_TOPIC_*``); a prefix isolates test runs and clinics."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_TOPIC_", extra="ignore")

    prefix: str = "gaitstream"
    # Partitions bound how many workers share the stations (README, scale-out).
    partitions: int = 12

    def name(self, kind: str) -> str:
        return f"{self.prefix}.{kind}.v1"

    @property
    def stations(self) -> str:
        """IMU frames and session start/stop of every station, key = station id."""
        return self.name("stations")

    @property
    def steps(self) -> str:
        return self.name("steps")

    @property
    def status(self) -> str:
        return self.name("status")

    @property
    def trace(self) -> str:
        return self.name("trace")

    @property
    def alerts(self) -> str:
        return self.name("alerts")

    @property
    def alert_settings(self) -> str:
        """Alert-rule settings per clinic and patient (compacted; key clinic/<c> or patient/<c>/<p>)."""
        return self.name("alert-settings")

    @property
    def session_history(self) -> str:
        """Each patient's last session summaries (compacted; key <clinic>/<patient>)."""
        return self.name("session-history")

    @property
    def deadletter(self) -> str:
        """Messages the pipeline refused, unchanged, with the reason in the headers."""
        return self.name("deadletter")

    def all(self) -> list[str]:
        return [self.stations, self.steps, self.status, self.trace, self.alerts, self.deadletter]
