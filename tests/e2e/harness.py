"""Real pipeline workers (subprocesses), stations and InfluxDB queries for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gaitstream.processes import stop_processes
from gaitstream.settings import InfluxSettings, KafkaSettings, TopicSettings
from gaitstream.stack.settings import StackSettings
from gaitstream.topics import ensure_topics
from tests.roles import forget_prefix, role_env

REPO = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT_S = 90.0


@dataclass
class PipelineRun:
    """An isolated pipeline: its own topic prefix, consumer group and data directories."""

    kafka: KafkaSettings
    influx: InfluxSettings
    tmp: Path
    prefix: str = field(default_factory=lambda: f"e2e{uuid.uuid4().hex[:8]}")
    workers: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)

    @property
    def topics(self) -> TopicSettings:
        return TopicSettings(prefix=self.prefix)

    def env(self, name: str) -> dict[str, str]:
        """A worker's environment: the pipeline's Kafka user (and the sink's) with this run's ACLs."""
        role = role_env("pipeline", self.prefix)
        # The sink's write-only token covers the stack's bucket; a test of another bucket (one
        # that does not exist yet) keeps the token it was given.
        token = role["GAITSTREAM_INFLUX_TOKEN"]
        if self.influx.bucket != StackSettings().influxdb_bucket:
            token = self.influx.token.get_secret_value()
        return {
            **os.environ,
            "PYTHONPATH": str(REPO),
            **role,
            "GAITSTREAM_INFLUX_URL": self.influx.url,
            "GAITSTREAM_INFLUX_TOKEN": token,
            "GAITSTREAM_INFLUX_ORG": self.influx.org,
            "GAITSTREAM_INFLUX_BUCKET": self.influx.bucket,
            "GAITSTREAM_INFLUX_DATABASE": self.influx.database,
            "GAITSTREAM_TOPIC_PREFIX": self.prefix,
            "GAITSTREAM_PIPELINE_APP_ID": self.prefix,
            "GAITSTREAM_PIPELINE_DATADIR": str(self.tmp / f"faust-{name}"),
        }

    def start_worker(self, name: str, *, web_port: int | None = None) -> subprocess.Popen:
        """A worker process; ``web_port``: with Faust's web server (its health page) there."""
        ensure_topics(self.kafka, self.topics)
        web = ["--without-web"] if web_port is None else ["--web-port", str(web_port), "--web-host", "127.0.0.1"]
        log_path = self.tmp / f"worker-{name}.log"
        # Appended: a restarted worker (same name, same data directory) keeps its predecessor's log.
        start_at = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gaitstream.pipelines", "worker", *web, "-l", "info"],
                cwd=REPO,
                env=self.env(name),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append((proc, log_path))
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        while b"[^Worker]: Ready" not in log_path.read_bytes()[start_at:]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {name} did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        return proc

    def log(self, index: int) -> str:
        return self.workers[index][1].read_text(errors="replace")

    def stop(self) -> None:
        """Stop the workers, then delete this run's topics (the broker outlives many test runs)."""
        from gaitstream.topics import delete_topics_with_prefix

        self._stop_workers()
        delete_topics_with_prefix(self.kafka, self.prefix)
        forget_prefix(self.prefix)

    def _stop_workers(self) -> None:
        stop_processes((proc for proc, _ in self.workers), grace_s=20)

    def influxql(self, query: str) -> list[dict]:
        resp = httpx.post(
            f"{self.influx.url}/query",
            data={"db": self.influx.database, "q": query},
            headers={"Authorization": f"Token {self.influx.token.get_secret_value()}"},
            timeout=20,
        )
        resp.raise_for_status()
        result = resp.json()["results"][0]
        assert "error" not in result, result
        return result.get("series", [])

    def rows(self, query: str, required: tuple[str, ...]) -> list[dict]:
        """The rows of a one-series query as dicts, without those still being written.

        InfluxDB (its TSM engine) makes a point's fields visible one at a time (its cache is partitioned by
        series key and field), so a poll can catch a row with some fields and not yet others; a row
        lacking any ``required`` field is left for the next poll rather than read as a wrong value.
        """
        series = self.influxql(query)
        if not series:
            return []
        cols = series[0]["columns"]
        rows = [dict(zip(cols, row, strict=True)) for row in series[0]["values"]]
        return [r for r in rows if all(r.get(name) is not None for name in required)]

    def step_rows(self, session_id: str) -> list[dict]:
        return self.rows(
            f"SELECT step_index, pelvic_drop_deg, trunk_lean_deg, side FROM gait_step WHERE session = '{session_id}'",
            required=("step_index", "pelvic_drop_deg", "side"),
        )

    def wait_for_steps(self, expected: dict[str, int], timeout_s: float) -> dict[str, list[dict]]:
        """Poll InfluxDB until every session has its expected step count (or the time runs out)."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = {sid: self.step_rows(sid) for sid in expected}
            if all(len(rows[sid]) >= n for sid, n in expected.items()) or time.monotonic() > deadline:
                return rows
            time.sleep(1.0)
