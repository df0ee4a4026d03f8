"""Fault campaign: randomized schedules of real faults over a real pipeline, checked against the
in-process reference (``tests/e2e/reference.py``).

One campaign keeps one pipeline up (2 Faust workers with their sinks, the alert dispatcher on a
real PostgreSQL, a webhook receiver subscribed to the clinic) and runs schedules through it. A
schedule is a set of simulated stations, each streaming one session at ``speed`` times real time,
and 1-3 faults at random times while they stream:

- ``worker_kill``: SIGKILL a worker; restarted at once (compose's ``restart: unless-stopped``);
- ``worker_pause``: SIGSTOP a worker for longer than the consumer session timeout, then SIGCONT:
  its partitions move meanwhile and it wakes up holding stale state;
- ``broker_restart``: the Kafka broker stopped and started again;
- ``influxdb_down``: InfluxDB stopped for 60 s;
- ``postgres_down``: the alert store stopped for 30 s.

Checked per schedule, once the faults are over and the data has settled:

- steps: InfluxDB holds every reference step of every session, once, with the reference's values
  (lost, duplicated, different);
- alerts: every reference alert (open and resolve records) reached the store in its final state
  and its last state change was delivered to the receiver; a state change delivered under two
  delivery ids is a duplicate (a resend under the same id is what the receiver drops, counted
  apart);
- state: each station's last checkpoint in the ``station-state`` changelog is its session's
  closing one (a stale worker's write never lands after the newer owner's).

Alerts judged on arrival time (station silence, pipeline faults) are not in the reference: a
stopped broker delays the frames and a silence alert may rightly open. They are counted apart.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gaitstream.services.station.publisher import StationPublisher, StationSettings
from gaitstream.services.station.runner import StationRun, new_session, run_stations
from gaitstream.services.station.sources import SimulatedSource
from gaitstream.simulate import pattern_config
from gaitstream.topics import ensure_alert_topics, read_latest
from tests.e2e.harness import REPO, PipelineRun
from tests.e2e.reference import Reference, reference_run
from tests.roles import role_env

FAULTS = ("worker_kill", "worker_pause", "broker_restart", "influxdb_down", "postgres_down")
FAST_FAULTS = ("worker_kill", "worker_pause", "broker_restart")
CLINIC = "clinic-campaign"
FRAME_SAMPLES = 10
SESSION_TIMEOUT_S = 10.0  # the pipeline's consumer session timeout (PipelineSettings.session_timeout_s)
INFLUXDB_DOWN_S, POSTGRES_DOWN_S = 60.0, 30.0
PATTERNS = (
    "normal",
    "trendelenburg_left",
    "trendelenburg_right",
    "compensated_left",
    "compensated_right",
    "trendelenburg_bilateral",
)
# Once the last fault is over: how long the steps and deliveries may take to land.
SETTLE_TIMEOUT_S = 150.0
CONFIRM_S = 5.0


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float  # wall-clock seconds after the stations start
    duration_s: float = 0.0
    worker: int = 0

    def label(self) -> str:
        target = f" w{self.worker}" if self.kind.startswith("worker") else ""
        held = f" {self.duration_s:.0f}s" if self.duration_s else ""
        return f"{self.kind}{target}@{self.at_s:.0f}s{held}"


@dataclass(frozen=True)
class Schedule:
    seed: int
    faults: tuple[Fault, ...]
    stations: int
    data_s: float  # each session's length in data time


def random_schedule(
    seed: int, *, kinds: tuple[str, ...] = FAULTS, stations: int = 6, data_s: float = 60.0, speed: float = 2.0
) -> Schedule:
    """1-3 distinct faults at random times while the stations stream (``data_s / speed`` s of wall
    clock); the two worker faults, if both, hit different workers."""
    rng = random.Random(seed)
    wall_s = data_s / speed
    chosen = rng.sample(kinds, rng.randint(1, min(3, len(kinds))))
    workers = rng.sample([0, 1], 2)
    faults = []
    for kind in chosen:
        at_s = round(rng.uniform(2.0, max(3.0, wall_s - 6.0)), 1)
        duration_s = {
            "worker_pause": round(SESSION_TIMEOUT_S + rng.uniform(3.0, 12.0), 1),
            "influxdb_down": INFLUXDB_DOWN_S,
            "postgres_down": POSTGRES_DOWN_S,
        }.get(kind, 0.0)
        worker = workers[0] if kind == "worker_kill" else workers[1]
        faults.append(Fault(kind, at_s, duration_s, worker))
    return Schedule(seed, tuple(sorted(faults, key=lambda f: f.at_s)), stations, data_s)


@dataclass
class Outcome:
    schedule: Schedule
    steps_expected: int = 0
    steps_landed: int = 0
    steps_lost: int = 0
    steps_duplicated: int = 0
    steps_different: int = 0
    alerts_expected: int = 0
    alerts_landed: int = 0
    alerts_lost: int = 0
    alerts_duplicated: int = 0
    resends: int = 0  # the same delivery id sent again (dropped by the receiver)
    other_alerts: Counter = field(default_factory=Counter)  # kinds outside the reference
    stale_checkpoints: int = 0
    process_restarts: int = 0
    details: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def clean(self) -> bool:
        return not (
            self.steps_lost
            or self.steps_duplicated
            or self.steps_different
            or self.alerts_lost
            or self.alerts_duplicated
            or self.stale_checkpoints
        )


class Campaign:
    """The pipeline the schedules run through; a context manager (everything stopped at exit)."""

    def __init__(self, *, stack, postgres, kafka, influx, tmp: Path, speed: float = 2.0) -> None:
        from tests.services.alerts.dispatch_peers import webhook_receiver

        self.stack, self.postgres, self.speed = stack, postgres, speed
        self.pipeline = PipelineRun(kafka=kafka, influx=influx, tmp=tmp)
        self.tmp = tmp
        self._receiver_cm = webhook_receiver()
        self.receiver = None
        self.workers: dict[int, subprocess.Popen] = {}
        self.dispatcher: subprocess.Popen | None = None
        self.database_url = ""
        self.restarts = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ set-up
    def __enter__(self) -> Campaign:
        from tests.postgres import create_database
        from tests.services.alerts.dispatch_peers import sessions_for, subscribe

        ensure_alert_topics(self.pipeline.kafka, self.pipeline.topics)
        self.receiver = self._receiver_cm.__enter__()
        self.database_url = create_database(self.postgres.admin_url, f"campaign_{uuid.uuid4().hex[:8]}")
        from gaitstream.services.alerts.dispatch.runner import prepare_database

        prepare_database(self.database_url)
        subscribe(sessions_for(self.database_url), clinic_id=CLINIC, target=self.receiver.url, min_severity="info")
        for slot in (0, 1):
            self.workers[slot] = self.pipeline.start_worker(f"w{slot}")
        self.dispatcher = self._start_dispatcher()
        return self

    def __exit__(self, *exc) -> None:
        if self.dispatcher is not None:
            self.dispatcher.send_signal(signal.SIGTERM)
            try:
                self.dispatcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.dispatcher.kill()
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
        self.pipeline.stop()
        self._receiver_cm.__exit__(*exc)

    def _start_dispatcher(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            **role_env("dispatcher", self.pipeline.prefix),
            "GAITSTREAM_TOPIC_PREFIX": self.pipeline.prefix,
            "GAITSTREAM_ALERTS_DATABASE_URL": self.database_url,
            "GAITSTREAM_ALERTS_CONSUMER_GROUP": f"{self.pipeline.prefix}-dispatch",
            "GAITSTREAM_ALERTS_SEND_INTERVAL_S": "0.2",
            "GAITSTREAM_ALERTS_CONSUME_POLL_TIMEOUT_S": "0.5",
            "GAITSTREAM_ALERTS_WEBHOOK_TIMEOUT_S": "5",
            "GAITSTREAM_ALERTS_CONSUMER_SESSION_TIMEOUT_S": "10",
        }
        with (self.tmp / "dispatch.log").open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "gaitstream", "alerts", "dispatch", "--status-interval-s", "10"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def _supervise(self) -> None:
        """What compose's restart policy does: a process that exited is started again (a worker
        started while the broker restarts exits at once: it is started again at the next call)."""
        with self._lock:
            for slot, proc in list(self.workers.items()):
                if proc.poll() is not None:
                    self.restarts += 1
                    self._start_worker(slot)
            if self.dispatcher is not None and self.dispatcher.poll() is not None:
                self.restarts += 1
                self.dispatcher = self._start_dispatcher()

    def _start_worker(self, slot: int) -> None:
        try:
            self.workers[slot] = self.pipeline.start_worker(f"w{slot}")
        except AssertionError:  # it exited during start-up; the next _supervise starts it again
            self.workers[slot] = self.pipeline.workers[-1][0]

    # ------------------------------------------------------------------ faults
    def _inject(self, fault: Fault, t0: float) -> None:
        time.sleep(max(0.0, t0 + fault.at_s - time.monotonic()))
        if fault.kind == "worker_kill":
            with self._lock:
                proc = self.workers[fault.worker]
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                self._start_worker(fault.worker)
        elif fault.kind == "worker_pause":
            proc = self.workers[fault.worker]
            proc.send_signal(signal.SIGSTOP)
            time.sleep(fault.duration_s)
            proc.send_signal(signal.SIGCONT)
        elif fault.kind == "broker_restart":
            self.stack.kafka.stop()
            self.stack.kafka.start()
        elif fault.kind == "influxdb_down":
            self.stack.influxdb.stop()
            time.sleep(fault.duration_s)
            self.stack.influxdb.start()
        elif fault.kind == "postgres_down":
            self.postgres.stop()
            time.sleep(fault.duration_s)
            self.postgres.start()
        else:
            raise ValueError(f"unknown fault {fault.kind}")

    # ------------------------------------------------------------------ one schedule
    def run(self, schedule: Schedule, progress=None) -> Outcome:
        started = time.monotonic()
        outcome = Outcome(schedule)
        restarts_before = self.restarts
        rng = random.Random(schedule.seed)
        stations: list[tuple[StationRun, Reference]] = []
        for i in range(schedule.stations):
            pattern = rng.choice(PATTERNS)
            config = pattern_config(
                pattern, duration_s=schedule.data_s, seed=schedule.seed * 100 + i, cadence_spm=rng.uniform(90, 115)
            )
            source = SimulatedSource(config)
            session = new_session(
                clinic_id=CLINIC,
                station_id=f"{self.pipeline.prefix}-s{schedule.seed}-{i}",
                patient_id=f"p-{schedule.seed}-{i}",
                source=source,
            )
            run = StationRun(session=session, source=source)
            stations.append((run, reference_run(run, lambda c=config: SimulatedSource(c), FRAME_SAMPLES)))
        t0 = time.monotonic()
        injectors = [threading.Thread(target=self._inject, args=(f, t0), daemon=True) for f in schedule.faults]
        for thread in injectors:
            thread.start()
        publisher = StationPublisher(
            kafka=self.pipeline.kafka, topics=self.pipeline.topics, settings=StationSettings(linger_ms=5)
        )
        try:
            run_stations([run for run, _ in stations], publisher, frame_samples=FRAME_SAMPLES, speed=self.speed)
        finally:
            publisher.close()
        for thread in injectors:
            thread.join()
        self._supervise()
        self._settle(stations, outcome, progress)
        outcome.process_restarts = self.restarts - restarts_before
        outcome.elapsed_s = time.monotonic() - started
        return outcome

    def _settle(self, stations: list[tuple[StationRun, Reference]], outcome: Outcome, progress) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        confirmed = False
        while True:
            self._supervise()
            self._check(stations, outcome)
            if time.monotonic() > deadline or (outcome.clean and confirmed):
                return
            # Clean twice, CONFIRM_S apart: a late write (a woken worker's) would show by then.
            confirmed = outcome.clean
            if progress is not None:
                progress(outcome)
            time.sleep(CONFIRM_S if confirmed else 3.0)

    # ------------------------------------------------------------------ checks
    def _check(self, stations: list[tuple[StationRun, Reference]], outcome: Outcome) -> None:
        schedule = outcome.schedule
        fresh = Outcome(schedule)
        delivered = self._deliveries()
        final_state = self._store_states([run.session.session_id for run, _ in stations])
        changelog = self._changelog()
        for run, reference in stations:
            sid = run.session.session_id
            rows = self.pipeline.step_rows(sid)
            by_index: dict[int, list[dict]] = {}
            for row in rows:
                by_index.setdefault(row["step_index"], []).append(row)
            fresh.steps_expected += len(reference.steps)
            lost, different = [], []
            for step in reference.steps:
                got = by_index.get(step["step_index"], [])
                if not got:
                    lost.append(step["step_index"])
                    continue
                fresh.steps_landed += 1
                fresh.steps_duplicated += len(got) - 1
                if abs(got[0]["pelvic_drop_deg"] - step["pelvic_drop_deg"]) > 1e-6 or got[0]["side"] != step["side"]:
                    different.append(step["step_index"])
            fresh.steps_lost += len(lost)
            fresh.steps_different += len(different)
            if lost or different:
                fresh.details.append(
                    f"{sid[:8]} ({run.session.station_id}): steps lost {_span(lost)}, different {_span(different)}"
                )
            extra = set(by_index) - {s["step_index"] for s in reference.steps}
            if extra:
                fresh.steps_different += len(extra)
                fresh.details.append(f"{sid[:8]}: steps not in the reference {sorted(extra)[:5]}")
            # Alerts: the last state change of each reference alert, delivered once.
            last_state = {}
            for alert in reference.alerts:
                last_state[alert["alert_id"]] = alert["state"]
            for alert_id, state in last_state.items():
                fresh.alerts_expected += 1
                ids = delivered.get((alert_id, state), set())
                if final_state.get(alert_id) == state and ids:
                    fresh.alerts_landed += 1
                    fresh.alerts_duplicated += len(ids) - 1
                else:
                    fresh.alerts_lost += 1
                    fresh.details.append(f"{sid[:8]}: alert {alert_id} {state}: store {final_state.get(alert_id)}")
            for alert_id in {alert_id for alert_id, _ in delivered}:
                if alert_id.startswith(sid) and alert_id not in last_state:
                    fresh.other_alerts[alert_id.split(":")[1] if ":" in alert_id else alert_id] += 1
            value = changelog.get(run.session.station_id)
            if not (value and value.get("closed") and value["session"]["session_id"] == sid):
                fresh.stale_checkpoints += 1
                fresh.details.append(f"{sid[:8]}: last checkpoint not the closing one: {_brief(value)}")
        fresh.resends = self._resends(delivered)
        fresh.other_alerts = fresh.other_alerts or Counter()
        outcome.__dict__.update({k: v for k, v in fresh.__dict__.items() if k not in ("schedule", "elapsed_s")})

    def _deliveries(self) -> dict[tuple[str, str], set[str]]:
        """(alert id, state change) -> the delivery ids the receiver got for it (verified requests)."""
        out: dict[tuple[str, str], set[str]] = {}
        for request in list(self.receiver.requests):
            if not request.verified:
                continue
            payload = request.payload
            key = (payload["alert"]["alert_id"], payload["state_change"])
            out.setdefault(key, set()).add(request.delivery_id)
        return out

    def _resends(self, delivered) -> int:
        return len([r for r in self.receiver.requests if r.verified]) - sum(len(ids) for ids in delivered.values())

    def _store_states(self, session_ids: list[str]) -> dict[str, str]:
        from sqlalchemy import select

        from gaitstream.services.alerts.store.models import Alert
        from tests.services.alerts.dispatch_peers import sessions_for

        try:
            with sessions_for(self.database_url)() as session:
                rows = session.execute(
                    select(Alert.alert_id, Alert.state).where(Alert.session_id.in_(session_ids))
                ).all()
        except Exception:  # the store is down (a postgres_down fault): nothing landed yet
            return {}
        return dict(rows)

    def _changelog(self) -> dict[str, dict]:
        try:
            latest = read_latest(self.pipeline.kafka, f"{self.pipeline.prefix}-station-state-changelog")
        except Exception:  # the broker is restarting
            return {}
        out = {}
        for key, value in latest.items():
            try:
                out[json.loads(key) if key.startswith('"') else key] = json.loads(value) if value else None
            except ValueError:
                continue
        return out


def _brief(value: dict | None) -> str:
    if not value:
        return repr(value)
    session = value["session"]["session_id"][:8]
    return f"session {session} closed={value.get('closed')} last_sequence={value.get('last_sequence')}"


def _span(indexes: list[int]) -> str:
    return f"{len(indexes)} ({indexes[0]}-{indexes[-1]})" if indexes else "0"
