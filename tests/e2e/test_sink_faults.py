"""The sink's faults end to end (issue 15): a bucket that does not exist is not retried silently.

The worker writes to a bucket an operator has not created yet: its health page fails with the
reason and a ``pipeline_fault`` alert opens for the clinic; the batch is retried, not dropped.
Once the bucket exists, the alert resolves, the health page passes and every step lands.
"""

from __future__ import annotations

import socket
import time
import uuid

import httpx

from gaitstream.schemas.codec import decode
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from gaitstream.topics import read_latest
from tests.e2e.harness import REPO, PipelineRun

CLINIC = "clinic-sink-faults"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fault_alerts(run: PipelineRun) -> list[dict]:
    values = read_latest(run.kafka, run.topics.alerts).values()
    return [alert for _, alert in map(decode, values) if alert["kind"] == "pipeline_fault"]


def _compose_healthcheck(port: int) -> int:
    """Exit code of the pipeline worker's healthcheck command as compose ships it, at ``port``."""
    import subprocess
    import sys

    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["pipeline-worker"]["healthcheck"]["test"]
    assert command[:2] == ["CMD", "python"]
    args = [arg.replace("localhost:6066", f"127.0.0.1:{port}") for arg in command[2:]]
    return subprocess.run([sys.executable, *args], capture_output=True, timeout=30, check=False).returncode


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.5)
    return value


def test_a_missing_bucket_fails_health_and_alerts_until_it_exists_and_loses_nothing(
    stack, kafka_settings, influx_settings, tmp_path
) -> None:
    from tests.e2e.reference import reference_steps

    bucket = f"it-later-{uuid.uuid4().hex[:8]}"
    run = PipelineRun(
        kafka=kafka_settings,
        influx=influx_settings.model_copy(update={"bucket": bucket, "database": bucket}),
        tmp=tmp_path,
    )
    port = _free_port()
    server = stack.influxdb
    created = None
    try:
        run.start_worker("a", web_port=port)
        health = f"http://127.0.0.1:{port}/health/"
        assert httpx.get(health, timeout=5).status_code == 200 and _compose_healthcheck(port) == 0
        config = pattern_config("normal", duration_s=20.0, seed=51)
        source = SimulatedSource(config)
        session = new_session(clinic_id=CLINIC, station_id=f"{run.prefix}-s1", patient_id="p-1", source=source)
        station = StationRun(session=session, source=source)
        publisher = StationPublisher(kafka=run.kafka, topics=run.topics, settings=StationSettings(linger_ms=1))
        try:
            run_stations([station], publisher, frame_samples=10, speed=0.0)
        finally:
            publisher.close()

        failing = _wait(lambda: (r := httpx.get(health, timeout=5)).status_code == 503 and r, 60, "health never failed")
        assert failing.json() == {"healthy": False, "faults": {CLINIC: "http_404"}}
        assert _compose_healthcheck(port) != 0
        (opened,) = _wait(lambda: _fault_alerts(run), 30, "no pipeline_fault alert")
        assert (opened["state"], opened["clinic_id"], opened["fault"], opened["severity"]) == (
            "open",
            CLINIC,
            "http_404",
            "critical",
        )
        assert "not found" in opened["message"]

        org_id = server.bucket()["orgID"]
        created = server.api("POST", "/api/v2/buckets", json={"orgID": org_id, "name": bucket, "retentionRules": []})
        _wait(lambda: httpx.get(health, timeout=5).status_code == 200, 60, "health never recovered")
        assert _compose_healthcheck(port) == 0
        (resolved,) = _wait(lambda: [a for a in _fault_alerts(run) if a["state"] == "resolved"], 30, "never resolved")
        assert resolved["alert_id"] == opened["alert_id"]
        expected = reference_steps(station, lambda: SimulatedSource(config), 10)
        rows = run.wait_for_steps({session.session_id: len(expected)}, timeout_s=60)[session.session_id]
        assert sorted(r["step_index"] for r in rows) == [s["step_index"] for s in expected]
    finally:
        run.stop()
        if created is not None:
            server.api("DELETE", f"/api/v2/buckets/{created['id']}")
