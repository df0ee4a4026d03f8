"""``gaitstream access``: the operator's commands for Kafka users (run as the ``admin`` user).

``station add`` creates a station's Kafka user with its one ACL and prints what the station needs
(bootstrap, CA, user, password, signing key); ``station revoke`` removes the user and its ACLs;
``station list``; ``init`` creates the deployment's role users and their ACLs.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import typer
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.logging import emit

app = typer.Typer(help="Kafka users and ACLs: stations, pipeline, sink, dispatcher (as the admin user).")
station_app = typer.Typer(help="Treadmill stations' Kafka users.")
app.add_typer(station_app, name="station")


class AccessSettings(BaseSettings):
    """``GAITSTREAM_ACCESS_*``: what stations are told (they reach the broker by another address
    than the services inside compose do)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_ACCESS_", extra="ignore")

    # The STATIONS listener as the clinic LAN reaches it; default: the admin's own bootstrap.
    station_bootstrap: str | None = None


def _fail(message: str) -> None:
    emit("access_failed", reason=message)
    raise typer.Exit(2)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@station_app.command("add")
def station_add(
    station_id: str = typer.Argument(..., help="Station id (the Kafka key of its frames)"),
    clinic: str = typer.Option(..., "--clinic", help="Clinic the station belongs to"),
    out: Path | None = typer.Option(None, help="Write station.env (mode 600) and ca.crt here instead of printing"),
) -> None:
    """Create (or re-key) a station's Kafka user, allowed to write its frames and nothing else;
    print its connection settings. Re-adding a station gives it a new password."""
    from gaitstream.access.admin import AccessAdmin, AccessError
    from gaitstream.access.principals import station_user
    from gaitstream.access.signing import station_key
    from gaitstream.exceptions import GaitstreamError
    from gaitstream.settings import KafkaSettings, SigningSettings, TopicSettings

    kafka, topics = KafkaSettings(), TopicSettings()
    try:
        user = station_user(station_id)
        key = station_key(SigningSettings().secret(), station_id)
        with AccessAdmin(kafka) as admin:
            password = admin.add_station(station_id, topics)
    except (ValueError, GaitstreamError, AccessError) as exc:
        _fail(str(exc))
    ca_pem = kafka.ca_file.read_text() if kafka.ca_file else ""
    env = {
        "GAITSTREAM_KAFKA_BOOTSTRAP": AccessSettings().station_bootstrap or kafka.bootstrap,
        "GAITSTREAM_KAFKA_USERNAME": user,
        "GAITSTREAM_KAFKA_PASSWORD": password,
        "GAITSTREAM_KAFKA_CA_FILE": "ca.crt",
        "GAITSTREAM_TOPIC_PREFIX": topics.prefix,
        "GAITSTREAM_STATION_SIGNING_KEY": key.hex(),
        "GAITSTREAM_STATION_CLINIC": clinic,
    }
    lines = "".join(f"{name}={shlex.quote(value)}\n" for name, value in env.items())
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write_private(out / "station.env", lines)
        (out / "ca.crt").write_text(ca_pem)
        emit("station_added", station=station_id, clinic=clinic, user=user, env=out / "station.env")
        return
    sys.stdout.write(lines)
    sys.stdout.write("# ca.crt (save beside station.env):\n" + ca_pem)
    emit("station_added", station=station_id, clinic=clinic, user=user)


@station_app.command("revoke")
def station_revoke(station_id: str = typer.Argument(..., help="Station id")) -> None:
    """Remove the station's Kafka user and ACLs: its next request is refused."""
    from gaitstream.access.admin import AccessAdmin, AccessError
    from gaitstream.settings import KafkaSettings

    try:
        with AccessAdmin(KafkaSettings()) as admin:
            had_user, acls = admin.revoke_station(station_id)
    except (ValueError, AccessError) as exc:
        _fail(str(exc))
    emit("station_revoked", station=station_id, had_user=had_user, acls_deleted=acls)


@station_app.command("list")
def station_list() -> None:
    """Stations with a Kafka user, and their ACLs."""
    from gaitstream.access.admin import AccessAdmin
    from gaitstream.access.principals import station_user
    from gaitstream.settings import KafkaSettings

    with AccessAdmin(KafkaSettings()) as admin:
        for station_id in admin.stations():
            grants = admin.grants_of(station_user(station_id))
            sys.stdout.write(f"{station_id}\t{'; '.join(grants) or 'no ACLs'}\n")


@app.command("init")
def init(
    app_id: str = typer.Option("gaitstream-pipeline", help="The pipeline's Faust app id (its changelogs, group)"),
    dispatcher_group: str = typer.Option("gaitstream-alerts-dispatcher", help="The dispatcher's consumer group"),
    passwords_dir: Path = typer.Option(
        ...,
        help="Directory with kafka_<role>_password files: pipeline, sink, dispatcher, feedback, report "
        "(simulator optional)",
    ),
) -> None:
    """Create the deployment's role users with the passwords in ``passwords_dir`` and their ACLs
    (idempotent: compose's kafka-access service runs it at every start)."""
    from gaitstream.access.admin import AccessAdmin
    from gaitstream.access.principals import (
        DISPATCHER_USER,
        FEEDBACK_USER,
        PIPELINE_USER,
        REPORT_USER,
        SIMULATOR_USER,
        SINK_USER,
        dispatcher_grants,
        feedback_grants,
        pipeline_grants,
        report_grants,
        sink_grants,
        station_grants,
    )
    from gaitstream.settings import KafkaSettings, TopicSettings

    topics = TopicSettings()
    roles = {
        "pipeline": (PIPELINE_USER, pipeline_grants(topics, app_id)),
        "sink": (SINK_USER, sink_grants(topics, app_id)),
        "dispatcher": (DISPATCHER_USER, dispatcher_grants(topics, dispatcher_group)),
        "feedback": (FEEDBACK_USER, feedback_grants(topics)),
        "report": (REPORT_USER, report_grants(topics)),
        "simulator": (SIMULATOR_USER, station_grants(topics, SIMULATOR_USER)),
    }
    with AccessAdmin(KafkaSettings()) as admin:
        for role, (user, grants) in roles.items():
            password_file = passwords_dir / f"kafka_{role}_password"
            if not password_file.is_file():
                if role == "simulator":
                    continue
                _fail(f"no password file for role {role} in {passwords_dir}")
            admin.ensure_role(user, password_file.read_text().strip(), grants)
            emit("role_ready", role=role, user=user, acls=len(grants))


@app.command("tls-init")
def tls_init(
    directory: Path = typer.Option(..., "--dir", help="Where ca.crt and broker-keystore.pem go"),
    ca_key_dir: Path = typer.Option(..., help="Where the CA's private key goes (mounted by nothing else)"),
    host: list[str] = typer.Option(..., help="A name or address clients reach the broker by (repeat)"),
    owner: str | None = typer.Option(None, help="uid:gid the broker runs as (owner of its keystore)"),
) -> None:
    """Create the deployment's CA and the broker's certificate once (compose's kafka-tls service)."""
    from gaitstream.access.tls import create_tls_files

    keystore_owner = tuple(int(part) for part in owner.split(":")) if owner else None
    files = create_tls_files(directory, host, ca_key_directory=ca_key_dir, keystore_owner=keystore_owner)
    emit("tls_ready", ca=files.ca_cert, keystore=files.broker_keystore, hosts=",".join(host))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="access")
