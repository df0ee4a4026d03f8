"""Apache Kafka (KRaft, one node acting as broker and controller) from Maven Central jars.

Maven Central's ``kafka_2.13`` artifact with its runtime dependencies is a runnable broker but
ships no logging backend, so log4j-core and its slf4j 1.7 binding are fetched beside it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from rich.console import Console

from gaitstream.access.principals import (
    ADMIN_USER,
    DISPATCHER_USER,
    FEEDBACK_USER,
    PIPELINE_USER,
    REPORT_USER,
    SIMULATOR_USER,
    SINK_USER,
)
from gaitstream.access.tls import BROKER_COMMON_NAME, TlsFiles, create_tls_files
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


def new_cluster_id() -> str:
    """A random KRaft cluster id (22 url-safe base64 characters) that never starts with "-": the
    storage tool's argument parser would read such an id as an option (1 start in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]
        if not cluster_id.startswith("-"):
            return cluster_id


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

    @property
    def plaintext(self) -> bool:
        """The benchmark's baseline broker (no TLS, no SASL, no ACLs); never the tests' or the demo's."""
        return self.settings.kafka_security == "plaintext"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.home / "tls")

    # The roles of a deployment (gaitstream.access.principals) and their local passwords.
    ROLES = {
        "admin": ADMIN_USER,
        "pipeline": PIPELINE_USER,
        "sink": SINK_USER,
        "dispatcher": DISPATCHER_USER,
        "feedback": FEEDBACK_USER,
        "report": REPORT_USER,
        "simulator": SIMULATOR_USER,
    }

    def credentials(self) -> dict[str, str]:
        """Each role's password, the stations' signing secret and the privacy audit's key,
        generated at the first ``up`` and kept in the state directory, readable by the owner only."""
        creds = json.loads(self.credentials_file.read_text()) if self.credentials_file.exists() else {}
        if set(self.ROLES) | {"signing_secret", "privacy_audit_key"} <= set(creds):
            return creds
        # A role added since the first `up` gets a password; the existing ones (the broker was
        # formatted with the admin's) are kept.
        self.home.mkdir(parents=True, exist_ok=True)
        for role in self.ROLES:
            creds.setdefault(role, secrets.token_urlsafe(32))
        creds.setdefault("signing_secret", secrets.token_hex(32))
        creds.setdefault("privacy_audit_key", secrets.token_hex(32))
        fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(creds, fh)
        return creds

    def _write_config(self) -> Path:
        """SASL_SSL (SCRAM-SHA-512) for every client and for the broker itself; the controller
        listener on 127.0.0.1 with mutual TLS (only the broker's certificate gets in); KRaft's
        StandardAuthorizer, nothing allowed without an ACL, no topic auto-creation. Same settings
        as compose's deploy/kafka/start.sh (a test compares them)."""
        s = self.settings
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        if self.plaintext:
            security = ["listener.security.protocol.map=CLIENTS:PLAINTEXT,CONTROLLER:PLAINTEXT"]
        else:
            creds = self.credentials()
            tls = create_tls_files(self.tls.directory, [s.host, "localhost"])
            security = security_properties(
                admin_password=creds["admin"], keystore=tls.broker_keystore, truststore=tls.ca_cert
            )
        lines = [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{s.host}:{s.kafka_controller_port}",
            f"listeners=CLIENTS://{s.host}:{s.kafka_port},CONTROLLER://{s.host}:{s.kafka_controller_port}",
            f"advertised.listeners=CLIENTS://{s.host}:{s.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=CLIENTS",
            *security,
            f"log.dirs={self.home / 'data'}",
            "num.partitions=8",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # Tests start consumers at once; the 3 s default only slows the first join.
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
        fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines))
        (self.home / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        return props

    def _format_storage(self, props: Path) -> None:
        """Format once, with the admin's SCRAM credential in the first metadata (KIP-900). Data of
        a stack from before SASL (no marker) is discarded: it is a local test broker."""
        marker = self.home / "data" / ".sasl-formatted"
        if (self.home / "data" / "meta.properties").exists():
            if marker.exists():
                return
            shutil.rmtree(self.home / "data")
        cluster_id = new_cluster_id()
        scram = (
            []
            if self.plaintext
            else ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN_USER},password={self.credentials()['admin']}]"]
        )
        run_logged(
            [
                "java",
                "-cp",
                f"{self.libs_dir}/*",
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(props),
                *scram,
            ],
            step="format Kafka storage",
            log_file=self.process.log_file,
            console=self.console,
            timeout_s=self.settings.startup_timeout_s,
        )
        marker.write_text("SCRAM-SHA-512 admin added at format\n")

    def client_settings(self, role: str = "admin"):
        """KafkaSettings of one role (``admin``, ``pipeline``, ``sink``, ``dispatcher``, ``simulator``)."""
        from gaitstream.settings import KafkaSettings

        if role not in self.ROLES:
            raise ValueError(f"role must be one of {', '.join(self.ROLES)}, got {role!r}")
        if self.plaintext:
            return KafkaSettings(bootstrap=self.settings.kafka_bootstrap, security_protocol="PLAINTEXT")
        return KafkaSettings(
            bootstrap=self.settings.kafka_bootstrap,
            username=self.ROLES[role],
            password=self.credentials()[role],
            ca_file=self.tls.ca_cert,
        )

    def ensure_roles(
        self,
        topics=None,
        app_id: str = "gaitstream-pipeline",
        dispatcher_group: str | None = None,
        report_group: str | None = None,
    ) -> None:
        """Every role's user with its local password and its ACLs for ``topics`` / ``app_id``
        (the defaults: the deployment's own names; tests add their prefixes)."""
        from gaitstream.access.admin import AccessAdmin
        from gaitstream.access.principals import (
            DISPATCHER_GROUP,
            REPORT_GROUP,
            dispatcher_grants,
            feedback_grants,
            pipeline_grants,
            report_grants,
            sink_grants,
            station_grants,
        )
        from gaitstream.settings import TopicSettings

        if self.plaintext:
            return  # no users, no ACLs: the benchmark's baseline broker
        topics = topics or TopicSettings(prefix="gaitstream")
        creds = self.credentials()
        with AccessAdmin(self.client_settings("admin")) as admin:
            admin.ensure_role(PIPELINE_USER, creds["pipeline"], pipeline_grants(topics, app_id))
            admin.ensure_role(SINK_USER, creds["sink"], sink_grants(topics, app_id))
            admin.ensure_role(
                DISPATCHER_USER, creds["dispatcher"], dispatcher_grants(topics, dispatcher_group or DISPATCHER_GROUP)
            )
            admin.ensure_role(FEEDBACK_USER, creds["feedback"], feedback_grants(topics))
            admin.ensure_role(REPORT_USER, creds["report"], report_grants(topics, report_group or REPORT_GROUP))
            admin.ensure_role(SIMULATOR_USER, creds["simulator"], station_grants(topics, SIMULATOR_USER))

    def start(self) -> bool:
        """Start the broker unless it already answers. Returns True when this call started it.
        Either way the role users and their ACLs are brought up to date (idempotent, as
        InfluxDB's init script: a newer checkout may grant a role more or less)."""
        if self.process.pid() is not None or port_open(self.settings.host, self.settings.kafka_port):
            if self._admin_check()[0]:
                self.ensure_roles()
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
        self.ensure_roles()
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
                **self.client_settings("admin").client_config(), request_timeout_ms=3000, client_id="gaitstream-stack"
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


def security_properties(*, admin_password: str, keystore: Path, truststore: Path) -> list[str]:
    """The broker's security settings (listener names ``CLIENTS`` and ``CONTROLLER``)."""
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{admin_password}";'
    )
    return [
        "listener.security.protocol.map=CLIENTS:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
        f"listener.name.clients.scram-sha-512.sasl.jaas.config={jaas}",
        "listener.name.controller.ssl.client.auth=required",
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={keystore}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={truststore}",
        "ssl.endpoint.identification.algorithm=https",
        "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:{ADMIN_USER};User:CN={BROKER_COMMON_NAME}",
        "allow.everyone.if.no.acl.found=false",
        "auto.create.topics.enable=false",
        # A client re-authenticates (or is disconnected) within a minute: a revoked password stops working.
        "connections.max.reauth.ms=60000",
    ]
