"""``gaitstream station session start --from-programme``: the therapist's programme (the alerts API
on real uvicorn and PostgreSQL) sets the session the running station opens (a real LSL sensor,
the real broker): the start event carries the programme's feedback plan and target; an option
given on the command line wins; no programme, or a key of another clinic, starts nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from gaitstream.services.feedback.schedule import parse_plan
from gaitstream.services.station.programme_plan import screen_from_programme
from tests.services.alerts.conftest import RunningApi
from tests.services.test_station_daemon import Outlet, _cli, _config, _sent_values, _start_station, _wait_status

PLAN = "none:1m,continuous:5m,none:1m"


def test_options_win_over_the_programme() -> None:
    programme = {"revision": 3, "feedback_plan": PLAN, "target_pelvic_drop_deg": 3.0}
    taken = screen_from_programme(programme, feedback_plan=None, target_pelvic_drop_deg=None)
    assert (taken.feedback_plan, taken.target_pelvic_drop_deg) == (PLAN, 3.0)
    assert taken.plan_source == taken.target_source == "programme revision 3"
    mixed = screen_from_programme(programme, feedback_plan="none:10m", target_pelvic_drop_deg=None)
    assert (mixed.feedback_plan, mixed.plan_source) == ("none:10m", "option")
    assert (mixed.target_pelvic_drop_deg, mixed.target_source) == (3.0, "programme revision 3")
    bare = screen_from_programme(
        {"revision": 1, "feedback_plan": None, "target_pelvic_drop_deg": 4.0},
        feedback_plan=None,
        target_pelvic_drop_deg=2.5,
    )
    assert (bare.feedback_plan, bare.plan_source) == (None, "none")
    assert (bare.target_pelvic_drop_deg, bare.target_source) == (2.5, "option")


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_session_started_from_the_programme_carries_its_plan_and_target(
    alerts_api: RunningApi, kafka_settings, tmp_path
) -> None:
    from gaitstream.schemas.codec import decode
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import delete_topics_with_prefix, ensure_topics
    from tests.roles import forget_prefix, role_env

    _, key = alerts_api.new_supervisor("Ana", ["clinic-run"])
    _, other_key = alerts_api.new_supervisor("Bo", ["clinic-b"])
    with alerts_api.client(key) as api:
        saved = api.put(
            "/v1/clinics/clinic-run/patients/p-run/programme",
            json={"phase": "retraining", "sides": ["right"], "target_pelvic_drop_deg": 3.0, "feedback_plan": PLAN},
        )
        assert saved.status_code in (200, 201), saved.text

    topics = TopicSettings(prefix=f"it.prog{uuid.uuid4().hex[:6]}", partitions=1)
    ensure_topics(kafka_settings, topics)
    name = f"gs-prog-{uuid.uuid4().hex[:6]}"
    config = _config(tmp_path, name, {**role_env("simulator", topics.prefix), "GAITSTREAM_TOPIC_PREFIX": topics.prefix})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAITSTREAM_KAFKA_", "GAITSTREAM_ALERTS_"))}
    with_key = {**env, "GAITSTREAM_ALERTS_API_KEY": key}

    def start(environ: dict, patient: str, *options: str) -> subprocess.CompletedProcess:
        return _cli(
            environ,
            *("station", "session", "start", "--config", str(config), "--patient-id", patient),
            *("--from-programme", "--url", alerts_api.base_url, *options),
        )

    outlet = Outlet(name)
    outlet.start()
    station = _start_station(env, config, tmp_path / "station.log")
    try:
        assert _wait_status(env, config, "sensor", "connected", timeout_s=40)["sensor"] == "connected"
        first = start(with_key, "p-run")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "plan_from=" in first.stderr and "programme revision 1" in first.stderr
        first_id = json.loads(first.stdout)["session_id"]
        time.sleep(1.0)
        second = start(with_key, "p-run", "--target-pelvic-drop-deg", "2.5")
        assert second.returncode == 0, second.stdout + second.stderr
        second_id = json.loads(second.stdout)["session_id"]
        # Nothing to start from: no session is opened, the open one stays.
        missing = start(with_key, "p-none")
        assert missing.returncode == 2 and "no programme for patient p-none in clinic clinic-run" in missing.stderr
        foreign = start({**env, "GAITSTREAM_ALERTS_API_KEY": other_key}, "p-run")
        assert foreign.returncode == 2 and "403" in foreign.stderr
        assert _wait_status(env, config, "session_id", second_id)["session"] == "open"
        stopped = _cli(env, "station", "session", "stop", "--config", str(config))
        assert stopped.returncode == 0 and json.loads(stopped.stdout)["session_id"] == second_id
        _wait_status(env, config, "pending", 0)
        station.send_signal(signal.SIGTERM)
        assert station.wait(30) == 0
    finally:
        if station.poll() is None:
            station.kill()
        outlet._on.clear()

    try:
        records = [decode(value) for value in _sent_values(kafka_settings, topics.stations)]
    finally:
        delete_topics_with_prefix(kafka_settings, topics.prefix)
        forget_prefix(topics.prefix)
    starts = {rec["session_id"]: rec for kind, rec in records if kind == "session_event" and rec["event"] == "start"}
    assert set(starts) == {first_id, second_id}
    assert starts[first_id]["feedback_plan"] == parse_plan(PLAN, target_deg=3.0).to_text()
    assert starts[first_id]["target_pelvic_drop_deg"] == 3.0
    assert starts[second_id]["feedback_plan"] == parse_plan(PLAN, target_deg=2.5).to_text()
    assert starts[second_id]["target_pelvic_drop_deg"] == 2.5
