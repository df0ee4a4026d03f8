"""Every dashboard and alert query, with Grafana's macros substituted, against the real InfluxDB
holding what the real pipeline wrote for simulated patients whose truth is known.

One pipeline for the module: 3 stations (a normal walker without trunk sensor, Trendelenburg
left, compensated right) walk 50 s sessions that ended just before the test, published as fast
as possible through Kafka and the Faust worker into InfluxDB. Two things cannot come from the
pipeline and are written directly with line protocol (``pipelines/sink/points.py``), with the
timestamps they would have had: earlier sessions of one patient (3, 2 and 1 weeks ago) for the
progress dashboard, and ``gait_alert`` points (the alert service of issue 6 does not exist yet).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import httpx
import pytest

from gaitstream.gait.classification import Classification
from gaitstream.grafana import alerts, queries
from gaitstream.grafana.clinic_dashboards import VARIABLE_FILTER, fixed_filter
from gaitstream.pipelines.sink.points import feedback_lines, step_lines, tag_value
from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from tests.e2e.harness import PipelineRun
from tests.grafana.macros import render

SESSION_S = 50.0
FRAME_SAMPLES = 10
# (pattern, trunk sensor, cadence) per station.
STATIONS = [("normal", False, 100.0), ("trendelenburg_left", True, 104.0), ("compensated_right", True, 108.0)]
DAY_US = 86_400 * 1_000_000
HISTORY_WEEKS = (3, 2, 1)
# Earlier sessions of the Trendelenburg-left patient: the left drop falls as the exercises work.
HISTORY_LEFT_DROP_DEG = {3: 9.0, 2: 7.5, 1: 6.0}
HISTORY_RIGHT_DROP_DEG = 3.0
HISTORY_STEPS_PER_SIDE = 30
# The earlier sessions had a feedback screen: a probe block without cues, then a faded block with
# a cue shown on 3 of 4 steps. The probe's drop falls week by week (what retention looks like).
HISTORY_PROBE_DROP_DEG = {3: 8.0, 2: 6.0, 1: 4.0}
HISTORY_FEEDBACK_DROP_DEG = {3: 5.0, 2: 4.5, 1: 3.5}
PROBE_STEPS, FEEDBACK_STEPS = 20, 40


@dataclass
class Station:
    run: StationRun
    truth: dict
    pattern: str
    trunk: bool
    cadence_spm: float

    @property
    def station_id(self) -> str:
        return self.run.session.station_id

    @property
    def patient_id(self) -> str:
        return self.run.session.patient_id

    @property
    def session_id(self) -> str:
        return self.run.session.session_id

    @property
    def end_ms(self) -> int:
        return (self.run.session.start_time_us + int(SESSION_S * 1e6)) // 1000


@dataclass
class World:
    pipeline: PipelineRun
    clinic: str
    stations: list[Station]
    history_sessions: dict[int, str]

    def query(self, query: str, *, from_ms: int, to_ms: int, interval: str = "1s", **variables) -> list[dict]:
        return self.pipeline.influxql(render(query, from_ms=from_ms, to_ms=to_ms, interval=interval, **variables))

    @property
    def end_ms(self) -> int:
        return max(s.end_ms for s in self.stations)

    def live(self, query: str, station: Station, **kwargs) -> list[dict]:
        """The overview's query for one repeated station row, range now-5m..now with now = end."""
        return self.query(
            query,
            from_ms=self.end_ms - 300_000,
            to_ms=kwargs.pop("to_ms", self.end_ms),
            clinic=self.clinic,
            station=station.station_id,
            **kwargs,
        )

    def session(self, query: str, station: Station) -> list[dict]:
        return self.query(
            query,
            from_ms=self.end_ms - 900_000,
            to_ms=self.end_ms,
            interval="50ms",
            clinic=self.clinic,
            patient=station.patient_id,
            session=station.session_id,
        )

    def station(self, pattern: str) -> Station:
        return next(s for s in self.stations if s.pattern == pattern)


def _rows(series: dict) -> list[dict]:
    return [dict(zip(series["columns"], row, strict=True)) for row in series["values"]]


def _write(pipeline: PipelineRun, lines: list[str]) -> None:
    influx = pipeline.influx
    # The v2 write API, as the sink writes. (InfluxDB 2.7's v1 /write ignores precision=u and reads
    # the times as nanoseconds: 1970.)
    resp = httpx.post(
        f"{influx.url}/api/v2/write",
        params={"org": influx.org, "bucket": influx.bucket, "precision": "us"},
        content="\n".join(lines).encode(),
        headers={"Authorization": f"Token {influx.token.get_secret_value()}"},
        timeout=20,
    )
    assert resp.status_code == 204, resp.text


