"""Connection settings shared by the pipeline, the services and the tools.

All from ``GAITSTREAM_*`` environment variables (pydantic-settings). Secrets have no default:
a missing token is an error at the moment a client is built, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def load_secret_files(environ: dict[str, str] | None = None) -> list[str]:
    """Secrets as files: for each ``GAITSTREAM_<NAME>_FILE`` whose ``GAITSTREAM_<NAME>`` is unset,
    set it to the file's content (compose mounts secrets under /run/secrets). Called by the entry
    points before any settings are read, never at import. Returns the names it set."""
    environ = os.environ if environ is None else environ
    loaded = []
    for name, path in list(environ.items()):
        if not (name.startswith("GAITSTREAM_") and name.endswith("_FILE")):
            continue
        target = name[: -len("_FILE")]
        if environ.get(target):
            continue
        try:
            environ[target] = Path(path).read_text().strip()
        except OSError as exc:
            from gaitstream.exceptions import GaitstreamError

            raise GaitstreamError(f"{name}={path} cannot be read: {exc.strerror}") from exc
        loaded.append(target)
    return loaded


def default_cache_dir() -> Path:
    """Downloads and builds (``$XDG_CACHE_HOME/gaitstream``)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "gaitstream"


def default_state_dir() -> Path:
    """Data that outlives a process: the local stack, Faust's table state, logs
    (``$XDG_STATE_HOME/gaitstream``)."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "gaitstream"


class KafkaSettings(BaseSettings):
    """Where the Kafka brokers are and who this client is (``GAITSTREAM_KAFKA_*``).

    Every connection is SASL_SSL: TLS verified against ``ca_file`` (the clinic's CA that signed
    the broker certificate; the system's CAs when unset) and SCRAM-SHA-512 as ``username``. The
    password has no default: ``password`` or ``password_file`` (compose's secrets are files); a
    missing one is an error when a client is built, never at import. Each component has its own
    principal with only the ACLs its role needs (``gaitstream.access``).
    """

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_KAFKA_", extra="ignore")

    bootstrap: str = "127.0.0.1:19092"
    # PLAINTEXT exists for one purpose: the benchmark's baseline broker (benchmarks/pipeline_load.py
    # --plaintext-baseline) that measures what TLS and SASL cost. No deployed listener accepts it.
    security_protocol: Literal["SASL_SSL", "PLAINTEXT"] = "SASL_SSL"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    sasl_mechanism: str = "SCRAM-SHA-512"

    @property
    def bootstrap_servers(self) -> list[str]:
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]

    @property
    def faust_broker(self) -> str:
        """Faust's broker URL form: ``kafka://host:port;host:port``."""
        return "kafka://" + ";".join(self.bootstrap_servers)

    def credentials(self) -> tuple[str, str]:
        """``(username, password)``; raises ``KafkaSettingsError`` naming what is missing."""
        from gaitstream.exceptions import KafkaSettingsError

        if not self.username:
            raise KafkaSettingsError("GAITSTREAM_KAFKA_USERNAME is not set (each component has its own Kafka user)")
        if self.password is not None:
            return self.username, self.password.get_secret_value()
        if self.password_file is not None:
            try:
                return self.username, self.password_file.read_text().strip()
            except OSError as exc:
                raise KafkaSettingsError(f"GAITSTREAM_KAFKA_PASSWORD_FILE cannot be read: {exc.strerror}") from exc
        raise KafkaSettingsError("GAITSTREAM_KAFKA_PASSWORD or GAITSTREAM_KAFKA_PASSWORD_FILE is not set")

    def ssl_context(self):
        """TLS 1.2+ with the broker's certificate and host name checked against ``ca_file``."""
        import ssl

        from gaitstream.exceptions import KafkaSettingsError

        if self.ca_file is not None and not self.ca_file.is_file():
            raise KafkaSettingsError(f"GAITSTREAM_KAFKA_CA_FILE {self.ca_file} does not exist")
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def security(self) -> dict:
        """The security keyword arguments kafka-python's and aiokafka's clients share."""
        if self.security_protocol == "PLAINTEXT":
            return {"security_protocol": "PLAINTEXT"}
        username, password = self.credentials()
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
            "ssl_context": self.ssl_context(),
        }

    def client_config(self) -> dict:
        """Keyword arguments for any kafka-python or aiokafka client: brokers and security."""
        return {"bootstrap_servers": self.bootstrap_servers, **self.security()}

    def faust_credentials(self):
        """``broker_credentials`` for a Faust app (None for the PLAINTEXT baseline)."""
        import faust

        if self.security_protocol == "PLAINTEXT":
            return None
        security = self.security()
        return faust.SASLCredentials(
            username=security["sasl_plain_username"],
            password=security["sasl_plain_password"],
            mechanism=self.sasl_mechanism,
            ssl_context=security["ssl_context"],
        )


class SinkKafkaCredentials(BaseSettings):
    """The InfluxDB sink's own Kafka user (``GAITSTREAM_SINK_KAFKA_*``): it runs in the worker's
    process but reads the output topics as a principal of its own."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_SINK_KAFKA_", extra="ignore")

    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None


class SigningSettings(BaseSettings):
    """The deployment's station-signing secret (``GAITSTREAM_STATION_SIGNING_SECRET``, 64 hex
    digits, or ``..._SECRET_FILE``): pipeline workers verify every frame with the keys it derives
    (gaitstream.access.signing); the operator's ``gaitstream access station add`` prints a station's
    own key. Simulated station fleets (demo, tests, benchmarks) hold it too; a real station never:
    it gets only its own key (``GAITSTREAM_STATION_SIGNING_KEY``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_STATION_", extra="ignore")

    signing_secret: SecretStr | None = None
    signing_secret_file: Path | None = None

    def secret(self) -> bytes:
        from gaitstream.exceptions import SigningSettingsError

        if self.signing_secret is not None:
            text = self.signing_secret.get_secret_value()
        elif self.signing_secret_file is not None:
            try:
                text = self.signing_secret_file.read_text().strip()
            except OSError as exc:
                raise SigningSettingsError(
                    f"GAITSTREAM_STATION_SIGNING_SECRET_FILE cannot be read: {exc.strerror}"
                ) from exc
        else:
            raise SigningSettingsError(
                "GAITSTREAM_STATION_SIGNING_SECRET or GAITSTREAM_STATION_SIGNING_SECRET_FILE is not set"
            )
        try:
            secret = bytes.fromhex(text)
        except ValueError as exc:
            raise SigningSettingsError("the station signing secret must be hexadecimal") from exc
        if len(secret) < 32:
            raise SigningSettingsError("the station signing secret must be at least 32 bytes (64 hex digits)")
        return secret


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
    # Partitions bound how many workers share the stations (docs/architecture.md, "Scale-out").
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

    @property
    def feedback(self) -> str:
        """What the patients' feedback screens showed, per step (the feedback service writes it)."""
        return self.name("feedback")

    def all(self) -> list[str]:
        return [self.stations, self.steps, self.status, self.trace, self.alerts, self.deadletter, self.feedback]
