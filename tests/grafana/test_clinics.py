"""``gaitstream grafana clinics sync`` against the recording Grafana of fake_grafana.py (a real
HTTP server on 127.0.0.1; grafana-client needs a live server): one organisation per clinic, its
data source, folder, clinic-fixed dashboards, team, folder permissions and supervisors; a second
sync changes nothing; and the clinic-fixed dashboards cannot select another clinic."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from gaitstream.grafana import dashboards, influx, queries
from gaitstream.grafana.cli import register
from gaitstream.grafana.clinic_dashboards import VARIABLE_FILTER, check_clinic_id, for_clinic, render_for_clinic
from gaitstream.grafana.clinics import ORG_PREFIX, TEAM_NAME, Supervisor, datasource_body, sync
from gaitstream.grafana.exceptions import PushError
from gaitstream.grafana.settings import DATASOURCE_UID, FOLDER_UID, ClinicSyncSettings
from tests.grafana.fake_grafana import FakeGrafana

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "grafana-admin-password-0123"
INFLUX_PASSWORD = "influx-read-password-0123"


@pytest.fixture()
def grafana():
    with FakeGrafana() as server:
        yield server


def _settings(grafana: FakeGrafana) -> ClinicSyncSettings:
    return ClinicSyncSettings(url=grafana.url, admin_password=ADMIN_PASSWORD, influxdb_password=INFLUX_PASSWORD)


def _org_id(grafana: FakeGrafana, clinic: str) -> int:
    (org_id,) = [o["id"] for o in grafana.server_state.orgs.values() if o["name"] == ORG_PREFIX + clinic]
    return org_id


def test_each_clinic_gets_its_own_org_with_data_source_folder_dashboards_and_team(grafana: FakeGrafana) -> None:
    sync(_settings(grafana), ["c1", "c2"])
    basic = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    assert {r.authorization for r in grafana.state.requests} == {basic}
    assert {o["name"] for o in grafana.server_state.orgs.values()} == {
        "Main Org.",
        ORG_PREFIX + "c1",
        ORG_PREFIX + "c2",
    }
    # Nothing lands in the Main Org: it keeps what the files provision (the operators' view).
    assert grafana.state.folders == {} and grafana.state.dashboards == {} and grafana.state.datasources == {}
    for clinic in ("c1", "c2"):
        org = grafana.orgs[_org_id(grafana, clinic)]
        (datasource,) = org.datasources.values()
        assert datasource == datasource_body(_settings(grafana))
        assert datasource["secureJsonData"] == {"basicAuthPassword": INFLUX_PASSWORD}
        assert set(org.folders) == {FOLDER_UID}
        assert {uid: d["dashboard"] for uid, d in org.dashboards.items()} == {
            m["uid"]: {k: v for k, v in m.items() if k != "id"} for m in render_for_clinic(clinic).values()
        }
        assert {d["folderUid"] for d in org.dashboards.values()} == {FOLDER_UID}
        (team,) = org.teams.values()
        assert team["name"] == TEAM_NAME
        # Only the team may view the folder: Grafana's default Viewer/Editor grants are gone.
        assert org.folder_permissions[FOLDER_UID] == [{"teamId": team["id"], "permission": 1}]


def test_the_provisioned_and_the_synced_data_source_agree() -> None:
    (provisioned,) = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/influxdb.yaml").read_text())[
        "datasources"
    ]
    synced = datasource_body(ClinicSyncSettings(admin_password="x", influxdb_password="y"))
    for key in ("uid", "name", "type", "access", "basicAuth", "isDefault"):
        assert synced[key] == provisioned[key], key
    assert synced["jsonData"].keys() == provisioned["jsonData"].keys()
    assert synced["jsonData"]["version"] == provisioned["jsonData"]["version"] == "InfluxQL"


def test_a_second_sync_changes_nothing_and_creates_nothing(grafana: FakeGrafana) -> None:
    def stored() -> str:
        return json.dumps(
            [
                grafana.server_state.orgs,
                {
                    i: [o.datasources, o.folders, o.dashboards, o.teams, o.folder_permissions, o.team_members]
                    for i, o in grafana.orgs.items()
                },
                grafana.server_state.members,
            ],
            sort_keys=True,
            default=str,
        )

    supervisor = grafana.server_state.add_user("ana", "ana@clinic.example")
    sync(_settings(grafana), ["c1"], [Supervisor("c1", "ana")])
    first = stored()
    grafana.state.requests.clear()
    reports = sync(_settings(grafana), ["c1"], [Supervisor("c1", "ana@clinic.example")])
    assert stored() == first
    creating = {(r.method, r.path) for r in grafana.state.requests if r.method == "POST"}
    assert not creating & {("POST", "/api/orgs"), ("POST", "/api/datasources"), ("POST", "/api/teams")}
    assert not any(r.method == "DELETE" for r in grafana.state.requests)
    assert reports["c1"].actions["clinic/c1/org"] == "unchanged"
    assert reports["c1"].actions[f"clinic/c1/datasource/{DATASOURCE_UID}"] == "updated"
    assert grafana.server_state.current_org[supervisor] == _org_id(grafana, "c1")


def test_a_supervisor_joins_only_their_clinic_and_leaves_the_main_org(grafana: FakeGrafana) -> None:
    ana = grafana.server_state.add_user("ana", "ana@c1.example")
    bob = grafana.server_state.add_user("bob", "bob@c2.example")
    sync(_settings(grafana), ["c1", "c2"], [Supervisor("c1", "ana@c1.example"), Supervisor.parse("c2=bob")])
    members = grafana.server_state.members
    c1, c2 = _org_id(grafana, "c1"), _org_id(grafana, "c2")
    assert members[c1] == {ana: "Viewer"} and members[c2] == {bob: "Viewer"}
    assert ana not in members[1] and bob not in members[1]
    team_c1 = next(iter(grafana.orgs[c1].teams))
    assert grafana.orgs[c1].team_members[team_c1] == [ana]
    assert grafana.server_state.current_org == {ana: c1, bob: c2}


def test_an_unknown_supervisor_or_bad_input_is_refused_before_or_with_a_named_error(grafana: FakeGrafana) -> None:
    with pytest.raises(PushError, match=r"supervisor/nobody status=404.*create it first"):
        sync(_settings(grafana), ["c1"], [Supervisor("c1", "nobody")])
    with pytest.raises(ValueError, match="supervisors of clinics not synced"):
        sync(_settings(grafana), ["c1"], [Supervisor("c2", "ana")])
    with pytest.raises(ValueError, match="server admin"):
        sync(_settings(grafana), ["c1"], [Supervisor("c1", "admin")])
    for bad in ["", "c 1", "c1'", "c1/x", "(a|b)", ".*", "-c1", "c1\n"]:
        with pytest.raises(ValueError, match="clinic id"):
            check_clinic_id(bad)
    with pytest.raises(ValueError, match="CLINIC=LOGIN"):
        Supervisor.parse("c1")


@pytest.mark.parametrize("name", sorted(dashboards.BUILDERS))
def test_a_clinic_dashboard_has_no_clinic_variable_and_every_query_is_fixed(name: str) -> None:
    shared = json.loads(dashboards.to_json(dashboards.build(name)))
    fixed = for_clinic(shared, "clinic-a")
    assert "clinic" not in {v["name"] for v in fixed["templating"]["list"]}
    assert "clinic" in {v["name"] for v in shared["templating"]["list"]}
    shared_text, fixed_text = json.dumps(shared), json.dumps(fixed)
    assert "$clinic" not in fixed_text and "var-clinic" not in fixed_text
    # Every clinic filter of the shared dashboard is now the clinic's literal, one for one.
    assert shared_text.count('\\"clinic\\" =~ /^$clinic$/') == fixed_text.count("\\\"clinic\\\" = 'clinic-a'") > 0

    # The same panels and targets, and it still round-trips through the SDK.
    def layout(model: dict) -> list:
        return [(p["title"], p["type"], len(p.get("targets", []))) for p in model["panels"]]

    assert layout(fixed) == layout(shared) and fixed["uid"] == shared["uid"]
    assert json.loads(dashboards.to_json(influx.load_dashboard(fixed))) == fixed


def test_every_clinic_filter_of_the_queries_is_the_one_that_gets_fixed() -> None:
    """A query that used $clinic another way would escape the fixing (for_clinic raises then)."""
    for name, query in queries.all_queries().items():
        assert query.count("$clinic") == query.count(VARIABLE_FILTER), name


def test_cli_sync_takes_secrets_from_the_environment_only(grafana: FakeGrafana, monkeypatch) -> None:
    app = typer.Typer()
    register(app)
    args = ["grafana", "clinics", "sync", "--url", grafana.url, "--clinic", "c1"]
    monkeypatch.delenv("GAITSTREAM_GRAFANA_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("GAITSTREAM_GRAFANA_INFLUXDB_PASSWORD", raising=False)
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "grafana_clinics_failed" in refused.output
    assert grafana.state.requests == []
    monkeypatch.setenv("GAITSTREAM_GRAFANA_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("GAITSTREAM_GRAFANA_INFLUXDB_PASSWORD", INFLUX_PASSWORD)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "synced object=clinic/c1/org action=created" in result.output
    assert ADMIN_PASSWORD not in result.output and INFLUX_PASSWORD not in result.output
    assert len(grafana.orgs[_org_id(grafana, "c1")].dashboards) == len(dashboards.BUILDERS)


def test_a_clinics_dashboards_link_its_reports_at_its_address_with_the_clinic_fixed(grafana: FakeGrafana) -> None:
    settings = _settings(grafana).model_copy(update={"reports_url": "https://gait.c1.example"})
    sync(settings, ["c1"])
    sent = json.dumps([d["dashboard"] for d in grafana.orgs[_org_id(grafana, "c1")].dashboards.values()])
    assert "https://gait.c1.example/v1/clinics/c1/sessions/${session}/report.html" in sent
    assert "localhost:8088" not in sent