def _history_lines(clinic: str, station: Station, now_us: int) -> tuple[list[str], dict[int, str]]:
    lines, sessions = [], {}
    for weeks in HISTORY_WEEKS:
        session_id = f"hist{weeks}w-{station.session_id[:8]}"
        sessions[weeks] = session_id
        start_us = now_us - weeks * 7 * DAY_US
        for i in range(2 * HISTORY_STEPS_PER_SIDE):
            side = "left" if i % 2 == 0 else "right"
            base = HISTORY_LEFT_DROP_DEG[weeks] if side == "left" else HISTORY_RIGHT_DROP_DEG
            lines += step_lines(
                {
                    "clinic_id": clinic,
                    "station_id": station.station_id,
                    "patient_id": station.patient_id,
                    "session_id": session_id,
                    "side": side,
                    "step_index": i,
                    "start_time_us": start_us + i * 560_000,
                    # +-0.4 deg around the session's median, symmetric so the median is exact.
                    "pelvic_drop_deg": base + (0.4 if i % 4 < 2 else -0.4),
                    "trunk_lean_deg": 2.0,
                    "step_time_s": 0.56,
                    "cadence_spm": 107.0,
                }
            )
        lines += _feedback_history(clinic, station, session_id, start_us, weeks)
    return lines, sessions


def _feedback_history(clinic: str, station: Station, session_id: str, start_us: int, weeks: int) -> list[str]:
    lines = []
    for i in range(PROBE_STEPS + FEEDBACK_STEPS):
        probe = i < PROBE_STEPS
        base = HISTORY_PROBE_DROP_DEG[weeks] if probe else HISTORY_FEEDBACK_DROP_DEG[weeks]
        cue = not probe and i % 4 != 0
        lines += feedback_lines(
            {
                "clinic_id": clinic,
                "station_id": station.station_id,
                "patient_id": station.patient_id,
                "session_id": session_id,
                "step_index": i,
                "side": "left" if i % 2 == 0 else "right",
                "end_time_us": start_us + 120_000_000 + i * 560_000,
                "block_index": 0 if probe else 1,
                "schedule": "none" if probe else "faded",
                "cue": cue,
                "shown": cue,
                "screens": 1,
                "pelvic_drop_deg": base + (0.3 if i % 4 < 2 else -0.3),
                "display_latency_ms": 150.0 if cue else None,
            }
        )
    return lines


def _wait_until(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "InfluxDB did not receive the pipeline's data in time"
        time.sleep(1.0)


@pytest.fixture(scope="module")
def world(kafka_settings, influx_settings, tmp_path_factory) -> World:
    pipeline = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path_factory.mktemp("grafana"))
    clinic = f"clinic-{pipeline.prefix}"
    try:
        pipeline.start_worker("a")
        # Sessions that ended just now: their samples carry wall-clock times of the last 50 s.
        start_us = time.time_ns() // 1000 - int(SESSION_S * 1e6)
        stations = []
        for i, (pattern, trunk, cadence) in enumerate(STATIONS):
            source = SimulatedSource(
                pattern_config(pattern, trunk=trunk, duration_s=SESSION_S, seed=i, cadence_spm=cadence)
            )
            session = new_session(
                clinic_id=clinic,
                station_id=f"{pipeline.prefix}-st{i:02d}",
                patient_id=f"p-{pipeline.prefix}-{i}",
                source=source,
                start_time_us=start_us,
            )
            stations.append(
                Station(
                    run=StationRun(session=session, source=source),
                    truth={},
                    pattern=pattern,
                    trunk=trunk,
                    cadence_spm=cadence,
                )
            )
        publisher = StationPublisher(kafka=pipeline.kafka, topics=pipeline.topics, settings=StationSettings())
        try:
            run_stations([s.run for s in stations], publisher, frame_samples=FRAME_SAMPLES, speed=0.0)
        finally:
            publisher.close()
        for station in stations:  # the simulator's truth exists once its frames were generated
            station.truth = station.run.source.truth()
        expected = {s.session_id: len(s.truth["steps"]) - 4 for s in stations}
        pipeline.wait_for_steps(expected, timeout_s=150)
        # Status and trace go through the same sink; wait until the last trace sample is in.
        _wait_until(
            lambda: all(
                pipeline.influxql(
                    f"SELECT count(pelvic_obliquity_deg) FROM pelvic_trace WHERE session = '{s.session_id}' "
                    f"AND time >= {s.end_ms - 2000}ms"
                )
                for s in stations
            ),
            timeout_s=60,
        )
        trend = next(s for s in stations if s.pattern == "trendelenburg_left")
        history, history_sessions = _history_lines(clinic, trend, start_us)
        _write(pipeline, history)
        # The pipeline's own alert for the weak side: opened during the walk, resolved at the stop.
        _wait_until(
            lambda: (
                sum(
                    len(x["values"])
                    for x in pipeline.influxql(f"SELECT state FROM gait_alert WHERE session = '{trend.session_id}'")
                )
                >= 2
            ),
            timeout_s=60,
        )
        yield World(pipeline=pipeline, clinic=clinic, stations=stations, history_sessions=history_sessions)
    finally:
        pipeline.stop()


