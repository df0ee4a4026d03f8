"""``gaitstream stack up | down | status | logs | env``."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from gaitstream.logging import emit
from gaitstream.stack.exceptions import StackError
from gaitstream.stack.manager import Stack

app = typer.Typer(help="The local real Kafka + InfluxDB on 127.0.0.1 (no Docker).", no_args_is_help=True)
_err = Console(stderr=True)

ServerName = Literal["kafka", "influxdb"]


def _fail(exc: StackError) -> None:
    _err.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(2) from exc


@app.command()
def install() -> None:
    """Fetch Kafka's jars and build InfluxDB into the cache (first time only), showing progress."""
    stack = Stack(console=_err)
    try:
        spent = stack.install()
    except StackError as exc:
        _fail(exc)
    for name, seconds in spent.items():
        emit("installed", server=name, setup_s=round(seconds, 1), cached=seconds == 0.0)


@app.command()
def up() -> None:
    """Fetch/build (first time only) and start Kafka and InfluxDB; does nothing if they already run."""
    stack = Stack(console=_err)
    try:
        report = stack.up()
    except StackError as exc:
        _fail(exc)
    for name in report.started:
        emit("started", server=name, setup_s=round(report.setup_s.get(name, 0.0), 1))
    for name in report.already_running:
        emit("already_running", server=name)
    emit(
        "stack_up",
        elapsed_s=round(report.elapsed_s, 2),
        kafka=stack.settings.kafka_bootstrap,
        influxdb=stack.settings.influxdb_url,
    )


@app.command()
def down() -> None:
    """Stop the servers that ``up`` started (never someone else's)."""
    stopped = Stack(console=_err).down()
    emit("stack_down", stopped=",".join(stopped) or "none")


@app.command()
def status() -> None:
    """Health, endpoint, version and ownership of each server; exit 1 when one is unhealthy."""
    rows = Stack(console=_err).status()
    table = Table(title="gaitstream local stack")
    for col in ("server", "health", "endpoint", "version", "pid (ours)", "detail"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row.name,
            "[green]healthy[/green]" if row.healthy else "[red]down[/red]",
            row.endpoint,
            row.version,
            str(row.pid) if row.managed else "-",
            row.detail,
        )
    Console().print(table)
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


@app.command()
def logs(
    server: Annotated[ServerName | None, typer.Argument(help="kafka or influxdb; both when omitted")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1)] = 40,
) -> None:
    """The last lines of each server's log (state directory)."""
    stack = Stack(console=_err)
    for srv in stack.servers:
        if server is None or srv.name == server:
            print(f"==> {srv.process.log_file} <==")
            print("\n".join(srv.process.tail(lines)))


@app.command()
def env(
    role: str = typer.Option(
        "admin", help="Kafka user to export: admin, pipeline (with the sink's), dispatcher or simulator"
    ),
) -> None:
    """Print ``export`` lines that point gaitstream at the local stack (``eval $(gaitstream stack env)``):
    the broker, its CA file and the role's Kafka user and password, InfluxDB's URL and token, and the
    stations' signing secret for the roles that sign or verify frames (admin, pipeline, simulator)."""
    for key, value in Stack(console=_err).env(role).items():
        sys.stdout.write(f"export {key}={shlex.quote(value)}\n")


@app.command()
def smoke() -> None:
    """Check the running stack end to end: one message through Kafka, one point through InfluxDB."""
    from gaitstream.settings import InfluxSettings
    from gaitstream.stack.smoke import influx_round_trip, kafka_round_trip

    stack = Stack(console=_err)
    local = stack.env()
    kafka = stack.kafka.client_settings("admin")
    influx = InfluxSettings(
        url=local["GAITSTREAM_INFLUX_URL"],
        token=local["GAITSTREAM_INFLUX_TOKEN"],
        bucket=local["GAITSTREAM_INFLUX_BUCKET"],
        database=local["GAITSTREAM_INFLUX_DATABASE"],
    )
    results = [kafka_round_trip(kafka), influx_round_trip(influx)]
    for res in results:
        emit("smoke", check=res.check, ok=res.ok, elapsed_ms=round(res.elapsed_ms, 1), detail=res.detail)
    if not all(res.ok for res in results):
        raise typer.Exit(1)
