"""``gaitstream report session SESSION_ID --out DIR`` (on demand) and ``gaitstream report serve``
(each session's report when it stops). Both read InfluxDB with ``GAITSTREAM_INFLUX_*`` (a token
that may read the bucket) and the programme from the alerts API when ``GAITSTREAM_REPORT_API_URL``
and ``GAITSTREAM_REPORT_API_KEY`` are set."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from gaitstream.logging import emit

app = typer.Typer(help="Session reports: PDF, HTML and a FHIR Bundle per treadmill session.")


def _settings():
    from gaitstream.services.report.settings import ReportSettings
    from gaitstream.settings import InfluxSettings, load_secret_files

    load_secret_files()
    return ReportSettings(), InfluxSettings()


def _quiet_font_logs() -> None:
    """matplotlib's PDF backend subsets fonts with fontTools, which logs every table at INFO."""
    import logging

    for name in ("fontTools", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _programmes(settings, stack: ExitStack):
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    if not (settings.api_url and key):  # compose passes an unset REPORT_API_KEY as ""
        return None
    from gaitstream.services.report.programme_source import ApiProgrammes

    programmes = ApiProgrammes(settings.api_url, key)
    stack.callback(programmes.close)
    return programmes


def _links(settings, clinic_id: str, session_id: str) -> dict[str, str]:
    if not settings.public_url:
        return {}
    base = f"{settings.public_url.rstrip('/')}/v1/clinics/{clinic_id}/sessions/{session_id}/report"
    return {"html": f"{base}.html", "pdf": f"{base}.pdf", "fhir": f"{base}.fhir.json"}


def _maker(settings, influx, stack: ExitStack, out_dir: Path, *, require_stop: bool = False):
    from gaitstream.services.report.influx import SessionReader
    from gaitstream.services.report.make import make_report

    reader = stack.enter_context(SessionReader.open(influx))
    programmes = _programmes(settings, stack)

    def make(session_id: str):
        return make_report(
            reader,
            session_id,
            out_dir,
            programme_of=programmes,
            rules_file=settings.rules_file,
            links_of=lambda clinic_id: _links(settings, clinic_id, session_id),
            require_stop=require_stop,
        )

    return make


@app.command()
def session(
    session_id: Annotated[str, typer.Argument(help="The session's id")],
    out: Annotated[Path, typer.Option("--out", help="Directory for <clinic>/<session>.html, .pdf and .fhir.json")],
) -> None:
    """Make one session's report now."""
    from gaitstream.services.report.influx import SessionNotFound

    settings, influx = _settings()
    _quiet_font_logs()
    with ExitStack() as stack:
        make = _maker(settings, influx, stack, out)
        try:
            made = make(session_id)
        except SessionNotFound as exc:
            emit("report_refused", reason=str(exc))
            raise typer.Exit(1) from exc
    emit(
        "report_written",
        html=made.html,
        pdf=made.pdf,
        fhir=made.fhir,
        steps=sum(side.steps for side in made.figures.sides.values()),
    )


@app.command()
def serve() -> None:
    """Make each session's report when it stops (the report role's Kafka user and group)."""
    from kafka import KafkaConsumer

    from gaitstream.services.report.service import DueReports, run_reports
    from gaitstream.settings import KafkaSettings, TopicSettings

    settings, influx = _settings()
    kafka, topics = KafkaSettings(), TopicSettings()
    _quiet_font_logs()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    with ExitStack() as stack:
        make = _maker(settings, influx, stack, settings.out_dir, require_stop=True)
        consumer = KafkaConsumer(
            topics.steps,
            **kafka.client_config(),
            group_id=settings.group,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id="gaitstream-report",
        )
        stack.callback(consumer.close)
        emit("report_serving", topic=topics.steps, group=settings.group, out_dir=settings.out_dir)
        run_reports(
            consumer,
            make,
            DueReports(settle_s=settings.settle_s, attempts=settings.attempts),
            should_stop=lambda: stop[0],
        )
    emit("report_stopped")
