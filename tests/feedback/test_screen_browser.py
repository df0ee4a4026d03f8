"""The treadmill screen in a real browser: it connects, shows what it is sent as the contract says,
hides and shows cues as the schedule sets, reconnects after a restart and refuses wrong tokens."""

from __future__ import annotations

import time

import pytest

from gaitstream.services.feedback.tokens import make_token
from tests.feedback.browser import Service, browser  # noqa: F401 (fixture)

SECRET = bytes(range(32))
T0_US = int(time.time() * 1e6)


def _token(station: str) -> str:
    return make_token(SECRET, station, expires_s=int(time.time()) + 3600)


def _start(plan: str, *, session: str = "s1", trunk: bool = True) -> dict:
    return {
        "station_id": "tm-01",
        "session_id": session,
        "event": "start",
        "time_us": T0_US,
        "clinic_id": "c1",
        "patient_id": "p-0042",
        "trunk_present": trunk,
        "feedback_plan": plan,
        "target_pelvic_drop_deg": 2.0,
    }


def _step(i: int, drop: float, end_s: float, lean: float = 1.25) -> dict:
    return {
        "station_id": "tm-01",
        "session_id": "s1",
        "step_index": i,
        "side": "left" if i % 2 == 0 else "right",
        "pelvic_drop_deg": drop,
        "trunk_lean_deg": lean,
        "end_time_us": T0_US + round(end_s * 1e6),
    }


def _trace(start_s: float, values: list[float]) -> dict:
    return {
        "station_id": "tm-01",
        "session_id": "s1",
        "first_time_us": T0_US + round(start_s * 1e6),
        "time_offsets_us": [i * 50_000 for i in range(len(values))],
        "pelvic_obliquity_deg": values,
        "trunk_lateral_lean_deg": [0.5] * len(values),
    }


@pytest.fixture()
def service():
    running = Service(SECRET).start()
    yield running
    running.stop()


def _open(browser, service, station: str = "tm-01", token: str | None = None):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    response = page.goto(f"{service.url}/screen/{station}?token={token or _token(station)}")
    return page, response


