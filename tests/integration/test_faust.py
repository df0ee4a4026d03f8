"""A real Faust worker process consumes one topic from the broker and produces to another."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from gaitstream.processes import stop_processes
from tests.roles import settings_env

REPO = Path(__file__).resolve().parents[2]
MESSAGES = 10
WORKER_STARTUP_TIMEOUT_S = 60.0


def test_faust_worker_consumes_and_produces(kafka_settings, tmp_path) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    run_id = uuid.uuid4().hex[:8]
    in_topic, out_topic = f"it.faust.in.{run_id}", f"it.faust.out.{run_id}"
    # Faust subscribes to source topics but does not create them: like the pipeline's, they exist first.
    admin = KafkaAdminClient(**kafka_settings.client_config())
    admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in (in_topic, out_topic)])
    admin.close()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        **settings_env(kafka_settings),
        "GAITSTREAM_IT_FAUST_DATADIR": str(tmp_path / "faust-data"),
        "GAITSTREAM_IT_IN_TOPIC": in_topic,
        "GAITSTREAM_IT_OUT_TOPIC": out_topic,
    }
    faust_bin = shutil.which("faust", path=str(Path(sys.executable).parent)) or "faust"
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [faust_bin, "-A", "tests.integration.faust_echo", "worker", "--without-web", "-l", "info"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WORKER_STARTUP_TIMEOUT_S
        while "Ready" not in log_path.read_text(errors="replace"):
            assert worker.poll() is None, f"faust worker exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"faust worker not ready:\n{log_path.read_text()}"
            time.sleep(0.5)

        producer = KafkaProducer(**kafka_settings.client_config(), acks="all")
        for i in range(MESSAGES):
            producer.send(in_topic, key=f"station-{i % 2}".encode(), value=f"f{i}".encode())
        producer.flush(timeout=20)
        producer.close()

        consumer = KafkaConsumer(
            out_topic,
            **kafka_settings.client_config(),
            group_id=f"it-{run_id}",
            auto_offset_reset="earliest",
            consumer_timeout_ms=30000,
        )
        received = set()
        for record in consumer:
            received.add((record.key, record.value))
            if len(received) == MESSAGES:
                break
        consumer.close()
    finally:
        stop_processes([worker], grace_s=30)
    assert received == {(f"station-{i % 2}".encode(), f"echo:f{i}".encode()) for i in range(MESSAGES)}
