"""``gaitstream alerts admin``: first setup on the store itself (no running API, no admin
token: whoever can reach the database is the operator). Upgrades the store first."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated

import typer

from gaitstream.logging import emit

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="GAITSTREAM_ALERTS_DATABASE_URL",
        show_envvar=True,
        help="Store URL [default: the settings' store]",
    ),
]
ClinicsOpt = Annotated[list[str], typer.Option("--clinic", help="Clinic id in the key's scope (repeatable)")]


@contextmanager
def _session(database_url: str | None):
    from gaitstream.services.alerts.settings import AlertServiceSettings
    from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
    from gaitstream.services.alerts.store.migrate import upgrade_database

    url = database_url or AlertServiceSettings().resolved_database_url()
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _audit(session, action: str, object_type: str, object_id: str) -> None:
    """The change in the API's audit log, like the API's own: actor ``cli:<os user>``, the command as
    the action, the object; never a key or a secret. Committed with the change."""
    import getpass
    from datetime import UTC, datetime

    from gaitstream.services.alerts.store.models import AuditEntry

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's)
        user = "unknown"
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor=f"cli:{user}"[:64],
            action=f"CLI alerts admin {action}"[:128],
            object_type=object_type,
            object_id=object_id[:256],
            outcome="ok",
            status_code=0,
            client=None,
        )
    )


def _print_key(key: str) -> None:
    typer.echo(f"API key (shown once; only its hash is stored): {key}")


def add_supervisor(
    name: str,
    clinic: ClinicsOpt,
    email: Annotated[str | None, typer.Option(help="The supervisor's e-mail (informational)")] = None,
    database_url: DbOpt = None,
) -> None:
    """Add a supervisor and print a new API key scoped to the --clinic ids, once."""
    from gaitstream.services.alerts.api.schemas import check_email
    from gaitstream.services.alerts.store import accounts

    if email is not None:
        try:
            check_email(email)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--email") from error
    with _session(database_url) as session:
        supervisor = accounts.create_supervisor(session, name=name, email=email)
        try:
            issued = accounts.issue_key(session, supervisor_id=supervisor.id, clinics=clinic)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--clinic") from error
        _audit(session, "add-supervisor", "supervisors", f"supervisor_id={supervisor.id},key_id={issued.row.id}")
        session.commit()
        emit(
            "supervisor_added",
            id=supervisor.id,
            name=name,
            key_id=issued.row.id,
            prefix=issued.row.prefix,
            clinics=",".join(issued.row.clinics),
        )
        _print_key(issued.key)


def issue_key(supervisor_id: int, clinic: ClinicsOpt, database_url: DbOpt = None) -> None:
    """Issue another API key for a supervisor (e.g. a new scope, or before revoking the old one)."""
    from gaitstream.services.alerts.store import accounts

    with _session(database_url) as session:
        try:
            issued = accounts.issue_key(session, supervisor_id=supervisor_id, clinics=clinic)
        except accounts.UnknownSupervisor as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from error
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--clinic") from error
        _audit(session, "issue-key", "keys", f"supervisor_id={supervisor_id},key_id={issued.row.id}")
        session.commit()
        emit(
            "key_issued",
            supervisor_id=supervisor_id,
            key_id=issued.row.id,
            prefix=issued.row.prefix,
            clinics=",".join(issued.row.clinics),
        )
        _print_key(issued.key)


def revoke_key(key_id: int, database_url: DbOpt = None) -> None:
    """Revoke an API key: it is refused (401) from the next request on."""
    from gaitstream.services.alerts.store import accounts

    with _session(database_url) as session:
        row = accounts.revoke_key(session, key_id)
        if row is None:
            typer.echo(f"error: no API key with id {key_id}", err=True)
            raise typer.Exit(1)
        _audit(session, "revoke-key", "keys", f"key_id={key_id}")
        session.commit()
        emit("key_revoked", key_id=key_id, prefix=row.prefix, revoked_at=row.revoked_at.isoformat())


def list_supervisors(database_url: DbOpt = None) -> None:
    """Supervisors and their keys (prefixes and scopes; never the keys)."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import select

    from gaitstream.services.alerts.store.models import ApiKey, Supervisor

    table = Table(title="supervisors and API keys")
    for column in ("supervisor", "name", "email", "key id", "prefix", "clinics", "revoked_at"):
        table.add_column(column)
    with _session(database_url) as session:
        for supervisor in session.scalars(select(Supervisor).order_by(Supervisor.id)):
            keys = session.scalars(select(ApiKey).where(ApiKey.supervisor_id == supervisor.id).order_by(ApiKey.id))
            rows = list(keys) or [None]
            for key in rows:
                table.add_row(
                    str(supervisor.id),
                    supervisor.name,
                    supervisor.email or "",
                    *(
                        ("", "", "", "")
                        if key is None
                        else (
                            str(key.id),
                            key.prefix,
                            ",".join(key.clinics),
                            key.revoked_at.isoformat() if key.revoked_at else "",
                        )
                    ),
                )
    Console(width=160).print(table)


