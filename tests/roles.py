"""Kafka users for the processes a test starts: each role's credentials from the local stack,
with that role's ACLs granted on the test's own topic prefix (its topics, groups and changelogs),
so every worker, sink, dispatcher and station of a test runs with only what production grants."""

from __future__ import annotations

from functools import cache

from gaitstream.settings import KafkaSettings, TopicSettings

ROLE_KEYS = (
    "GAITSTREAM_KAFKA_BOOTSTRAP",
    "GAITSTREAM_KAFKA_USERNAME",
    "GAITSTREAM_KAFKA_PASSWORD",
    "GAITSTREAM_KAFKA_CA_FILE",
    "GAITSTREAM_SINK_KAFKA_USERNAME",
    "GAITSTREAM_SINK_KAFKA_PASSWORD",
    "GAITSTREAM_STATION_SIGNING_SECRET",
    "GAITSTREAM_INFLUX_TOKEN",
)


def _stack():
    from rich.console import Console

    from gaitstream.stack import Stack

    return Stack(console=Console(stderr=True))


@cache
def grant_prefix(prefix: str, app_id: str | None = None, dispatcher_group: str | None = None) -> None:
    """Every role's ACLs on ``prefix``'s topics, ``app_id``'s changelogs and groups (once per run)."""
    _stack().kafka.ensure_roles(
        TopicSettings(prefix=prefix),
        app_id=app_id or prefix,
        dispatcher_group=dispatcher_group or f"{prefix}-dispatch",
        report_group=f"{prefix}-reports",
    )


def role_env(
    role: str, prefix: str, *, app_id: str | None = None, dispatcher_group: str | None = None
) -> dict[str, str]:
    """The Kafka (and signing) variables of ``role`` for a process working on ``prefix``."""
    grant_prefix(prefix, app_id, dispatcher_group)
    env = _stack().env(role)
    return {key: env[key] for key in ROLE_KEYS if key in env}


def role_settings(role: str, prefix: str, **kwargs) -> KafkaSettings:
    """KafkaSettings of ``role`` (in-process clients of a test, e.g. a station publisher)."""
    grant_prefix(prefix, kwargs.get("app_id"), kwargs.get("dispatcher_group"))
    return _stack().kafka.client_settings(role)


def settings_env(kafka: KafkaSettings) -> dict[str, str]:
    """``GAITSTREAM_KAFKA_*`` variables that reproduce ``kafka`` in a child process."""
    username, password = kafka.credentials()
    return {
        "GAITSTREAM_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "GAITSTREAM_KAFKA_USERNAME": username,
        "GAITSTREAM_KAFKA_PASSWORD": password,
        "GAITSTREAM_KAFKA_CA_FILE": str(kafka.ca_file),
    }


def signed(record_key: bytes, value: bytes, *, as_station: str | None = None) -> list[tuple[str, bytes]]:
    """Headers that sign a raw record as its station (or as ``as_station``: a forgery), with the
    deployment's signing secret: what a station's publisher adds."""
    from gaitstream.access.signing import SIGNATURE_HEADER, sign, station_key
    from gaitstream.settings import SigningSettings

    key = station_key(SigningSettings().secret(), as_station or record_key.decode())
    return [(SIGNATURE_HEADER, sign(key, record_key, value))]


def forget_prefix(prefix: str) -> None:
    """Delete the ACLs a run granted on ``prefix`` (with its topics: the broker outlives the run)."""
    from gaitstream.access.admin import AccessAdmin

    with AccessAdmin(_stack().kafka.client_settings("admin")) as admin:
        admin.revoke_prefix(prefix)
    grant_prefix.cache_clear()
