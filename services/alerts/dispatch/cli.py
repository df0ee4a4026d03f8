"""Dispatcher commands of ``gaitstream alerts`` (``dispatch``, ``test-send``)."""

from __future__ import annotations

from typing import Annotated

import typer

from gaitstream.logging import emit


def dispatch(
    status_interval_s: Annotated[float, typer.Option(min=0.5, help="Seconds between status lines")] = 10.0,
) -> None:
    """Deliver the pipeline's alerts to subscribers until Ctrl-C / SIGTERM (upgrades the store first)."""
    from gaitstream.services.alerts.dispatch.runner import run_dispatcher
    from gaitstream.services.alerts.dispatch.settings import DispatchSettings
    from gaitstream.settings import KafkaSettings, TopicSettings

    # The dispatcher may only read the alerts topic; the pipeline creates it (until then it waits).
    kafka, topics, settings = KafkaSettings(), TopicSettings(), DispatchSettings()
    code = run_dispatcher(kafka=kafka, topics=topics, settings=settings, status_interval_s=status_interval_s)
    raise typer.Exit(code)


def test_send(
    channel: Annotated[str, typer.Option(help="email, webhook or apprise")],
    target: Annotated[str, typer.Option(help="E-mail address, webhook URL or apprise URL")],
    secret: Annotated[str | None, typer.Option(help="Webhook signing secret (webhook only)")] = None,
    allow_private: Annotated[bool, typer.Option(help="Allow loopback/private webhook hosts (as a clinic may)")] = False,
) -> None:
    """Send one sample alert through a channel and print the outcome (nothing is stored)."""
    import time

    from gaitstream.services.alerts.dispatch.channels import Target
    from gaitstream.services.alerts.dispatch.exceptions import DeliveryError
    from gaitstream.services.alerts.dispatch.runner import build_channels
    from gaitstream.services.alerts.dispatch.samples import sample_message
    from gaitstream.services.alerts.dispatch.settings import DispatchSettings
    from gaitstream.services.alerts.store.models import CHANNELS

    if channel not in CHANNELS:
        raise typer.BadParameter(
            f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}", param_hint="--channel"
        )
    if channel == "webhook" and not secret:
        raise typer.BadParameter("a webhook needs --secret (the receiver checks the signature)", param_hint="--secret")
    channels = build_channels(DispatchSettings())
    message = sample_message()
    started = time.perf_counter()
    try:
        channels[channel].send(
            message, Target(channel=channel, address=target, secret=secret, allow_private=allow_private)
        )
    except DeliveryError as exc:
        emit("test_send_failed", channel=channel, retryable=exc.retryable, reason=exc.reason)
        raise typer.Exit(1) from exc
    finally:
        for built in channels.values():
            built.close()
    emit(
        "test_send_ok",
        channel=channel,
        delivery=message.delivery_id,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def register(app: typer.Typer) -> None:
    """Add the dispatcher's commands to the ``alerts`` command group."""
    app.command("dispatch")(dispatch)
    app.command("test-send")(test_send)
