"""The local stack as a whole: ``up`` (idempotent), ``down`` (only what we started), ``status``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console

from gaitstream.stack.influxdb import InfluxDBServer
from gaitstream.stack.kafka import KafkaServer, ServerStatus
from gaitstream.stack.settings import StackSettings


@dataclass
class UpReport:
    started: list[str] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)
    setup_s: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0


class Stack:
    """Kafka and InfluxDB on 127.0.0.1, built from registries and cached outside the repo."""

    def __init__(self, settings: StackSettings | None = None, console: Console | None = None) -> None:
        self.settings = settings or StackSettings()
        self.console = console or Console(stderr=True)
        self.kafka = KafkaServer(self.settings, self.console)
        self.influxdb = InfluxDBServer(self.settings, self.console)

    @property
    def servers(self) -> list[KafkaServer | InfluxDBServer]:
        return [self.kafka, self.influxdb]

    def install(self) -> dict[str, float]:
        """Fetch/build what is missing; returns seconds spent per server (0 when cached)."""
        return {server.name: server.install() for server in self.servers}

    def up(self) -> UpReport:
        started_at = time.monotonic()
        report = UpReport(setup_s=self.install())
        for server in self.servers:
            (report.started if server.start() else report.already_running).append(server.name)
        report.elapsed_s = time.monotonic() - started_at
        return report

    def down(self) -> list[str]:
        """Stop the servers this stack started (pid files), newest first; returns their names."""
        return [server.name for server in reversed(self.servers) if server.stop()]

    def stop(self, names: list[str]) -> list[str]:
        """Stop only the named servers (e.g. those a test session started)."""
        return [server.name for server in reversed(self.servers) if server.name in names and server.stop()]

    def status(self) -> list[ServerStatus]:
        return [server.status() for server in self.servers]

    def env(self, role: str = "admin") -> dict[str, str]:
        """Environment variables that point gaitstream's clients at this stack, as Kafka user
        ``role`` (gaitstream.stack.kafka.KafkaServer.ROLES); with the stations' signing secret
        for the roles that sign or verify frames."""
        kafka = self.kafka.client_settings(role)
        env = {
            "GAITSTREAM_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "GAITSTREAM_KAFKA_USERNAME": kafka.username,
            "GAITSTREAM_KAFKA_PASSWORD": kafka.password.get_secret_value(),
            "GAITSTREAM_KAFKA_CA_FILE": str(kafka.ca_file),
            "GAITSTREAM_INFLUX_URL": self.settings.influxdb_url,
            "GAITSTREAM_INFLUX_TOKEN": self.influxdb.token(),
            "GAITSTREAM_INFLUX_ORG": self.settings.influxdb_org,
            "GAITSTREAM_INFLUX_BUCKET": self.settings.influxdb_bucket,
            "GAITSTREAM_INFLUX_DATABASE": self.settings.influxdb_database,
        }
        if role in ("admin", "pipeline", "simulator"):
            env["GAITSTREAM_STATION_SIGNING_SECRET"] = self.kafka.credentials()["signing_secret"]
        if role == "admin":  # patients' export and erasure run as the operator
            env["GAITSTREAM_PRIVACY_AUDIT_KEY"] = self.kafka.credentials()["privacy_audit_key"]
        if role == "pipeline":
            # The sink writes with a write-only token; the operator token stays with the admin.
            env["GAITSTREAM_INFLUX_TOKEN"] = self.influxdb.sink_token()
            sink = self.kafka.client_settings("sink")
            env["GAITSTREAM_SINK_KAFKA_USERNAME"] = sink.username
            env["GAITSTREAM_SINK_KAFKA_PASSWORD"] = sink.password.get_secret_value()
        if role == "report":
            env["GAITSTREAM_INFLUX_TOKEN"] = self.influxdb.report_token()  # reads the bucket only
        return env
