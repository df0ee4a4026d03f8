"""``gaitstream feedback serve`` (the screens' service) and ``gaitstream feedback url STATION_ID``."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from gaitstream.logging import emit

app = typer.Typer(help="The patient feedback screens in front of the treadmills.")


def _settings():
    from gaitstream.exceptions import GaitstreamError
    from gaitstream.services.feedback.settings import FeedbackSettings
    from gaitstream.settings import load_secret_files

    try:
        load_secret_files()
        settings = FeedbackSettings()
        return settings, settings.secret_bytes()
    except GaitstreamError as exc:
        emit("feedback_refused", reason=str(exc))
        raise typer.Exit(2) from exc


@app.command()
def serve() -> None:
    """Serve the screens: pages and WebSockets, fed from the steps and trace topics."""
    import uvicorn

    from gaitstream.services.feedback.app import create_app
    from gaitstream.services.feedback.feed import run_feed
    from gaitstream.services.feedback.hub import Hub
    from gaitstream.settings import KafkaSettings, TopicSettings

    settings, secret = _settings()
    kafka, topics = KafkaSettings(), TopicSettings()
    kafka.credentials()  # fail now, not on the event loop, when the Kafka user is missing

    async def feed(hub, ready):
        await run_feed(
            hub, kafka, topics, lookback_s=settings.lookback_s, ready=ready, fetch_max_wait_s=settings.fetch_max_wait_s
        )

    web = create_app(secret=secret, hub=Hub(settings.queue_messages), feed=feed)
    emit("feedback_serving", host=settings.host, port=settings.port)
    uvicorn.run(
        web, host=settings.host, port=settings.port, log_level="warning", ws="websockets-sansio", ws_ping_interval=10
    )


@app.command()
def url(
    station_id: Annotated[str, typer.Argument(help="The treadmill station")],
    sound: Annotated[bool, typer.Option(help="A short tone for a step outside the band")] = False,
) -> None:
    """Print the station's screen URL, with a token that opens that station's screen only."""
    from gaitstream.services.feedback.tokens import make_token

    settings, secret = _settings()
    token = make_token(secret, station_id, expires_s=int(time.time() + settings.token_ttl_s))
    sys.stdout.write(
        f"{settings.public_url.rstrip('/')}/screen/{station_id}?token={token}" + ("&sound=true" if sound else "") + "\n"
    )
