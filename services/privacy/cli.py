"""``gaitstream patient export|forget`` and ``gaitstream retention enforce`` (as the operator:
Kafka's admin user, InfluxDB's operator token, the alert store's URL)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import typer

from gaitstream.logging import emit

patient_app = typer.Typer(help="Patients' rights: everything held about a pseudonym, exported or erased.")
retention_app = typer.Typer(help="Delete what is older than each data kind's retention.")


def _context():
    from gaitstream.services.alerts.settings import AlertServiceSettings
    from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
    from gaitstream.services.privacy.settings import PrivacySettings
    from gaitstream.settings import InfluxSettings, KafkaSettings, TopicSettings

    alerts = AlertServiceSettings()
    sessions = make_sessionmaker(make_engine(alerts.database_url)) if alerts.database_url else None
    return KafkaSettings(), TopicSettings(), PrivacySettings().app_id, InfluxSettings(), sessions


def _patient(clinic: str, pseudonym: str) -> tuple[str, str]:
    """The clinic and the pseudonym, checked: a pseudonym names a patient only within its clinic."""
    from gaitstream.services.privacy.settings import check_clinic, check_pseudonym

    try:
        return check_clinic(clinic), check_pseudonym(pseudonym)
    except ValueError as exc:
        emit("patient_refused", reason=str(exc))
        raise typer.Exit(2) from exc


ClinicOpt = typer.Option(
    ..., "--clinic", help="The patient's clinic (required: the same pseudonym may be another person elsewhere)"
)


@patient_app.command("export")
def export(
    pseudonym: str = typer.Argument(..., help="The patient's pseudonym"),
    clinic: str = ClinicOpt,
    out: Path = typer.Option(..., help="Directory for the files (created; must be empty)"),
) -> None:
    """Write everything held about the clinic's patient: InfluxDB points per measurement (CSV),
    compacted Kafka records and alert-store rows (JSON), and a manifest with counts and SHA-256 per
    file. Nothing of another clinic's patient of the same pseudonym."""
    from gaitstream.services.privacy import influx, kafka, store

    clinic, pseudonym = _patient(clinic, pseudonym)
    key = _audit_key()
    kafka_settings, topics, app_id, influx_settings, sessions = _context()
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        emit("patient_export_refused", reason="output directory is not empty", out=out)
        raise typer.Exit(2)
    emit("patient_export_step", step="influxdb")
    counts = {f"influxdb-{m}.csv": n for m, n in influx.export_points(influx_settings, clinic, pseudonym, out).items()}
    emit("patient_export_step", step="kafka")
    held = kafka.held_records(kafka_settings, topics, app_id, clinic, pseudonym)
    (out / "kafka-records.json").write_text(json.dumps([kafka.exported(r) for r in held], indent=2, default=str))
    counts["kafka-records.json"] = len(held)
    if sessions is not None:
        emit("patient_export_step", step="alert_store")
        rows = store.export_rows(sessions, clinic, pseudonym)
        (out / "alert-store.json").write_text(json.dumps(rows, indent=2, default=str))
        counts["alert-store.json"] = sum(len(v) for v in rows.values())
    manifest = {
        "clinic": clinic,
        "pseudonym": pseudonym,
        "files": {
            name: {"records": n, "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest()}
            for name, n in counts.items()
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    _audit(kafka_settings, topics, "export", clinic, pseudonym, counts, key)
    emit("patient_exported", out=out, **{k.replace("-", "_").replace(".", "_"): v for k, v in counts.items()})


@patient_app.command("forget")
def forget(
    pseudonym: str = typer.Argument(..., help="The patient's pseudonym"),
    clinic: str = ClinicOpt,
    yes: bool = typer.Option(False, "--yes", help="Do it (without: only count what would be erased)"),
) -> None:
    """Erase the clinic's patient from InfluxDB (every point, all time), the compacted topics
    (tombstones) and the alert store; an audit entry (counts, the clinic, a SHA-256 of the
    patient) is all that remains. Another clinic's patient of the same pseudonym keeps everything."""
    from gaitstream.services.privacy import influx, kafka, store

    clinic, pseudonym = _patient(clinic, pseudonym)
    key = _audit_key()
    kafka_settings, topics, app_id, influx_settings, sessions = _context()
    values = influx.count_values(influx_settings, clinic, pseudonym)
    held = kafka.held_records(kafka_settings, topics, app_id, clinic, pseudonym)
    counts = {"influxdb_field_values": values, "kafka_records": len(held)}
    if not yes:
        emit("patient_forget_dry_run", clinic=clinic, pseudonym=pseudonym, **counts, hint="add --yes to erase")
        return
    influx.delete_points(influx_settings, clinic, pseudonym)
    kafka.tombstone(kafka_settings, held)
    if sessions is not None:
        counts.update({f"store_{k}": v for k, v in store.delete_rows(sessions, clinic, pseudonym).items()})
    _audit(kafka_settings, topics, "forget", clinic, pseudonym, counts, key)
    emit("patient_forgotten", clinic=clinic, pseudonym=pseudonym, **counts)


def _audit_key() -> bytes:
    """The audit's key, checked before anything is read or erased (a missing key stops the command)."""
    from gaitstream.services.privacy.settings import AuditKeySettings

    try:
        return AuditKeySettings().key()
    except ValueError as exc:
        emit("patient_refused", reason=str(exc))
        raise typer.Exit(2) from exc


def _audit(
    kafka_settings, topics, action: str, clinic: str, pseudonym: str, counts: dict[str, int], key: bytes
) -> None:
    from gaitstream.services.privacy import audit

    actor = kafka_settings.username or "unknown"
    audit.record(kafka_settings, topics, audit.entry(action, clinic, pseudonym, actor, counts, key=key))


@retention_app.command("enforce")
def enforce() -> None:
    """One pass: InfluxDB points past each measurement's retention, alert-store rows past theirs,
    and retention.ms on the pipeline's non-compacted topics."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from gaitstream.services.privacy import influx, store
    from gaitstream.services.privacy.settings import RetentionSettings

    retention = RetentionSettings()
    kafka_settings, topics, _app_id, influx_settings, sessions = _context()
    for measurement, days in retention.measurements().items():
        cutoff = influx.delete_older(influx_settings, measurement, days)
        emit("retention_enforced", store="influxdb", kind=measurement, days=days, before=cutoff)
    if sessions is not None:
        purged = store.purge_older(sessions, retention.alert_store_days, audit_days=retention.audit_days)
        emit("retention_enforced", store="alert_store", days=retention.alert_store_days, **purged)
    ms = str(int(retention.topics_days * 86_400_000))
    admin = KafkaAdminClient(**kafka_settings.client_config())
    try:
        names = [
            t
            for t in (topics.stations, topics.steps, topics.status, topics.trace, topics.alerts)
            if t in admin.list_topics()
        ]
        names_dl = [topics.deadletter] if topics.deadletter in admin.list_topics() else []
        dl_ms = str(int(retention.dead_letters_days * 86_400_000))
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, configs={"retention.ms": ms}) for n in names]
            + [ConfigResource(ConfigResourceType.TOPIC, n, configs={"retention.ms": dl_ms}) for n in names_dl]
        )
    finally:
        admin.close()
    emit("retention_enforced", store="kafka", topics=",".join(names + names_dl), days=retention.topics_days)


def register(root: typer.Typer) -> None:
    root.add_typer(patient_app, name="patient")
    root.add_typer(retention_app, name="retention")