# --- template variables -----------------------------------------------------------------------


def test_variables_list_the_clinic_its_stations_patients_and_sessions(world: World) -> None:
    def values(query: str, **variables) -> set[str]:
        series = world.query(query, from_ms=0, to_ms=world.end_ms, **variables)
        return {row[1] for s in series for row in s["values"]}

    assert world.clinic in values(queries.VAR_CLINIC)
    assert values(queries.VAR_STATION, clinic=world.clinic) == {s.station_id for s in world.stations}
    assert values(queries.VAR_PATIENT, clinic=world.clinic) == {s.patient_id for s in world.stations}
    trend = world.station("trendelenburg_left")
    assert values(queries.VAR_SESSION, clinic=world.clinic, patient=trend.patient_id) == {
        trend.session_id,
        *world.history_sessions.values(),
    }


def test_a_clinic_organisations_fixed_queries_read_that_clinic_and_nothing_of_another(world: World) -> None:
    """The dashboards of a clinic's organisation (``clinic_dashboards``) carry ``"clinic" = '<id>'``
    instead of the variable: the same rows as the shared query for that clinic, none for another."""
    trend = world.station("trendelenburg_left")
    variables = {
        "station": [s.station_id for s in world.stations],
        "patient": trend.patient_id,
        "session": trend.session_id,
    }
    checked = 0
    for name, query in queries.all_queries().items():
        if VARIABLE_FILTER not in query:
            continue
        # The progress queries look back weeks (the history sessions); the others at the live sessions.
        back_ms = 22 * DAY_US // 1000 if name.startswith("PROGRESS") else 600_000
        window = {"from_ms": world.end_ms - back_ms, "to_ms": world.end_ms, "interval": "1s"}
        shared = world.query(query, clinic=world.clinic, **window, **variables)
        own = world.query(query.replace(VARIABLE_FILTER, fixed_filter(world.clinic)), **window, **variables)
        other = world.query(query.replace(VARIABLE_FILTER, fixed_filter("clinic-elsewhere")), **window, **variables)
        assert own == shared, name
        assert not [s for s in other if s.get("values")], name
        checked += bool(shared)
    assert checked >= 10  # most queries have rows for this clinic: the comparison is not between empties


# --- clinic overview --------------------------------------------------------------------------


def test_overview_shows_each_stations_patient_and_live_classification(world: World) -> None:
    for station in world.stations:
        (series,) = world.live(queries.OVERVIEW_NOW, station)
        (row,) = _rows(series)
        assert row["patient"] == station.patient_id
        assert row["session"] == station.session_id
        assert row["classification"] == station.truth["summary"]["classification"], station.pattern
        assert row["caveat"] == "", station.pattern  # every session here starts with quiet standing


def test_a_multi_station_selection_returns_every_selected_station(world: World) -> None:
    series = world.query(
        queries.OVERVIEW_NOW + ' GROUP BY "station"',
        from_ms=world.end_ms - 300_000,
        to_ms=world.end_ms,
        clinic=world.clinic,
        station=[s.station_id for s in world.stations],
    )
    assert {s["tags"]["station"] for s in series} == {s.station_id for s in world.stations}


def test_overview_pelvic_drop_left_and_right_match_the_simulated_patient(world: World) -> None:
    for station in world.stations:
        (series,) = world.live(queries.OVERVIEW_PELVIC_DROP, station)
        rows = [r for r in _rows(series) if r["left"] is not None and r["right"] is not None]
        assert len(rows) >= 10, "the sparkline needs a history"
        for side in ("left", "right"):
            want = station.truth["summary"][side]["pelvic_drop_deg_median"]
            assert rows[-1][side] == pytest.approx(want, abs=1.5), f"{station.pattern} {side}"
            assert all(-5.0 < r[side] < 20.0 for r in rows)