def _wait(page, selector: str, attribute: str | None, value: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        element = page.query_selector(selector)
        got = None if element is None else (element.get_attribute(attribute) if attribute else element.inner_text())
        if got == value:
            return
        assert time.monotonic() < deadline, f"{selector} {attribute or 'text'} is {got!r}, not {value!r}"
        time.sleep(0.05)


def test_continuous_feedback_shows_each_step_and_the_live_pelvis(browser, service) -> None:  # noqa: F811
    page, response = _open(browser, service)
    assert response.status == 200
    _wait(page, "[data-connection]", "data-connection", "open")
    service.publish("tm-01", "session_event", _start("continuous:60s"))
    _wait(page, "[data-feedback]", "data-feedback", "on")
    _wait(page, "[data-block]", None, "continuous")
    service.publish("tm-01", "obliquity_trace", _trace(1.0, [1.25, -2.5]))
    _wait(page, '[data-metric="pelvic_obliquity_deg"]', None, "-2.5")
    service.publish("tm-01", "step_metrics", _step(0, 3.46, 2.0))
    service.publish("tm-01", "step_metrics", _step(1, 6.04, 2.6, lean=-0.75))
    _wait(page, '[data-metric="pelvic_drop_deg"][data-side="left"]', None, "3.5")
    _wait(page, '[data-metric="pelvic_drop_deg"][data-side="right"]', None, "6.0")
    _wait(page, '[data-metric="trunk_lean_deg"][data-side="right"]', None, "-0.8")
    assert page.is_visible('[data-metric="pelvic_drop_deg"][data-side="left"]')
    assert page.is_visible('[data-metric="trunk_lean_deg"][data-side="left"]')  # a trunk sensor is present
    assert "p-0042" not in page.content()
    # the page acknowledged both steps it rendered
    acks = service._server.config.app.state.acks
    deadline = time.monotonic() + 5
    while set(acks.get("tm-01", {})) != {0, 1} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(service._server.config.app.state.acks.get("tm-01", {})) == {0, 1}
    page.close()


def test_bandwidth_shows_only_steps_outside_the_band_and_probes_show_nothing(browser, service) -> None:  # noqa: F811
    page, _ = _open(browser, service)
    _wait(page, "[data-connection]", "data-connection", "open")
    service.publish("tm-01", "session_event", _start("bandwidth:10s:tol=1,none:10s"))
    _wait(page, "[data-block]", None, "bandwidth")
    _wait(page, "[data-feedback]", "data-feedback", "off")
    service.publish("tm-01", "step_metrics", _step(0, 2.5, 1.0))  # in the band: no cue
    time.sleep(0.3)
    assert page.get_attribute("[data-feedback]", "data-feedback") == "off"
    assert not page.is_visible('[data-metric="pelvic_drop_deg"][data-side="left"]')
    assert page.text_content('[data-metric="pelvic_drop_deg"][data-side="left"]') == "–"
    service.publish("tm-01", "step_metrics", _step(1, 4.2, 1.6))  # outside: a cue
    _wait(page, "[data-feedback]", "data-feedback", "on")
    _wait(page, '[data-metric="pelvic_drop_deg"][data-side="right"]', None, "4.2")
    assert page.is_visible('[data-metric="pelvic_drop_deg"][data-side="right"]')
    assert not page.is_visible('[data-metric="pelvic_obliquity_deg"]')  # no live pelvis in bandwidth
    service.publish("tm-01", "obliquity_trace", _trace(10.5, [3.0]))  # the probe block begins
    _wait(page, "[data-block]", None, "none")
    _wait(page, "[data-feedback]", "data-feedback", "off")
    service.publish("tm-01", "step_metrics", _step(2, 9.0, 11.0))  # far outside, but a probe
    time.sleep(0.3)
    assert page.get_attribute("[data-feedback]", "data-feedback") == "off"
    assert not page.is_visible('[data-metric="pelvic_drop_deg"][data-side="left"]')
    page.close()


def test_wrong_and_other_stations_tokens_are_refused(browser, service) -> None:  # noqa: F811
    _, response = _open(browser, service, token="forged.token")
    assert response.status == 403
    page, response = _open(browser, service, station="tm-01", token=_token("tm-02"))
    assert response.status == 403
    page.close()
    # a page that got in once, then a token that no longer opens the WebSocket (another station's)
    page, _ = _open(browser, service)
    _wait(page, "[data-connection]", "data-connection", "open")
    result = page.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onclose = (event) => resolve(event.code);
        })""",
        f"ws://127.0.0.1:{service.port}/ws/tm-01?token={_token('tm-02')}",
    )
    assert result == 4403
    page.close()


def test_the_page_reconnects_after_a_service_restart(browser) -> None:  # noqa: F811
    first = Service(SECRET).start()
    page, _ = _open(browser, first)
    _wait(page, "[data-connection]", "data-connection", "open")
    first.stop()
    _wait(page, "[data-connection]", "data-connection", "closed")
    second = Service(SECRET, port=first.port).start()
    try:
        _wait(page, "[data-connection]", "data-connection", "open", timeout_s=15)
        second.publish("tm-01", "session_event", _start("continuous:60s"))
        _wait(page, "[data-feedback]", "data-feedback", "on")
    finally:
        page.close()
        second.stop()


def test_screenshots_of_the_screen(browser, service, tmp_path) -> None:  # noqa: F811
    """The clinic guide's pictures (docs/clinic-guide.md):
    ``GAITSTREAM_SCREENSHOTS_DIR=deploy/feedback/screenshots`` writes them there (review, commit);
    otherwise to a temporary directory, checked non-blank."""
    import os
    from pathlib import Path

    out = Path(os.environ.get("GAITSTREAM_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page, _ = _open(browser, service)
    _wait(page, "[data-connection]", "data-connection", "open")
    service.publish("tm-01", "session_event", _start("continuous:10s,bandwidth:10s:tol=2"))
    service.publish("tm-01", "obliquity_trace", _trace(1.0, [-3.2]))
    service.publish("tm-01", "step_metrics", _step(0, 2.4, 1.5, lean=0.8))
    service.publish("tm-01", "step_metrics", _step(1, 6.8, 2.1, lean=3.1))
    _wait(page, '[data-metric="pelvic_drop_deg"][data-side="right"]', None, "6.8")
    page.screenshot(path=str(out / "feedback-continuous.png"))
    service.publish("tm-01", "obliquity_trace", _trace(10.2, [0.5]))
    service.publish("tm-01", "step_metrics", _step(2, 2.5, 10.6))
    _wait(page, "[data-feedback]", "data-feedback", "off")
    page.screenshot(path=str(out / "feedback-bandwidth-in-band.png"))
    for name in ("feedback-continuous.png", "feedback-bandwidth-in-band.png"):
        assert (out / name).stat().st_size > 10_000  # a rendered page, not a blank one
    page.close()


def test_faded_feedback_shows_fewer_steps_as_the_block_goes_on(browser, service) -> None:  # noqa: F811
    page, _ = _open(browser, service)
    _wait(page, "[data-connection]", "data-connection", "open")
    service.publish("tm-01", "session_event", _start("faded:20s:from=1:to=0"))
    _wait(page, "[data-block]", None, "faded")
    seen = []
    for i in range(36):  # steps every 0.55 s across the 20 s block
        service.publish("tm-01", "step_metrics", _step(i, 3.0 + (i % 5) / 10, 0.55 * (i + 1)))
        time.sleep(0.03)
        seen.append(page.get_attribute("[data-feedback]", "data-feedback"))
    first, last = seen[:9], seen[-9:]
    assert first.count("on") >= 7 and last.count("on") <= 2, seen
    acks = service._server.config.app.state.acks.get("tm-01", {})
    assert 0 in acks and 35 not in acks  # the first step's cue was rendered, the last step had none
    page.close()


def test_summary_feedback_shows_the_average_of_every_n_steps(browser, service) -> None:  # noqa: F811
    page, _ = _open(browser, service)
    _wait(page, "[data-connection]", "data-connection", "open")
    service.publish("tm-01", "session_event", _start("summary:60s:n=4"))
    _wait(page, "[data-block]", None, "summary")
    for i, drop in enumerate([1.0, 5.0, 3.0, 7.0]):
        if i == 3:
            assert page.get_attribute("[data-feedback]", "data-feedback") == "off"
            assert page.text_content('[data-metric="pelvic_drop_deg"][data-side="left"]') == "–"
        service.publish("tm-01", "step_metrics", _step(i, drop, 0.55 * (i + 1)))
    _wait(page, "[data-feedback]", "data-feedback", "on")
    _wait(page, '[data-metric="pelvic_drop_deg"][data-side="left"]', None, "2.0")  # (1 + 3) / 2
    _wait(page, '[data-metric="pelvic_drop_deg"][data-side="right"]', None, "6.0")  # (5 + 7) / 2
    page.close()


def _live_page(browser, service):  # noqa: F811
    """A screen open on a session with continuous feedback (the live pelvis shown)."""
    page, _ = _open(browser, service)
    _wait(page, "[data-connection]", "data-connection", "open")
    service.publish("tm-01", "session_event", _start("continuous:60s"))
    _wait(page, "[data-feedback]", "data-feedback", "on")
    return page


def _live_drawn(page, count: int, timeout_s: float = 5.0) -> list[list]:
    """The page's live renderings (at least ``count``): [kind, time_us, time_us, frame time ms, text]."""
    deadline = time.monotonic() + timeout_s
    while True:
        live = page.evaluate("window.gaitstreamScreen.rendered.filter((r) => r[0] === 'live')")
        if len(live) >= count:
            return live
        assert time.monotonic() < deadline, f"{len(live)} live values drawn, not {count}"
        time.sleep(0.05)


