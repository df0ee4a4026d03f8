"""The patient screen on the real pipeline: a simulated session with a feedback plan through the
broker and a worker; the feedback service reads the steps and trace topics as its own Kafka user;
a real browser shows every step with the value InfluxDB holds."""

from __future__ import annotations

import time

import pytest

from gaitstream.services.feedback.tokens import make_token
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from tests.e2e.harness import PipelineRun
from tests.feedback.browser import Service, browser  # noqa: F401 (fixture)
from tests.roles import role_settings

SECRET = bytes(range(32))


@pytest.fixture()
def pipeline(kafka_settings, influx_settings, tmp_path):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    yield run
    run.stop()


def test_the_screen_shows_every_step_with_the_value_influxdb_holds(pipeline, browser) -> None:  # noqa: F811
    from gaitstream.services.feedback.feed import run_feed

    pipeline.start_worker("a")
    kafka = role_settings("feedback", pipeline.prefix)

    async def feed(hub, ready):
        await run_feed(hub, kafka, pipeline.topics, lookback_s=600, ready=ready)

    service = Service(SECRET, feed=feed).start()
    station_id = f"{pipeline.prefix}-fb"
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        token = make_token(SECRET, station_id, expires_s=int(time.time()) + 3600)
        page.goto(f"{service.url}/screen/{station_id}?token={token}")
        deadline = time.monotonic() + 30
        while page.get_attribute("[data-connection]", "data-connection") != "open" or not _healthy(service):
            assert time.monotonic() < deadline, "the screen did not connect"
            time.sleep(0.2)
        source = SimulatedSource(pattern_config("trendelenburg_right", duration_s=40.0, seed=44))
        session = new_session(
            clinic_id="clinic-fb",
            station_id=station_id,
            patient_id="p-fb",
            source=source,
            feedback_plan="continuous:40s",
            target_pelvic_drop_deg=2.0,
        )
        publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings())
        try:
            run_stations([StationRun(session=session, source=source)], publisher, frame_samples=10, speed=2.0)
        finally:
            publisher.close()
        expected = source.truth()["steps"]
        rows = pipeline.wait_for_steps({session.session_id: len(expected) - 4}, timeout_s=60)[session.session_id]
        stored = {r["step_index"]: r for r in rows}
        deadline = time.monotonic() + 20
        while True:
            rendered = page.evaluate("window.gaitstreamScreen.rendered")
            shown = {key: value for kind, key, _, _, value in rendered if kind == "step"}
            if set(stored) <= set(shown) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert set(shown) == set(stored), (sorted(set(stored) - set(shown)), sorted(set(shown) - set(stored)))
        for index, (side, text) in shown.items():
            assert side == stored[index]["side"]
            assert abs(float(text) - stored[index]["pelvic_drop_deg"]) <= 0.05 + 1e-9, (index, text, stored[index])
        live = [value for kind, _, _, _, value in rendered if kind == "live"]
        assert len(live) >= 20 * 10  # the live pelvis at 20 Hz, for most of the 20 s it streamed
        assert page.get_attribute("[data-feedback]", "data-feedback") == "off"  # the session stopped
        # What the screen showed reached InfluxDB: every step, its cue shown (continuous, one page).
        deadline = time.monotonic() + 30
        while True:
            dose = pipeline.rows(
                f"SELECT step_index, cue, shown, display_latency_ms FROM gait_feedback "
                f"WHERE session = '{session.session_id}'",
                required=("step_index", "shown"),
            )
            if len(dose) >= len(stored) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        assert {r["step_index"] for r in dose} >= set(stored)
        assert all(r["cue"] == 1 and r["shown"] == 1 for r in dose), [r for r in dose if r["shown"] != 1][:3]
        # (a latency per step too; at speed 2 data time runs ahead of the wall clock: see the benchmark)
        assert all(r["display_latency_ms"] is not None for r in dose)
        print(f"feedback_screen steps={len(stored)} live_samples={len(live)} dose_rows={len(dose)}")
    finally:
        page.close()
        service.stop()


def _healthy(service: Service) -> bool:
    import httpx

    try:
        return httpx.get(f"{service.url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_restarted_service_knows_the_open_session_and_the_page_follows(pipeline, browser) -> None:  # noqa: F811
    """The service restarts mid-session: it reads the session's start back from the steps topic,
    the page reconnects by itself and goes on showing steps."""
    import threading

    from gaitstream.services.feedback.feed import run_feed

    pipeline.start_worker("a")
    kafka = role_settings("feedback", pipeline.prefix)

    async def feed(hub, ready):
        await run_feed(hub, kafka, pipeline.topics, lookback_s=600, ready=ready)

    first = Service(SECRET, feed=feed).start()
    station_id = f"{pipeline.prefix}-rs"
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    source = SimulatedSource(pattern_config("normal", duration_s=40.0, seed=45))
    session = new_session(
        clinic_id="clinic-fb", station_id=station_id, patient_id="p-rs", source=source, feedback_plan="continuous:60s"
    )
    publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings())
    streaming = threading.Thread(
        target=run_stations,
        args=([StationRun(session=session, source=source)], publisher),
        kwargs={"frame_samples": 10, "speed": 1.0},
        daemon=True,
    )
    second = None
    try:
        token = make_token(SECRET, station_id, expires_s=int(time.time()) + 3600)
        page.goto(f"{first.url}/screen/{station_id}?token={token}")
        _until(lambda: page.get_attribute("[data-connection]", "data-connection") == "open" and _healthy(first), 30)
        streaming.start()
        _until(lambda: _steps_shown(page) >= 3, 40)  # walking, steps on screen
        first.stop()
        _until(lambda: page.get_attribute("[data-connection]", "data-connection") == "closed", 10)
        second = Service(SECRET, feed=feed, port=first.port).start()
        _until(lambda: page.get_attribute("[data-connection]", "data-connection") == "open", 20)
        before = _steps_shown(page)
        _until(lambda: _steps_shown(page) >= before + 3, 20)  # steps keep coming after the restart
        assert page.get_attribute("[data-feedback]", "data-feedback") == "on"
        assert page.inner_text("[data-block]") == "continuous"
    finally:
        streaming.join(60)
        publisher.close()
        page.close()
        if second is not None:
            second.stop()


def _steps_shown(page) -> int:
    return page.evaluate("window.gaitstreamScreen.rendered.filter((r) => r[0] === 'step').length")


def _until(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