def clinic(
    clinic_id: str,
    allow_private_webhooks: Annotated[
        bool, typer.Option(help="Allow webhooks to loopback/private addresses (an on-premises receiver)")
    ] = False,
    digest_after: Annotated[int, typer.Option(min=1, help="Deliveries per subscription before a digest")] = 5,
    digest_window_s: Annotated[int, typer.Option(min=10, help="Digest window, seconds")] = 300,
    fallback_channel: Annotated[
        str | None, typer.Option(help="email, webhook or apprise: where open alerts escalate (with --fallback-target)")
    ] = None,
    fallback_target: Annotated[str | None, typer.Option(help="The fallback's address or URL")] = None,
    escalate_after_failures: Annotated[
        int, typer.Option(min=1, help="Failed attempts of one delivery before it escalates")
    ] = 3,
    database_url: DbOpt = None,
) -> None:
    """Set a clinic's dispatch settings (a webhook fallback's signing secret is printed once)."""
    from gaitstream.services.alerts.api.schemas import check_target
    from gaitstream.services.alerts.api.subscriptions import set_fallback
    from gaitstream.services.alerts.store.models import ClinicSettings

    if (fallback_channel is None) != (fallback_target is None):
        raise typer.BadParameter("--fallback-channel and --fallback-target go together")
    if fallback_channel is not None:
        if fallback_channel not in ("email", "webhook", "apprise"):
            raise typer.BadParameter(f"--fallback-channel must be email, webhook or apprise, not {fallback_channel}")
        try:
            check_target(fallback_channel, fallback_target)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    with _session(database_url) as session:
        row = session.get(ClinicSettings, clinic_id) or ClinicSettings(clinic_id=clinic_id)
        row.allow_private_webhooks = allow_private_webhooks
        row.digest_after, row.digest_window_s = digest_after, digest_window_s
        row.escalate_after_failures = escalate_after_failures
        secret = set_fallback(row, fallback_channel, fallback_target)
        session.merge(row)
        _audit(session, "clinic", "clinics", f"clinic_id={clinic_id}")
        session.commit()
    emit(
        "clinic_saved",
        clinic=clinic_id,
        allow_private_webhooks=allow_private_webhooks,
        digest_after=digest_after,
        digest_window_s=digest_window_s,
        fallback_channel=fallback_channel,
        escalate_after_failures=escalate_after_failures,
    )
    if secret:
        typer.echo(f"fallback webhook signing secret (shown once, store it with the receiver): {secret}")


def admin_app() -> typer.Typer:
    app = typer.Typer(
        help="First setup on the store itself: supervisors, API keys, clinic settings.", no_args_is_help=True
    )
    app.command("add-supervisor")(add_supervisor)
    app.command("issue-key")(issue_key)
    app.command("revoke-key")(revoke_key)
    app.command("list-supervisors")(list_supervisors)
    app.command("clinic")(clinic)
    return app
