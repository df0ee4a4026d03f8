"""Apache Kafka (KRaft, one node acting as broker and controller) from Maven Central jars.

Maven Central's ``kafka_2.13`` artifact with its runtime dependencies is a runnable broker but
ships no logging backend, so log4j-core and its slf4j 1.7 binding are fetched beside it.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from rich.console import Console

from gaitstream.stack.build import require_tools, run_logged
from gaitstream.stack.exceptions import StackError
from gaitstream.stack.process import ManagedProcess, port_open
from gaitstream.stack.settings import StackSettings

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

POM_TEMPLATE = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>gaitstream.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

LOG4J2_PROPERTIES = """status = warn
appender.file.type = Console
appender.file.name = STDOUT
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
"""


@dataclass(frozen=True)
class ServerStatus:
    name: str
    healthy: bool
    managed: bool
    pid: int | None
    endpoint: str
    version: str
    detail: str = ""


class KafkaServer:
    """One local KRaft Kafka node: fetch (cached), configure, format, start, check, stop."""

    name = "kafka"

    def __init__(self, settings: StackSettings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.process = ManagedProcess(self.name, settings.state_dir)

    @property
    def libs_dir(self) -> Path:
        return self.settings.cache_dir / "kafka" / self.settings.kafka_version / "libs"

    @property
    def home(self) -> Path:
        return self.settings.state_dir / "kafka"

    def installed(self) -> bool:
        return (self.libs_dir / ".complete").exists()

    def install(self) -> float:
        """Fetch the broker's runtime jars with Maven into the cache (once). Returns seconds spent."""
        if self.installed():
            return 0.0
        require_tools({"java": "run the Kafka broker", "mvn": "fetch the Kafka jars from Maven Central"})
        self.libs_dir.mkdir(parents=True, exist_ok=True)
        with TemporaryDirectory() as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(POM_TEMPLATE.format(kafka=self.settings.kafka_version, log4j=self.settings.log4j_version))
            elapsed = run_logged(
                [
                    "mvn",
                    "-B",
                    "-q",
                    "-f",
                    str(pom),
                    f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={self.libs_dir}",
                ],
                step=f"fetch Kafka {self.settings.kafka_version} jars (Maven)",
                log_file=self.settings.cache_dir / "logs" / "kafka-fetch.log",
                console=self.console,
                timeout_s=self.settings.build_timeout_s,
            )
        if not (self.libs_dir / f"kafka_2.13-{self.settings.kafka_version}.jar").exists():
            raise StackError("Maven finished but the kafka jar is missing", step="fetch Kafka jars")
        (self.libs_dir / ".complete").write_text(self.settings.kafka_version)
        return elapsed

    def _write_config(self) -> Path:
        s = self.settings
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{s.host}:{s.kafka_controller_port}",
                    f"listeners=PLAINTEXT://{s.host}:{s.kafka_port},CONTROLLER://{s.host}:{s.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://{s.host}:{s.kafka_port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.home / 'data'}",
                    "num.partitions=8",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    # Tests start consumers at once; the 3 s default only slows the first join.
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "",
                ]
            )
        )
        (self.home / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        return props

    def _format_storage(self, props: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]
        run_logged(
            [
                "java",
                "-cp",
                f"{self.libs_dir}/*",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
            ],
            step="format Kafka storage",
            log_file=self.process.log_file,
            console=self.console,
            timeout_s=self.settings.startup_timeout_s,
        )

    def start(self) -> bool:
        """Start the broker unless it already answers. Returns True when this call started it."""
        if self.process.pid() is not None or port_open(self.settings.host, self.settings.kafka_port):
            return False
        self.install()
        props = self._write_config()
        self._format_storage(props)
        self.process.start(
            [
                "java",
                *self.settings.kafka_heap.split(),
                "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "-cp",
                f"{self.libs_dir}/*",
                "kafka.Kafka",
                str(props),
            ],
            cwd=self.home,
        )
        self.wait_ready()
        return True

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        last_error = "port closed"
        while time.monotonic() < deadline:
            if self.process.pid() is None and not port_open(self.settings.host, self.settings.kafka_port):
                raise StackError(
                    "Kafka exited during start-up:\n    " + "\n    ".join(self.process.tail(10)),
                    step="start Kafka",
                    log_file=str(self.process.log_file),
                )
            ok, last_error = self._admin_check()
            if ok:
                return
            time.sleep(0.5)
        raise StackError(
            f"Kafka not ready within {self.settings.startup_timeout_s:.0f} s ({last_error})",
            step="start Kafka",
            log_file=str(self.process.log_file),
        )

    def _admin_check(self) -> tuple[bool, str]:
        if not port_open(self.settings.host, self.settings.kafka_port):
            return False, "port closed"
        from kafka import KafkaAdminClient  # imported here: the CLI must not pay for it unless used

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.settings.kafka_bootstrap, request_timeout_ms=3000, client_id="gaitstream-stack"
            )
            try:
                admin.list_topics()
            finally:
                admin.close()
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, "ok"

    def stop(self) -> bool:
        return self.process.stop(self.settings.stop_timeout_s)

    def status(self) -> ServerStatus:
        healthy, detail = self._admin_check()
        return ServerStatus(
            name=self.name,
            healthy=healthy,
            managed=self.process.pid() is not None,
            pid=self.process.pid(),
            endpoint=self.settings.kafka_bootstrap,
            version=self.settings.kafka_version if self.installed() else "not installed",
            detail=detail,
        )
