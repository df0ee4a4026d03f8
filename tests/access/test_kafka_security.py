"""The real broker with SASL_SSL and ACLs: who gets in, and what each principal may do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from gaitstream.settings import KafkaSettings, TopicSettings
from gaitstream.topics import delete_topics_with_prefix, ensure_alert_topics
from tests.roles import forget_prefix

REPO = Path(__file__).resolve().parents[2]
# How long a refused client may take to say so (connection, TLS, SASL and one metadata round).
REFUSAL_TIMEOUT_MS = 8000
# How long a refused producer waits for metadata it will never get, and a refused reader polls.
REFUSED_WAIT_MS = 3000


@pytest.fixture()
def topics(kafka_settings):
    topics = TopicSettings(prefix=f"it.sec{uuid.uuid4().hex[:6]}", partitions=2)
    ensure_alert_topics(kafka_settings, topics)
    yield topics
    delete_topics_with_prefix(kafka_settings, topics.prefix)
    forget_prefix(topics.prefix)


def _access(kafka_settings: KafkaSettings, topics: TopicSettings, *args: str) -> subprocess.CompletedProcess:
    """``gaitstream access ...`` as the operator (the admin user), as a clinic runs it."""
    from tests.roles import settings_env

    env = {**os.environ, **settings_env(kafka_settings), "GAITSTREAM_TOPIC_PREFIX": topics.prefix}
    return subprocess.run(
        [sys.executable, "-m", "gaitstream", "access", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _station_settings(output: str, kafka_settings: KafkaSettings) -> tuple[KafkaSettings, dict[str, str]]:
    import shlex

    values = {}
    for line in output.splitlines():
        if line.startswith("GAITSTREAM_") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = shlex.split(value)[0]
    settings = KafkaSettings(
        bootstrap=values["GAITSTREAM_KAFKA_BOOTSTRAP"],
        username=values["GAITSTREAM_KAFKA_USERNAME"],
        password=values["GAITSTREAM_KAFKA_PASSWORD"],
        ca_file=kafka_settings.ca_file,
    )
    return settings, values


def _produce(
    settings: KafkaSettings, topic: str, *, key: bytes = b"k", value: bytes = b"v", partition: int | None = None
) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**settings.client_config(), acks="all", max_block_ms=REFUSED_WAIT_MS)
    try:
        producer.send(topic, key=key, value=value, partition=partition).get(timeout=REFUSAL_TIMEOUT_MS / 1000)
    finally:
        producer.close(timeout=2)


def _read(settings: KafkaSettings, topic: str, wait_ms: int = REFUSAL_TIMEOUT_MS) -> list:
    """The records of ``topic``'s partitions, as far as ``settings``' user may read them: none
    when it may not (the broker answers TOPIC_AUTHORIZATION_FAILED: raised or only logged by
    kafka-python, depending on the request)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import TopicAuthorizationFailedError

    consumer = KafkaConsumer(**settings.client_config(), group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(2)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list = []
        deadline = time.monotonic() + wait_ms / 1000
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
            if out:
                break
        return out
    except TopicAuthorizationFailedError:
        return []
    finally:
        consumer.close()


def _fill(kafka_settings: KafkaSettings, topics: TopicSettings) -> None:
    """One record in each partition of every topic, so that reading nothing means refused."""
    for topic in (topics.stations, topics.alerts, topics.steps, topics.session_history, topics.alert_settings):
        for partition in range(2):
            _produce(kafka_settings, topic, value=b"held", partition=partition)


def test_a_plaintext_client_is_refused(kafka_settings) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers, bootstrap_timeout_ms=REFUSAL_TIMEOUT_MS)


def test_tls_without_sasl_is_refused(kafka_settings) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    with pytest.raises(KafkaError):
        KafkaAdminClient(
            bootstrap_servers=kafka_settings.bootstrap_servers,
            security_protocol="SSL",
            ssl_context=kafka_settings.ssl_context(),
            bootstrap_timeout_ms=REFUSAL_TIMEOUT_MS,
        )


def test_a_wrong_password_is_refused(kafka_settings) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    wrong = kafka_settings.model_copy(update={"password": None, "password_file": None})
    wrong = KafkaSettings(**{**wrong.model_dump(), "password": "not-the-password"})
    with pytest.raises(KafkaError):
        KafkaAdminClient(**wrong.client_config(), bootstrap_timeout_ms=REFUSAL_TIMEOUT_MS)


