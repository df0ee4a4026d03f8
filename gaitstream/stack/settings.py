"""Settings of the local development stack (real Kafka + InfluxDB on 127.0.0.1).

Read from ``GAITSTREAM_STACK_*`` environment variables; nothing is built at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.settings import default_cache_dir, default_state_dir


class StackSettings(BaseSettings):
    """Where the local stack caches its downloads/builds, keeps its data, and which ports it binds.

    Ports avoid Kafka's and InfluxDB's defaults (9092/9093, 8086) so a developer's
    own servers do not collide with ours.
    """

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_STACK_", extra="ignore")

    cache_dir: Path = Field(default_factory=default_cache_dir)
    state_dir: Path = Field(default_factory=default_state_dir)
    host: str = "127.0.0.1"

    kafka_version: str = "4.1.1"
    # log4j 2.24.x still ships the slf4j-1.7 binding that Kafka 4.1 (slf4j-api 1.7.36) needs.
    log4j_version: str = "2.24.3"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "-Xms512m -Xmx1g"
    # sasl_ssl: what every test, the demo and compose run. plaintext: only the capacity benchmark's
    # baseline broker (benchmarks/pipeline_load.py --plaintext-baseline, its own state directory).
    kafka_security: Literal["sasl_ssl", "plaintext"] = "sasl_ssl"

    # The release compose deploys (docker-compose.yml pins the same image tag; a test checks).
    influxdb_version: str = "v2.7.12"
    influxdb_pkg_config_version: str = "v0.2.14"
    influxdb_http_port: int = 18086
    # Organisation, bucket and InfluxQL database as compose's defaults (.env.example).
    influxdb_org: str = "clinic"
    influxdb_bucket: str = "gaitstream"
    influxdb_database: str = "gaitstream"
    influxdb_admin_user: str = "gaitstream-admin"
    influxdb_grafana_user: str = "grafana"

    startup_timeout_s: float = 60.0
    stop_timeout_s: float = 15.0
    # The first InfluxDB build compiles Flux's Rust core: 10-25 min on 2 cores.
    build_timeout_s: float = 3600.0

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def influxdb_url(self) -> str:
        return f"http://{self.host}:{self.influxdb_http_port}"
