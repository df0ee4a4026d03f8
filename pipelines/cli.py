"""``gaitstream worker``: the Faust pipeline worker (same as ``faust -A gaitstream.pipelines.app worker``)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer


def worker(
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", help="Faust log level: crit, error, warn, info, debug")
    ] = "warn",
    web_port: Annotated[int | None, typer.Option(help="Serve Faust's web status here (health checks)")] = None,
    web_host: Annotated[
        str,
        typer.Option(
            help="Address of that server: loopback by default, as its routes show the stations' checkpoints "
            "(clinic and patient ids) to whoever reaches them; the health check runs beside the worker"
        ),
    ] = "127.0.0.1",
) -> None:
    """Run a pipeline worker: frames -> gait engine -> steps, status, trace -> InfluxDB."""
    from gaitstream.settings import KafkaSettings, TopicSettings
    from gaitstream.topics import ensure_topics

    ensure_topics(KafkaSettings(), TopicSettings())
    # Faust owns the process from here (signals, event loop): replace this one.
    web = ["--without-web"] if web_port is None else ["--web-port", str(web_port), "--web-host", web_host]
    os.execv(sys.executable, [sys.executable, "-m", "gaitstream.pipelines", "worker", *web, "--loglevel", loglevel])


def register(app: typer.Typer) -> None:
    app.command()(worker)