def test_a_client_that_does_not_trust_the_clinic_ca_does_not_connect(kafka_settings, tmp_path) -> None:
    """The broker's certificate is checked: another CA's clients refuse it (no blind TLS)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from gaitstream.access.tls import create_tls_files

    other = create_tls_files(tmp_path / "other", ["127.0.0.1"])
    stranger = kafka_settings.model_copy(update={"ca_file": other.ca_cert})
    with pytest.raises(KafkaError):
        KafkaAdminClient(**stranger.client_config(), bootstrap_timeout_ms=REFUSAL_TIMEOUT_MS)


def test_a_station_writes_its_frames_and_nothing_else(kafka_settings, topics) -> None:
    from kafka.errors import KafkaError

    station_id = f"st-{uuid.uuid4().hex[:6]}"
    added = _access(kafka_settings, topics, "station", "add", station_id, "--clinic", "clinic-a")
    assert added.returncode == 0, added.stderr
    station, values = _station_settings(added.stdout, kafka_settings)
    assert values["GAITSTREAM_KAFKA_USERNAME"] == f"station-{station_id}"
    assert len(bytes.fromhex(values["GAITSTREAM_STATION_SIGNING_KEY"])) == 32
    assert "BEGIN CERTIFICATE" in added.stdout  # the CA the station must trust
    assert values["GAITSTREAM_KAFKA_PASSWORD"] not in added.stderr  # the log line carries no secret

    _produce(station, topics.stations, key=station_id.encode())
    for topic in (topics.alerts, topics.alert_settings, topics.session_history, topics.steps, topics.deadletter):
        with pytest.raises(KafkaError):
            _produce(station, topic)
    _fill(kafka_settings, topics)
    for topic in (topics.stations, topics.alerts, topics.steps, topics.session_history, topics.alert_settings):
        assert _read(kafka_settings, topic), topic  # the operator reads it
        assert _read(station, topic, wait_ms=REFUSED_WAIT_MS) == [], topic  # the station reads nothing
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**station.client_config())
    try:
        assert set(admin.list_topics()) <= {topics.stations}  # it cannot even see the others
        with pytest.raises(KafkaError):
            admin.delete_topics([topics.alerts])
    finally:
        admin.close()
    assert topics.alerts in KafkaAdminClient(**kafka_settings.client_config()).list_topics()

    listed = _access(kafka_settings, topics, "station", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith(station_id + "\t"))
    assert line == f"{station_id}\tDESCRIBE TOPIC:{topics.stations} (literal); WRITE TOPIC:{topics.stations} (literal)"
    assert _access(kafka_settings, topics, "station", "revoke", station_id).returncode == 0


def test_a_revoked_station_is_refused_within_a_minute(kafka_settings, topics) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    station_id = f"st-{uuid.uuid4().hex[:6]}"
    added = _access(kafka_settings, topics, "station", "add", station_id, "--clinic", "clinic-a")
    assert added.returncode == 0, added.stderr
    station, _ = _station_settings(added.stdout, kafka_settings)
    # A producer that stays connected across the revocation, as a running station would.
    producer = KafkaProducer(**station.client_config(), acks="all", retries=0, max_block_ms=REFUSAL_TIMEOUT_MS)
    try:
        producer.send(topics.stations, key=station_id.encode(), value=b"before").get(timeout=10)
        revoked = _access(kafka_settings, topics, "station", "revoke", station_id)
        assert revoked.returncode == 0, revoked.stderr
        started = time.monotonic()
        refused_after_s = None
        while time.monotonic() - started < 60:
            try:
                producer.send(topics.stations, key=station_id.encode(), value=b"after").get(timeout=10)
            except KafkaError:
                refused_after_s = time.monotonic() - started
                break
            time.sleep(1.0)
        assert refused_after_s is not None, "the revoked station could still write after 60 s"
        print(f"revoked_station_refused_after_s={refused_after_s:.1f}")
    finally:
        producer.close(timeout=2)
    with pytest.raises(KafkaError):  # and a new connection does not authenticate at all
        _produce(station, topics.stations, key=station_id.encode())
    listed = _access(kafka_settings, topics, "station", "list")
    assert station_id not in listed.stdout


def test_roles_read_and_write_only_what_their_job_needs(kafka_settings, topics) -> None:
    """The dispatcher reads alerts and cannot write them; the sink reads outputs and cannot
    write frames; the reports read the steps and write nothing; the pipeline cannot delete topics."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from tests.roles import role_settings

    _fill(kafka_settings, topics)
    dispatcher = role_settings("dispatcher", topics.prefix)
    assert _read(dispatcher, topics.alerts)
    with pytest.raises(KafkaError):
        _produce(dispatcher, topics.alerts)
    assert _read(dispatcher, topics.stations, wait_ms=REFUSED_WAIT_MS) == []
    sink = role_settings("sink", topics.prefix)
    assert _read(sink, topics.steps)
    assert _read(sink, topics.stations, wait_ms=REFUSED_WAIT_MS) == []
    with pytest.raises(KafkaError):
        _produce(sink, topics.stations)
    report = role_settings("report", topics.prefix)
    assert _read(report, topics.steps)
    assert _read(report, topics.stations, wait_ms=REFUSED_WAIT_MS) == []
    with pytest.raises(KafkaError):
        _produce(report, topics.steps)
    pipeline = role_settings("pipeline", topics.prefix)
    admin = KafkaAdminClient(**pipeline.client_config())
    try:
        with pytest.raises(KafkaError):
            admin.delete_topics([topics.stations])
    finally:
        admin.close()
