"""A session through the real pipeline (broker, worker, sink, feedback service with a screen open in
chromium) is reported when it stops by ``gaitstream report serve`` (its own Kafka user, InfluxDB's
read-only token): the PDF's numbers equal what InfluxDB holds, its plots render, the HTML carries
the same figures and the FHIR Bundle validates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pypdf
import pypdfium2
import pytest

from gaitstream.services.feedback.tokens import make_token
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from tests.e2e.harness import REPO, PipelineRun
from tests.feedback.browser import Service, browser  # noqa: F401 (fixture)
from tests.roles import role_env, role_settings

SECRET = bytes(range(32))
PLAN = "none:10s,faded:30s:from=1:to=0,none:10s"
REPORT_TIMEOUT_S = 90


@pytest.fixture()
def pipeline(kafka_settings, influx_settings, tmp_path):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    yield run
    run.stop()


def _report_service(pipeline: PipelineRun, out_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        **role_env("report", pipeline.prefix),
        "GAITSTREAM_INFLUX_URL": pipeline.influx.url,
        "GAITSTREAM_INFLUX_ORG": pipeline.influx.org,
        "GAITSTREAM_INFLUX_BUCKET": pipeline.influx.bucket,
        "GAITSTREAM_TOPIC_PREFIX": pipeline.prefix,
        "GAITSTREAM_REPORT_GROUP": f"{pipeline.prefix}-reports",
        "GAITSTREAM_REPORT_OUT_DIR": str(out_dir),
        "GAITSTREAM_REPORT_SETTLE_S": "3",
        "GAITSTREAM_REPORT_ATTEMPTS": "20",
        "GAITSTREAM_REPORT_PUBLIC_URL": "https://alerts.clinic.example",
        "MPLCONFIGDIR": str(out_dir.parent / "mpl"),
    }
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "gaitstream", "report", "serve"], env=env, stdout=handle, stderr=subprocess.STDOUT
        )


def _stored(pipeline: PipelineRun, session_id: str) -> tuple[list[dict], list[dict]]:
    steps = pipeline.rows(
        f"SELECT side, pelvic_drop_deg, step_time_s FROM gait_step WHERE session = '{session_id}'",
        required=("side", "pelvic_drop_deg", "step_time_s"),
    )
    cues = pipeline.rows(
        f"SELECT shown, schedule FROM gait_feedback WHERE session = '{session_id}'", required=("shown", "schedule")
    )
    return steps, cues


def test_a_stopped_session_gets_a_report_with_the_numbers_influxdb_holds(pipeline, browser, tmp_path) -> None:  # noqa: F811
    from fhir.resources.bundle import Bundle

    from gaitstream.services.feedback.feed import run_feed

    pipeline.start_worker("a")
    kafka = role_settings("feedback", pipeline.prefix)

    async def feed(hub, ready):
        await run_feed(hub, kafka, pipeline.topics, lookback_s=600, ready=ready)

    service = Service(SECRET, feed=feed).start()
    out_dir = tmp_path / "reports"
    reporter = _report_service(pipeline, out_dir, tmp_path / "report.log")
    station_id = f"{pipeline.prefix}-rp"
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        token = make_token(SECRET, station_id, expires_s=int(time.time()) + 3600)
        page.goto(f"{service.url}/screen/{station_id}?token={token}")
        time.sleep(8)  # the report service joins its group and the page connects
        source = SimulatedSource(pattern_config("trendelenburg_left", duration_s=50.0, seed=45))
        session = new_session(
            clinic_id="clinic-rp",
            station_id=station_id,
            patient_id=f"P-{pipeline.prefix}",
            source=source,
            feedback_plan=PLAN,
            target_pelvic_drop_deg=2.0,
        )
        publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings())
        try:
            run_stations([StationRun(session=session, source=source)], publisher, frame_samples=10, speed=2.0)
        finally:
            publisher.close()
        pdf_path = out_dir / "clinic-rp" / f"{session.session_id}.pdf"
        deadline = time.monotonic() + REPORT_TIMEOUT_S
        while not pdf_path.exists():
            assert reporter.poll() is None, (tmp_path / "report.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "report.log").read_text()
            time.sleep(1.0)
    finally:
        page.close()
        service.stop()
        reporter.terminate()
        reporter.wait(timeout=30)
    steps, cues = _stored(pipeline, session.session_id)
    assert len(steps) >= len(source.truth()["steps"]) - 4 and cues
    lines = set(pypdf.PdfReader(pdf_path).pages[0].extract_text().splitlines())
    for side in ("left", "right"):
        drops = [r["pelvic_drop_deg"] for r in steps if r["side"] == side]
        assert f"Steps {side} {len(drops)}" in lines, sorted(
            x for x in lines if x.startswith(("Steps", "Duration", "Date"))
        )
        assert f"Pelvic drop median {side} (deg) {np.median(drops):.1f}" in lines, sorted(lines)
        assert f"Pelvic drop p90 {side} (deg) {np.percentile(drops, 90):.1f}" in lines
    cadence = 60.0 / float(np.median([r["step_time_s"] for r in steps]))
    assert f"Cadence (steps/min) {cadence:.1f}" in lines
    dose = 100.0 * float(np.mean([r["shown"] for r in cues]))
    assert f"Feedback dose (% of steps with a cue shown) {dose:.1f}" in lines and dose > 0
    assert {r["schedule"] for r in cues} == {"none", "faded"}
    assert f"Feedback plan {PLAN}" in lines and f"Patient (pseudonym) P-{pipeline.prefix}" in lines
    assert "Programme phase not available" in lines  # no alerts API key given
    document = pypdfium2.PdfDocument(pdf_path)
    for index in (1, 2):
        pixels = np.asarray(document[index].render(scale=0.5).to_pil().convert("L"))
        assert (pixels < 250).mean() > 0.02, f"page {index + 1} looks blank"
    html = (out_dir / "clinic-rp" / f"{session.session_id}.html").read_text()
    left = np.median([r["pelvic_drop_deg"] for r in steps if r["side"] == "left"])
    assert f'data-metric="pelvic_drop_deg_median" data-side="left">{left:.1f}<' in html
    assert f"https://alerts.clinic.example/v1/clinics/clinic-rp/sessions/{session.session_id}/report.pdf" in html
    pending = json.loads((out_dir / "clinic-rp" / "patients" / f"P-{pipeline.prefix}.suggestion.json").read_text())
    assert pending["session_id"] == session.session_id and pending["suggestion"]["rule"] == "start"
    fhir = out_dir / "clinic-rp" / f"{session.session_id}.fhir.json"
    Bundle.model_validate_json(fhir.read_text())
    log = (tmp_path / "report.log").read_text()
    assert "report_written" in log and f"P-{pipeline.prefix}" in log  # the pseudonym, nothing more
    assert "fontTools" not in log