def test_overview_trunk_lean_only_where_a_trunk_sensor_is(world: World) -> None:
    for station in world.stations:
        series = world.live(queries.OVERVIEW_TRUNK_LEAN, station)
        if not station.trunk:
            assert series == [] or all(v is None for r in _rows(series[0]) for v in (r["left"], r["right"]))
            continue
        rows = [r for r in _rows(series[0]) if r["left"] is not None]
        for side in ("left", "right"):
            want = station.truth["summary"][side]["trunk_lean_deg_median"]
            assert rows[-1][side] == pytest.approx(want, abs=1.5), f"{station.pattern} {side}"
    comp = world.station("compensated_right")
    last = _rows(world.live(queries.OVERVIEW_TRUNK_LEAN, comp)[0])[-1]
    assert last["right"] > queries.TRUNK_LEAN_THRESHOLD_DEG > last["left"]


def test_overview_cadence_is_the_simulated_cadence(world: World) -> None:
    for station in world.stations:
        (series,) = world.live(queries.OVERVIEW_CADENCE, station)
        values = [r["cadence_spm"] for r in _rows(series)]
        assert values[-1] == pytest.approx(station.cadence_spm, rel=0.05)


def test_overview_age_and_liveness_of_each_station(world: World) -> None:
    for station in world.stations:
        (series,) = world.live(queries.OVERVIEW_LAST_DATA, station)
        (row,) = _rows(series)
        last_ms = _epoch_ms(row["time"])
        assert station.end_ms - 1000 <= last_ms <= station.end_ms
        (live,) = world.live(queries.OVERVIEW_LIVE_SAMPLES, station, to_ms=station.end_ms)
        assert _rows(live)[-1]["samples_per_10s"] >= queries.LIVE_SAMPLES_PER_10S // 2  # green while walking
        # 30 s after the session ended the tile reads 0: red.
        (silent,) = world.live(queries.OVERVIEW_LIVE_SAMPLES, station, to_ms=station.end_ms + 30_000)
        assert _rows(silent)[-1]["samples_per_10s"] == 0


# --- patient session --------------------------------------------------------------------------


def test_session_obliquity_trace_is_continuous_and_in_range(world: World) -> None:
    for station in world.stations:
        (series,) = world.session(queries.SESSION_OBLIQUITY, station)
        rows = _rows(series)
        assert len(rows) >= SESSION_S * 15  # 20 Hz trace at a 50 ms interval
        assert all(-20.0 < r["pelvic_obliquity_deg"] < 20.0 for r in rows)
        leans = [r["trunk_lateral_lean_deg"] for r in rows]
        assert all(v is None for v in leans) if not station.trunk else all(v is not None for v in leans)


def test_session_pelvic_drop_per_step_by_side_matches_the_truth(world: World) -> None:
    for station in world.stations:
        series = world.session(queries.SESSION_PELVIC_DROP, station)
        assert {s["tags"]["side"] for s in series} == {"left", "right"}
        for s in series:
            side = s["tags"]["side"]
            drops = [r["pelvic_drop_deg"] for r in _rows(s)]
            truth = station.truth["summary"][side]
            assert len(drops) >= truth["steps"] - 4
            assert statistics.median(drops) == pytest.approx(truth["pelvic_drop_deg_median"], abs=1.0)


def test_session_trunk_lean_per_step(world: World) -> None:
    comp = world.station("compensated_right")
    series = {
        s["tags"]["side"]: [r["trunk_lean_deg"] for r in _rows(s)]
        for s in world.session(queries.SESSION_TRUNK_LEAN, comp)
    }
    assert statistics.median(series["right"]) > queries.TRUNK_LEAN_THRESHOLD_DEG > statistics.median(series["left"])
    normal = world.station("normal")
    assert world.session(queries.SESSION_TRUNK_LEAN, normal) == []  # no trunk sensor, no field


def test_session_cadence_and_asymmetry(world: World) -> None:
    for station in world.stations:
        (series,) = world.session(queries.SESSION_CADENCE_ASYMMETRY, station)
        rows = [r for r in _rows(series) if r["cadence_spm"] is not None]
        assert rows[-1]["cadence_spm"] == pytest.approx(station.cadence_spm, rel=0.05)
        assert 0.0 <= rows[-1]["step_time_asymmetry_pct"] < 10.0


