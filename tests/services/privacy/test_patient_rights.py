"""Patients' rights on the real servers: InfluxDB (operator token), Kafka over SASL_SSL (the admin)
and the alert store on PostgreSQL. ``gaitstream patient export --clinic C`` writes everything held
about the clinic's pseudonym; ``forget`` leaves no point, record or row of it, and another patient
keeps all of theirs: another of the same clinic, and the same pseudonym in another clinic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gaitstream.services.alerts.store.db import make_engine, make_sessionmaker
from gaitstream.services.alerts.store.migrate import upgrade_database
from gaitstream.settings import TopicSettings
from gaitstream.topics import delete_topics_with_prefix, ensure_alert_topics, read_latest, write
from tests.postgres import create_database
from tests.roles import settings_env

REPO = Path(__file__).resolve().parents[3]
STEPS = 40
AUDIT_KEY = "audit-key-of-this-deployment"


@pytest.fixture()
def store_url(postgres_server: str) -> str:
    url = create_database(postgres_server, f"privacy_{uuid.uuid4().hex[:10]}")
    upgrade_database(url)
    return url


@pytest.fixture()
def world(kafka_settings, influx_settings, store_url):
    """Three patients with data in every store, under a run's own topic prefix and app id: two of
    clinic c1, and a third in clinic c2 with the same pseudonym as the first (pseudonyms are unique
    per clinic only)."""
    run = uuid.uuid4().hex[:8]
    topics = TopicSettings(prefix=f"it.priv{run}", partitions=2)
    app_id = f"it.priv{run}-app"
    changelog = f"{app_id}-station-state-changelog"
    ensure_alert_topics(kafka_settings, topics)
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(**kafka_settings.client_config())
    admin.create_topics([NewTopic(changelog, 2, 1, topic_configs={"cleanup.policy": "compact"})])
    admin.close()
    patients = {"mine": f"p-{run}-a", "other": f"p-{run}-b", "twin": f"p-{run}-a"}
    clinics = {"mine": "c1", "other": "c1", "twin": "c2"}
    now_s = time.time()
    lines = []
    for n, (who, patient) in enumerate(patients.items()):
        clinic = clinics[who]
        for i in range(STEPS):
            t_ns = int((now_s - 600 + i) * 1e9) + n
            lines.append(
                f"gait_step,clinic={clinic},patient={patient},session=s-{who},side=left,station=st-{who} "
                f"pelvic_drop_deg={1 + i / 10},step_index={i}i {t_ns}"
            )
        lines.append(
            f"gait_status,clinic={clinic},patient={patient},session=s-{who},station=st-{who} cadence_spm=100 {t_ns}"
        )
    resp = httpx.post(
        f"{influx_settings.url}/api/v2/write",
        params={"org": influx_settings.org, "bucket": influx_settings.bucket},
        content="\n".join(lines).encode(),
        headers={"Authorization": f"Token {influx_settings.token.get_secret_value()}"},
    )
    assert resp.status_code == 204, resp.text
    for who, patient in patients.items():
        clinic = clinics[who]
        write(kafka_settings, topics.session_history, f"{clinic}/{patient}", f"history of {who}".encode())
        write(kafka_settings, topics.alert_settings, f"patient/{clinic}/{patient}", f"settings of {who}".encode())
        checkpoint = {"session": {"patient_id": patient, "clinic_id": clinic}, "samples": [1, 2, 3]}
        write(kafka_settings, changelog, json.dumps(f"st-{who}"), json.dumps(checkpoint).encode())
    _store_rows(store_url, patients, clinics)
    env = {
        **os.environ,
        **settings_env(kafka_settings),
        "GAITSTREAM_TOPIC_PREFIX": topics.prefix,
        "GAITSTREAM_PIPELINE_APP_ID": app_id,
        "GAITSTREAM_INFLUX_URL": influx_settings.url,
        "GAITSTREAM_INFLUX_TOKEN": influx_settings.token.get_secret_value(),
        "GAITSTREAM_INFLUX_ORG": influx_settings.org,
        "GAITSTREAM_INFLUX_BUCKET": influx_settings.bucket,
        "GAITSTREAM_ALERTS_DATABASE_URL": store_url,
        "GAITSTREAM_PRIVACY_AUDIT_KEY": AUDIT_KEY,
    }
    yield {
        "topics": topics,
        "changelog": changelog,
        "patients": patients,
        "clinics": clinics,
        "env": env,
        "store_url": store_url,
    }
    delete_topics_with_prefix(kafka_settings, topics.prefix)


def _store_rows(store_url: str, patients: dict[str, str], clinics: dict[str, str]) -> None:
    from gaitstream.services.alerts.store.models import (
        Alert,
        AuditEntry,
        Delivery,
        Mute,
        ProgrammeRevision,
        Subscription,
        Supervisor,
    )

    now = datetime.now(UTC).replace(tzinfo=None)
    sessions = make_sessionmaker(make_engine(store_url))
    with sessions.begin() as session:
        supervisor = Supervisor(name="sam", email="sam@clinic.example", created_at=now)
        session.add(supervisor)
        session.flush()
        for who, patient in patients.items():
            sub = Subscription(
                supervisor_id=supervisor.id,
                clinic_id=clinics[who],
                patient_id=patient,
                channel="email",
                target="sam@clinic.example",
                created_at=now,
                updated_at=now,
            )
            session.add(sub)
            session.flush()
            alert = Alert(
                alert_id=f"a-{clinics[who]}-{patient}",
                state="open",
                kind="pelvic_drop",
                severity="warning",
                clinic_id=clinics[who],
                station_id=f"st-{who}",
                session_id=f"s-{who}",
                patient_id=patient,
                message="drop",
                opened_at_us=int(time.time() * 1e6),
                received_at=now,
            )
            session.add(alert)
            session.flush()
            session.add(Delivery(alert_id=alert.alert_id, subscription_id=sub.id, state_change="open", created_at=now))
            session.add(
                ProgrammeRevision(
                    clinic_id=clinics[who],
                    patient_id=patient,
                    revision=1,
                    phase="activation",
                    sides=["left"],
                    target_pelvic_drop_deg=5.0,
                    exercises=[],
                    note=f"therapist's note on {who}",
                    source="therapist",
                    author="key:abc",
                    created_at=now,
                )
            )
            session.add(
                AuditEntry(
                    at=now,
                    actor="key:abc",
                    action="PUT /v1/clinics/{clinic_id}/patients/{patient_id}/programme",
                    object_type="programme",
                    object_id=f"clinic_id={clinics[who]},patient_id={patient}",
                    outcome="ok",
                    status_code=200,
                )
            )
            session.add(
                Mute(
                    supervisor_id=supervisor.id,
                    clinic_id=clinics[who],
                    patient_id=patient,
                    until=now + timedelta(hours=1),
                    created_at=now,
                )
            )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gaitstream", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def _influx_count(influx_settings, patient: str, clinic: str = "c1") -> int:
    resp = httpx.post(
        f"{influx_settings.url}/query",
        data={
            "db": influx_settings.database,
            "q": f"SELECT COUNT(pelvic_drop_deg) FROM gait_step WHERE patient = '{patient}' AND clinic = '{clinic}'",
        },
        headers={"Authorization": f"Token {influx_settings.token.get_secret_value()}"},
    )
    series = resp.json()["results"][0].get("series")
    return series[0]["values"][0][1] if series else 0


def _store_counts(store_url: str, patient: str, clinic: str = "c1") -> dict[str, int]:
    from sqlalchemy import func, select

    from gaitstream.services.alerts.store.models import (
        Alert,
        AuditEntry,
        Delivery,
        Mute,
        ProgrammeRevision,
        Subscription,
    )

    sessions = make_sessionmaker(make_engine(store_url))
    with sessions() as session:
        return {
            "alerts": session.scalar(
                select(func.count()).select_from(Alert).where(Alert.patient_id == patient, Alert.clinic_id == clinic)
            ),
            "deliveries": session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.alert_id == f"a-{clinic}-{patient}")
            ),
            "subscriptions": session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.patient_id == patient, Subscription.clinic_id == clinic)
            ),
            "mutes": session.scalar(
                select(func.count()).select_from(Mute).where(Mute.patient_id == patient, Mute.clinic_id == clinic)
            ),
            "revisions": session.scalar(
                select(func.count())
                .select_from(ProgrammeRevision)
                .where(ProgrammeRevision.patient_id == patient, ProgrammeRevision.clinic_id == clinic)
            ),
            "audit": session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.object_id == f"clinic_id={clinic},patient_id={patient}")
            ),
        }


def test_export_holds_everything_and_forget_leaves_nothing_of_the_patient(
    world, kafka_settings, influx_settings, tmp_path
) -> None:
    mine, other = world["patients"]["mine"], world["patients"]["other"]
    env, topics = world["env"], world["topics"]
    assert _influx_count(influx_settings, mine) == STEPS == _influx_count(influx_settings, mine, "c2")

    refused = _cli(env, "patient", "export", mine, "--out", str(tmp_path / "nowhere"))
    assert refused.returncode == 2 and "--clinic" in refused.stderr  # a pseudonym alone names nobody
    keyless = {k: v for k, v in env.items() if k != "GAITSTREAM_PRIVACY_AUDIT_KEY"}
    refused = _cli(keyless, "patient", "forget", mine, "--clinic", "c1", "--yes")
    assert refused.returncode == 2 and "GAITSTREAM_PRIVACY_AUDIT_KEY" in refused.stderr
    assert _influx_count(influx_settings, mine) == STEPS  # nothing erased without the audit's key

    out = tmp_path / "export"
    exported = _cli(env, "patient", "export", mine, "--clinic", "c1", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    # Every step InfluxDB had, and nothing of the other patient.
    assert manifest["files"]["influxdb-gait_step.csv"]["records"] == STEPS == _influx_count(influx_settings, mine)
    step_csv = (out / "influxdb-gait_step.csv").read_text()
    assert step_csv.count(mine) == STEPS and other not in step_csv
    assert manifest["files"]["influxdb-gait_status.csv"]["records"] == 1  # not the twin's of c2
    assert "c2" not in step_csv and manifest["clinic"] == "c1"
    records = json.loads((out / "kafka-records.json").read_text())
    assert {(r["topic"], r["key"]) for r in records} == {
        (topics.session_history, f"c1/{mine}"),
        (topics.alert_settings, f"patient/c1/{mine}"),
        (world["changelog"], '"st-mine"'),
    }
    store = json.loads((out / "alert-store.json").read_text())
    kinds = ("alerts", "deliveries", "subscriptions", "mutes", "programme_revisions", "audit")
    assert [len(store[k]) for k in kinds] == [1, 1, 1, 1, 1, 1]
    assert store["programme_revisions"][0]["note"] == "therapist's note on mine"  # the therapist's words too
    assert store["audit"][0]["object_id"] == f"clinic_id=c1,patient_id={mine}"
    assert "webhook_secret" not in store["subscriptions"][0]

    dry = _cli(env, "patient", "forget", mine, "--clinic", "c1")
    assert dry.returncode == 0 and "patient_forget_dry_run" in dry.stderr
    assert _influx_count(influx_settings, mine) == STEPS  # a dry run erases nothing

    forgot = _cli(env, "patient", "forget", mine, "--clinic", "c1", "--yes")
    assert forgot.returncode == 0, forgot.stderr
    assert _influx_count(influx_settings, mine) == 0
    assert _influx_count(influx_settings, other) == STEPS
    assert _influx_count(influx_settings, mine, "c2") == STEPS  # the same pseudonym in clinic c2: whole
    for topic in (topics.session_history, topics.alert_settings, world["changelog"]):
        latest = read_latest(kafka_settings, topic)
        assert not any(f"c1/{mine}" in key or b"history of mine" == value for key, value in latest.items()), topic
        assert any(other in key or other.encode() in value for key, value in latest.items()), topic
        assert any(f"c2/{mine}" in key or b'"clinic_id": "c2"' in value for key, value in latest.items()), topic
    # the checkpoints left: "other" of c1 and the twin of c2 ("mine" of c1 tombstoned)
    left = read_latest(kafka_settings, world["changelog"]).values()
    assert sorted((c["clinic_id"], c["patient_id"]) for c in (json.loads(v)["session"] for v in left)) == [
        ("c1", other),
        ("c2", mine),
    ]
    none = {"alerts": 0, "deliveries": 0, "subscriptions": 0, "mutes": 0, "revisions": 0, "audit": 0}
    one = {"alerts": 1, "deliveries": 1, "subscriptions": 1, "mutes": 1, "revisions": 1, "audit": 1}
    assert _store_counts(world["store_url"], mine) == none
    assert _store_counts(world["store_url"], other) == one
    assert _store_counts(world["store_url"], mine, "c2") == one
    # the audit keeps what was done to the erased patient's programme, not whose it was
    assert _store_counts(world["store_url"], "<erased>")["audit"] == 1

    # The audit keeps that it happened, by whom and how much, never the pseudonym itself, nor a plain
    # hash of it that guessed pseudonyms could be tested against: a keyed one.
    import hashlib
    import hmac

    audit = read_latest(kafka_settings, f"{topics.prefix}.privacy-audit.v1")
    entries = [json.loads(v) for v in audit.values()]
    plain = {hashlib.sha256(x.encode()).hexdigest() for x in (mine, f"c1/{mine}")}
    assert all(mine not in json.dumps(e) and not any(h in json.dumps(e) for h in plain) for e in entries)
    keyed = hmac.new(AUDIT_KEY.encode(), f"c1/{mine}".encode(), hashlib.sha256).hexdigest()
    forget_entry = next(e for e in entries if e["action"] == "forget")
    assert forget_entry["patient_hmac_sha256"] == keyed and forget_entry["clinic"] == "c1"
    # 40 steps of two fields each and one status of one field.
    assert forget_entry["actor"] == "admin" and forget_entry["counts"]["influxdb_field_values"] == 2 * STEPS + 1

    again = _cli(env, "patient", "forget", mine, "--clinic", "c1", "--yes")
    assert again.returncode == 0, again.stderr
    assert "influxdb_field_values=0 kafka_records=0" in again.stderr


def test_retention_deletes_points_older_than_their_kind_keeps(world, influx_settings) -> None:
    patient = world["patients"]["mine"]
    old_ns = int((time.time() - 40 * 86400) * 1e9)
    httpx.post(
        f"{influx_settings.url}/api/v2/write",
        params={"org": influx_settings.org, "bucket": influx_settings.bucket},
        content=f"pelvic_trace,clinic=c1,patient={patient},session=old,station=st pelvic_obliquity_deg=1 {old_ns}",
        headers={"Authorization": f"Token {influx_settings.token.get_secret_value()}"},
    ).raise_for_status()
    query = f"SELECT COUNT(pelvic_obliquity_deg) FROM pelvic_trace WHERE patient = '{patient}'"

    def traces() -> int:
        resp = httpx.post(
            f"{influx_settings.url}/query",
            data={"db": influx_settings.database, "q": query},
            headers={"Authorization": f"Token {influx_settings.token.get_secret_value()}"},
        )
        series = resp.json()["results"][0].get("series")
        return series[0]["values"][0][1] if series else 0

    assert traces() == 1
    enforced = _cli(world["env"], "retention", "enforce")
    assert enforced.returncode == 0, enforced.stderr
    assert traces() == 0  # 40 days old, the trace keeps 30
    assert _influx_count(influx_settings, patient) == STEPS  # steps of 10 minutes ago stay (a year)
    assert "store=kafka" in enforced.stderr and world["topics"].steps in enforced.stderr
