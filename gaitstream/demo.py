"""``gaitstream demo``: the main job on one machine.

1. Bring up the local real stack (Kafka + InfluxDB), unless it already runs.
2. Start a pipeline worker and N simulated treadmill stations (mixed gait patterns), each a
   child process with its log in the state directory.
3. Show every station's live gait quality, read back from InfluxDB, until Ctrl-C (or
   ``--duration-s``); then stop the children and whatever part of the stack the demo started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from gaitstream.logging import emit

# The newest status point of each station since the demo started (one query, InfluxQL).
STATUS_QUERY = (
    "SELECT pelvic_drop_deg_median_left AS drop_l, pelvic_drop_deg_median_right AS drop_r, "
    "trunk_lean_deg_median_left AS lean_l, trunk_lean_deg_median_right AS lean_r, "
    "cadence_spm AS cadence, classification FROM gait_status "
    "WHERE time > {since_ns} AND clinic = '{clinic}' GROUP BY station, patient ORDER BY time DESC LIMIT 1"
)
DEMO_CLINIC = "clinic-a"
COLOURS = {"normal": "green", "insufficient_data": "dim"}
# A station whose last status is older than this is shown as stale.
STALE_AFTER_S = 5.0
REFRESH_S = 1.0


@dataclass(frozen=True)
class StationRow:
    station: str
    patient: str
    cadence_spm: float | None
    drop_left_deg: float | None
    drop_right_deg: float | None
    lean_left_deg: float | None
    lean_right_deg: float | None
    classification: str
    age_s: float


def fetch_rows(env: dict[str, str], *, since_ns: int, clinic: str = DEMO_CLINIC) -> list[StationRow]:
    """Latest status of each station from InfluxDB (InfluxQL, as the dashboards do)."""
    query = STATUS_QUERY.format(since_ns=since_ns, clinic=clinic)
    resp = httpx.post(
        f"{env['GAITSTREAM_INFLUX_URL']}/query",
        timeout=5.0,
        data={"db": env["GAITSTREAM_INFLUX_DATABASE"], "q": query, "epoch": "ms"},
        headers={"Authorization": f"Token {env['GAITSTREAM_INFLUX_TOKEN']}"},
    )
    resp.raise_for_status()
    now_ms = time.time() * 1000
    rows = []
    for series in resp.json()["results"][0].get("series", []):
        values = dict(zip(series["columns"], series["values"][0], strict=True))
        rows.append(
            StationRow(
                series["tags"]["station"],
                series["tags"]["patient"],
                values["cadence"],
                values["drop_l"],
                values["drop_r"],
                values["lean_l"],
                values["lean_r"],
                values["classification"] or "-",
                (now_ms - values["time"]) / 1000,
            )
        )
    return sorted(rows, key=lambda r: r.station)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:5.1f}"


def render(rows: list[StationRow], elapsed_s: float) -> Table:
    table = Table(title=f"gaitstream live gait quality  (running {elapsed_s:4.0f} s, Ctrl-C stops)")
    for col in (
        "station",
        "patient",
        "cadence spm",
        "drop L°",
        "drop R°",
        "lean L°",
        "lean R°",
        "classification",
        "last update",
    ):
        table.add_column(col, justify="right" if col not in ("station", "patient", "classification") else "left")
    for r in rows:
        colour = COLOURS.get(r.classification, "red")
        age = f"[yellow]{r.age_s:4.1f} s stale[/yellow]" if r.age_s > STALE_AFTER_S else f"{r.age_s:4.1f} s"
        table.add_row(
            r.station,
            r.patient,
            _num(r.cadence_spm),
            _num(r.drop_left_deg),
            _num(r.drop_right_deg),
            _num(r.lean_left_deg),
            _num(r.lean_right_deg),
            f"[{colour}]{r.classification}[/{colour}]",
            age,
        )
    return table


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "gaitstream", *args],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_demo(*, stations: int, duration_s: float | None, console: Console) -> list[StationRow]:
    from gaitstream.stack import Stack

    stack = Stack(console=Console(stderr=True))
    report = stack.up()
    env = stack.env()
    logs = stack.settings.state_dir / "logs"
    emit(
        "demo_starting", stations=stations, worker_log=logs / "demo-worker.log", stations_log=logs / "demo-stations.log"
    )
    # Each process as its own Kafka user (gaitstream.access.principals): the worker as the pipeline
    # (and its sink), the simulated stations as the simulator fleet; the table reads as the operator.
    from gaitstream.settings import TopicSettings
    from gaitstream.topics import ensure_topics

    ensure_topics(stack.kafka.client_settings("admin"), TopicSettings())  # stations may not create them
    worker = _spawn(["worker", "--loglevel", "info"], stack.env("pipeline"), logs / "demo-worker.log")
    feeder = _spawn(
        [
            "stations",
            "--count",
            str(stations),
            "--clinic-id",
            DEMO_CLINIC,
            "--duration-s",
            str(max(duration_s or 3600.0, 60.0)),
        ],
        stack.env("simulator"),
        logs / "demo-stations.log",
    )
    started = time.monotonic()
    since_ns = time.time_ns() - 60_000_000_000
    rows: list[StationRow] = []
    try:
        with Live(render(rows, 0.0), console=console, refresh_per_second=2, auto_refresh=console.is_terminal) as live:
            while duration_s is None or time.monotonic() - started < duration_s:
                for proc, name in ((worker, "worker"), (feeder, "stations")):
                    if proc.poll() is not None and not (name == "stations" and proc.returncode == 0):
                        raise RuntimeError(f"demo {name} exited with {proc.returncode}; see its log in {logs}")
                try:
                    rows = fetch_rows(env, since_ns=since_ns)
                except httpx.HTTPError as exc:
                    emit("demo_query_failed", error=str(exc))
                live.update(render(rows, time.monotonic() - started))
                time.sleep(REFRESH_S)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(feeder)
        _stop(worker)
        stopped = stack.stop(report.started)
        emit("demo_stopped", stack_stopped=",".join(stopped) or "none (was already running)")
    if not console.is_terminal:
        console.print(render(rows, time.monotonic() - started))
    return rows