def test_session_classification_over_time_ends_at_the_truth(world: World) -> None:
    labels = {str(c) for c in Classification}
    for station in world.stations:
        (series,) = world.session(queries.SESSION_CLASSIFICATION, station)
        values = [r["classification"] for r in _rows(series)]
        assert set(values) <= labels
        assert values[-1] == station.truth["summary"]["classification"]


def test_session_alerts_table_and_annotations(world: World) -> None:
    trend = world.station("trendelenburg_left")
    # The resolve is stamped at the session's stop, a fraction of a millisecond after end_ms.
    (series,) = world.query(
        queries.SESSION_ALERTS,
        from_ms=world.end_ms - 900_000,
        to_ms=world.end_ms + 5_000,
        clinic=world.clinic,
        patient=trend.patient_id,
        session=trend.session_id,
    )
    rows = _rows(series)
    assert [(r["kind"], r["state"]) for r in rows] == [
        ("pelvic_drop_sustained", "open"),
        ("pelvic_drop_sustained", "resolved"),
    ]
    assert rows[0]["severity"] == "warning" and "left stance steps" in rows[0]["message"]
    assert rows[1]["message"] == "session ended"
    assert trend.end_ms - SESSION_S * 1000 < _epoch_ms(rows[0]["time"]) < _epoch_ms(rows[1]["time"]) <= trend.end_ms + 1
    assert world.session(queries.SESSION_ALERTS, world.station("normal")) == []


# --- patient progress -------------------------------------------------------------------------


def test_progress_shows_one_median_per_side_and_session_day_falling_on_the_weak_side(world: World) -> None:
    trend = world.station("trendelenburg_left")
    series = world.query(
        queries.PROGRESS_PELVIC_DROP,
        from_ms=world.end_ms - 30 * 86_400_000,
        to_ms=world.end_ms,
        clinic=world.clinic,
        patient=trend.patient_id,
    )
    by_side = {s["tags"]["side"]: [r["pelvic_drop_deg_median"] for r in _rows(s)] for s in series}
    assert set(by_side) == {"left", "right"}
    left = by_side["left"]
    assert left[:3] == pytest.approx([HISTORY_LEFT_DROP_DEG[w] for w in HISTORY_WEEKS])
    assert len(left) == 4 and left[3] == pytest.approx(trend.truth["summary"]["left"]["pelvic_drop_deg_median"], abs=1)
    assert by_side["right"][:3] == pytest.approx([HISTORY_RIGHT_DROP_DEG] * 3)
    lean = world.query(
        queries.PROGRESS_TRUNK_LEAN,
        from_ms=world.end_ms - 30 * 86_400_000,
        to_ms=world.end_ms,
        clinic=world.clinic,
        patient=trend.patient_id,
    )
    assert {s["tags"]["side"] for s in lean} == {"left", "right"}


def test_progress_sessions_table_lists_every_session_and_side(world: World) -> None:
    trend = world.station("trendelenburg_left")
    series = world.query(
        queries.PROGRESS_SESSIONS,
        from_ms=world.end_ms - 30 * 86_400_000,
        to_ms=world.end_ms,
        clinic=world.clinic,
        patient=trend.patient_id,
    )
    keys = {(s["tags"]["session"], s["tags"]["side"]) for s in series}
    sessions = {trend.session_id, *world.history_sessions.values()}
    assert keys == {(sid, side) for sid in sessions for side in ("left", "right")}
    for s in series:
        (row,) = _rows(s)
        if s["tags"]["session"] in world.history_sessions.values():
            assert row["steps"] == HISTORY_STEPS_PER_SIDE
            assert row["pelvic_drop_deg_p90"] >= row["pelvic_drop_deg_median"]


def test_progress_shows_the_drop_in_the_no_feedback_probes_and_with_feedback(world: World) -> None:
    trend = world.station("trendelenburg_left")
    window = {"from_ms": world.end_ms - 30 * 86_400_000, "to_ms": world.end_ms}
    series = world.query(queries.PROGRESS_FEEDBACK, clinic=world.clinic, patient=trend.patient_id, **window)
    by_schedule = {s["tags"]["schedule"]: [r["pelvic_drop_deg_median"] for r in _rows(s)] for s in series}
    assert by_schedule["none"] == pytest.approx([HISTORY_PROBE_DROP_DEG[w] for w in HISTORY_WEEKS])
    assert by_schedule["faded"] == pytest.approx([HISTORY_FEEDBACK_DROP_DEG[w] for w in HISTORY_WEEKS])
    (dose,) = world.query(queries.PROGRESS_DOSE, clinic=world.clinic, patient=trend.patient_id, **window)
    assert [r["dose"] for r in _rows(dose)] == pytest.approx([0.75] * 3)


