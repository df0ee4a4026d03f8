"""Provisioning files have Grafana's documented shape and every reference resolves: data source
uid, dashboard folder, rule group folder, contact point, environment variables, compose mounts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gaitstream.grafana import alerts, dashboards, provisioning
from gaitstream.grafana.settings import DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"
EXPRESSION_TYPES = {"reduce", "threshold", "math", "resample", "classic_conditions"}
DURATION = re.compile(r"^\d+[smh]$")


def _load(relative: str) -> dict:
    return yaml.safe_load((PROVISIONING / relative).read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def alerting() -> dict:
    return _load("alerting/gaitstream.yaml")


def test_committed_alerting_file_is_what_the_generator_writes() -> None:
    for name, text in provisioning.render().items():
        path = PROVISIONING / "alerting" / name
        assert path.read_text() == text, f"{name} is stale: run `gaitstream grafana build` and commit"
    assert {p.name for p in (PROVISIONING / "alerting").iterdir()} == set(provisioning.render())


def test_datasource_is_influxql_with_the_uid_everything_references() -> None:
    doc = _load("datasources/influxdb.yaml")
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert {"name", "type", "uid", "access", "url"} <= set(ds)
    assert ds["uid"] == DATASOURCE_UID and ds["type"] == "influxdb" and ds["access"] == "proxy"
    assert ds["jsonData"]["version"] == "InfluxQL" and ds["jsonData"]["dbName"]
    # The secret comes from the environment, never from the file.
    assert ds["basicAuth"] is True
    assert re.fullmatch(r"\$\{[A-Z_]+\}", ds["secureJsonData"]["basicAuthPassword"])


def test_dashboard_provider_loads_the_generated_files_into_the_folder(compose: dict) -> None:
    doc = _load("dashboards/gaitstream.yaml")
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file" and provider["folder"] == FOLDER_TITLE and provider["folderUid"] == FOLDER_UID
    mounts = dict(v.split(":")[:2][::-1] for v in compose["services"]["grafana"]["volumes"])
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert set(dashboards.render_all()) <= {p.name for p in (REPO / "deploy/grafana/dashboards").glob("*.json")}


def test_every_environment_variable_of_the_provisioning_is_set_by_compose(compose: dict) -> None:
    env = compose["services"]["grafana"]["environment"]
    for path in PROVISIONING.rglob("*.yaml"):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text):
            assert name in env, f"{path.name} uses ${{{name}}}, which the grafana service does not set"


def test_rule_groups_have_the_documented_shape_and_resolve(alerting: dict) -> None:
    assert alerting["apiVersion"] == 1
    (group,) = alerting["groups"]
    assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
    assert group["folder"] == _load("dashboards/gaitstream.yaml")["providers"][0]["folder"]
    assert DURATION.match(group["interval"])
    uids = [rule["uid"] for rule in group["rules"]]
    assert len(uids) == len(set(uids)) and all(len(uid) <= 40 for uid in uids)
    for rule in group["rules"]:
        assert {"uid", "title", "condition", "data", "for", "noDataState", "execErrState"} <= set(rule)
        ref_ids = [d["refId"] for d in rule["data"]]
        assert rule["condition"] in ref_ids
        for item in rule["data"]:
            if item["datasourceUid"] == alerts.EXPRESSION_UID:
                assert item["model"]["type"] in EXPRESSION_TYPES
                # reduce/threshold name one input; math refers to inputs as $X inside its formula.
                refs = (
                    re.findall(r"\$([A-Z])\b", item["model"]["expression"])
                    if item["model"]["type"] == "math"
                    else [item["model"]["expression"]]
                )
                assert refs and set(refs) <= set(ref_ids) - {item["refId"]}, item
            else:
                assert item["datasourceUid"] == DATASOURCE_UID
                assert item["relativeTimeRange"]["from"] > 0 and "$timeFilter" in item["model"]["query"]
        # The pending period outlasts at least two evaluations: one noisy evaluation never fires.
        assert int(rule["for"][:-1]) >= 2 * int(group["interval"][:-1])
        assert rule["labels"][alerts.ROUTE_LABEL[0]] == alerts.ROUTE_LABEL[1]
        assert rule["noDataState"] in {"OK", "NoData", "Alerting", "KeepLast"}
        # Labels are expanded from the environment by Grafana: they must hold no "$".
        assert "$" not in str(rule["labels"])


def test_contact_point_from_environment_and_policy_grouped_by_clinic(alerting: dict, compose: dict) -> None:
    (point,) = alerting["contactPoints"]
    (receiver,) = point["receivers"]
    assert receiver["type"] == "webhook"
    assert receiver["settings"]["url"] == "${" + provisioning.WEBHOOK_URL_ENV + "}"
    assert provisioning.WEBHOOK_URL_ENV in compose["services"]["grafana"]["environment"]
    (policy,) = alerting["policies"]
    names = {p["name"] for p in alerting["contactPoints"]}
    assert policy["receiver"] in names
    (route,) = policy["routes"]
    assert route["receiver"] in names and "clinic" in route["group_by"]
    assert route["object_matchers"] == [[alerts.ROUTE_LABEL[0], "=", alerts.ROUTE_LABEL[1]]]


def test_grafana_starts_after_the_influxdb_init_service(compose: dict) -> None:
    services = compose["services"]
    assert services["grafana"]["depends_on"]["influxdb-init"]["condition"] == "service_healthy"
    init = services["influxdb-init"]
    assert init["image"] == services["influxdb"]["image"]
    # It runs deploy/influxdb/init.sh (the local stack runs the same script: tests/stack), which
    # maps the bucket for InfluxQL and gives Grafana a read-only login.
    assert "sh /gaitstream/init.sh" in init["command"][0]
    assert any(v.startswith("./deploy/influxdb/init.sh:/gaitstream/init.sh") for v in init["volumes"])
    script = (REPO / "deploy" / "influxdb" / "init.sh").read_text()
    assert "/api/v2/dbrps" in script and '\\"action\\":\\"read\\"' in script
    # The read-only credential Grafana uses is the one the init service creates.
    assert init["environment"]["GRAFANA_PASSWORD"].startswith("${GRAFANA_INFLUXDB_TOKEN:?")
    assert services["grafana"]["environment"]["GRAFANA_INFLUXDB_TOKEN"].startswith("${GRAFANA_INFLUXDB_TOKEN:?")