def test_a_burst_of_live_samples_is_drawn_one_display_frame_each_in_order(browser, service) -> None:  # noqa: F811
    # A station frame brings several samples at once; drawn together, the patient would see only
    # the last: each gets its own frame, spaced as the data (50 ms apart here).
    page = _live_page(browser, service)
    service.publish("tm-01", "obliquity_trace", _trace(1.0, [0.5, -1.0, 2.25]))
    live = _live_drawn(page, 3)
    assert [row[4] for row in live] == ["0.5", "-1.0", "2.3"]
    frames_ms = [row[3] for row in live]
    assert frames_ms == sorted(frames_ms) and len(set(frames_ms)) == 3, frames_ms
    # spaced as the data (0.9 x 100 ms), give or take the display frame the first one waited for
    assert frames_ms[2] - frames_ms[0] >= 60, frames_ms
    _wait(page, '[data-metric="pelvic_obliquity_deg"]', None, "2.3")
    assert page.evaluate("window.gaitstreamScreen.skipped") == 0
    page.close()


def test_live_samples_due_together_are_skipped_rather_than_shown_late(browser, service) -> None:  # noqa: F811
    # Six samples 1 µs apart are all due at once: the indicator shows the newest two, one frame each
    # (the player never lets the screen fall behind by more than that), and counts the others as
    # skipped; a display frame may come between the first messages and the rest (then it showed
    # the first of them, due alone).
    page = _live_page(browser, service)
    record = _trace(1.0, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    record["time_offsets_us"] = list(range(6))
    service.publish("tm-01", "obliquity_trace", record)
    live = _live_drawn(page, 2)
    time.sleep(0.3)
    live = _live_drawn(page, 2)
    skipped = page.evaluate("window.gaitstreamScreen.skipped")
    assert [row[4] for row in live][-2:] == ["5.0", "6.0"] and len(live) + skipped == 6, (live, skipped)
    assert skipped >= 3 and len({row[3] for row in live}) == len(live)
    _wait(page, '[data-metric="pelvic_obliquity_deg"]', None, "6.0")
    page.close()


def test_a_long_burst_is_not_played_back_slowly(browser, service) -> None:  # noqa: F811
    # 0.76 s of samples at once (a stalled machine catching up): spaced as the data, the last would
    # be drawn 0.7 s after it arrived; the player draws none later than 0.1 s after arrival and
    # skips what it cannot show in time.
    page = _live_page(browser, service)
    record = _trace(1.0, [float(i) for i in range(20)])
    record["time_offsets_us"] = [i * 40_000 for i in range(20)]
    service.publish("tm-01", "obliquity_trace", record)
    _wait(page, '[data-metric="pelvic_obliquity_deg"]', None, "19.0")
    live = _live_drawn(page, 2)
    skipped = page.evaluate("window.gaitstreamScreen.skipped")
    assert len(live) + skipped == 20 and skipped >= 10, (len(live), skipped)
    frames_ms = [row[3] for row in live]
    assert frames_ms[-1] - frames_ms[0] <= 400, frames_ms
    page.close()