def test_the_session_lists_its_feedback_blocks_with_their_dose(world: World) -> None:
    trend = world.station("trendelenburg_left")
    series = world.query(
        queries.SESSION_FEEDBACK_BLOCKS,
        from_ms=world.end_ms - 30 * 86_400_000,
        to_ms=world.end_ms,
        clinic=world.clinic,
        patient=trend.patient_id,
        session=world.history_sessions[1],
    )
    blocks = {(s["tags"]["block"], s["tags"]["schedule"]): _rows(s)[0] for s in series}
    assert set(blocks) == {("0", "none"), ("1", "faded")}
    assert blocks[("0", "none")]["steps"] == PROBE_STEPS and blocks[("0", "none")]["dose"] == 0
    assert blocks[("1", "faded")]["steps"] == FEEDBACK_STEPS
    assert blocks[("1", "faded")]["dose"] == pytest.approx(0.75)
    assert blocks[("0", "none")]["pelvic_drop_deg_median"] == pytest.approx(HISTORY_PROBE_DROP_DEG[1])


# --- the one alert rule: the pipeline's dead-man's switch --------------------------------------


def _last_per_clinic(world: World, query: str, relative_from_s: int, to_ms: int) -> dict[str, float]:
    """A rule query over its relative range, reduced to its last value per clinic (B, E)."""
    series = world.query(query, from_ms=to_ms - relative_from_s * 1000, to_ms=to_ms)
    return {s["tags"]["clinic"]: [row[1] for row in s["values"] if row[1] is not None][-1] for s in series}


def _dead_mans_switch_firing(world: World, to_ms: int, clinics: set[str]) -> set[str]:
    (rule,) = alerts.RULES
    samples = _last_per_clinic(world, rule.query, rule.relative_from_s, to_ms)
    open_sessions = _last_per_clinic(world, rule.gate_query, rule.gate_relative_from_s, to_ms)
    return {c for c in clinics if samples.get(c, 1) < rule.threshold and open_sessions.get(c, 0) > 0}


def test_the_dead_mans_switch_fires_only_when_open_sessions_get_no_data(world: World) -> None:
    (rule,) = alerts.RULES
    assert rule.uid == "gaitstream-pipeline-dead-mans-switch" and rule.evaluator == "lt"
    # The module's sessions ran and stopped: their data ended, but no session is open.
    _wait_until(
        lambda: (
            _last_per_clinic(world, rule.gate_query, rule.gate_relative_from_s, world.end_ms + 60_000).get(world.clinic)
            == 0
        ),
        timeout_s=30,
    )
    assert _dead_mans_switch_firing(world, world.end_ms + 120_000, {world.clinic}) == set()
    # Another clinic: a session opened, data flowed for three minutes, then nothing reached InfluxDB
    # (written here as the sink would have written it).
    clinic = f"dms-{world.pipeline.prefix}"
    series = f"clinic={tag_value(clinic)},patient=p-dms,session=s-dms,station=st-dms"
    start_ms, stopped_ms = world.end_ms - 240_000, world.end_ms - 60_000
    lines = [f"gait_session,{series} active=1i,pelvic_drop_threshold_deg=5.0 {start_ms * 1000}"]
    lines += [f"pelvic_trace,{series} pelvic_obliquity_deg=1.0 {t * 1000}" for t in range(start_ms, stopped_ms, 50)]
    _write(world.pipeline, lines)
    assert _dead_mans_switch_firing(world, stopped_ms - 5_000, {clinic}) == set()  # data flowing
    assert _dead_mans_switch_firing(world, stopped_ms + 90_000, {clinic}) == {clinic}  # a minute without
    # the stop event arrives (the session closed): no alarm any more
    _write(
        world.pipeline,
        [f"gait_session,{series} active=0i,pelvic_drop_threshold_deg=5.0 {(stopped_ms + 100_000) * 1000}"],
    )
    assert _dead_mans_switch_firing(world, stopped_ms + 120_000, {clinic}) == set()


def _epoch_ms(rfc3339: str) -> int:
    from datetime import datetime

    return round(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)
