"""``gaitstream grafana push`` against a local HTTP endpoint that records the requests (a real
server on 127.0.0.1, see fake_grafana.py): the right requests, and a second push changes nothing
but updates in place (no duplicates)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from gaitstream.grafana import alerts, dashboards, provisioning
from gaitstream.grafana.cli import register
from gaitstream.grafana.exceptions import PushError
from gaitstream.grafana.push import connect, push
from gaitstream.grafana.settings import FOLDER_UID, GrafanaSettings
from tests.grafana.fake_grafana import FakeGrafana

TOKEN = "glsa_test_token_0123456789"
WEBHOOK = "http://alerts.example.invalid/hook"


@pytest.fixture()
def grafana():
    with FakeGrafana() as server:
        yield server


def _push(grafana: FakeGrafana, webhook_url: str | None = WEBHOOK):
    return push(connect(GrafanaSettings(url=grafana.url, token=TOKEN)), webhook_url=webhook_url)


def test_first_push_creates_folder_dashboards_rules_contact_point_and_route(grafana: FakeGrafana) -> None:
    report = _push(grafana)
    state = grafana.state
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.requests)
    assert state.folders == {FOLDER_UID: {"uid": FOLDER_UID, "title": "gaitstream"}}
    # Dashboards: exactly the committed JSON, minus the instance-specific id, in the folder.
    assert set(state.dashboards) == {json.loads(t)["uid"] for t in dashboards.render_all().values()}
    for text in dashboards.render_all().values():
        model = json.loads(text)
        sent = state.dashboards[model["uid"]]
        assert sent["folderUid"] == FOLDER_UID and sent["overwrite"] is True
        model.pop("id", None)
        assert sent["dashboard"] == model
    # Alert rules: the provisioning bodies plus folder, group and org.
    assert set(state.rules) == {r.uid for r in alerts.RULES}
    for rule in alerts.RULES:
        sent = state.rules[rule.uid]
        assert sent["folderUID"] == FOLDER_UID and sent["ruleGroup"] == alerts.RULE_GROUP
        assert sent["data"][0]["model"]["query"] == rule.query
    group = state.rule_groups[(FOLDER_UID, alerts.RULE_GROUP)]
    assert group["interval"] == alerts.EVALUATION_INTERVAL_S and len(group["rules"]) == len(alerts.RULES)
    (point,) = state.contact_points.values()
    assert point["name"] == alerts.CONTACT_POINT_NAME and point["settings"]["url"] == WEBHOOK
    # The existing tree is kept; gaitstream's route comes first, grouped by clinic.
    routes = state.policies["routes"]
    assert routes[0] == provisioning.route() and "clinic" in routes[0]["group_by"]
    assert routes[1]["receiver"] == "ops" and state.policies["receiver"] == "grafana-default-email"
    assert report.actions[f"folder/{FOLDER_UID}"] == "created"
    assert report.actions[f"alert-rule/{alerts.RULES[0].uid}"] == "created"


def test_second_push_updates_in_place_without_duplicates(grafana: FakeGrafana) -> None:
    def stored() -> str:
        s = grafana.state
        return json.dumps(
            [
                s.folders,
                s.dashboards,
                s.rules,
                {"/".join(k): v for k, v in s.rule_groups.items()},
                s.contact_points,
                s.policies,
            ],
            sort_keys=True,
        )

    _push(grafana)
    first = stored()
    grafana.state.requests.clear()
    report = _push(grafana)
    assert stored() == first
    methods = [(r.method, r.path) for r in grafana.state.requests]
    assert ("POST", "/api/folders") not in methods
    assert ("POST", "/api/v1/provisioning/alert-rules") not in methods
    assert ("POST", "/api/v1/provisioning/contact-points") not in methods
    assert ("PUT", "/api/v1/provisioning/policies") not in methods  # already as wanted
    assert len(grafana.state.policies["routes"]) == 2
    assert report.actions[f"folder/{FOLDER_UID}"] == "unchanged"
    assert {report.actions[f"alert-rule/{r.uid}"] for r in alerts.RULES} == {"updated"}
    assert report.actions["notification-policy/route"] == "unchanged"


def test_without_a_webhook_no_contact_point_or_route_is_pushed(grafana: FakeGrafana) -> None:
    report = _push(grafana, webhook_url=None)
    assert grafana.state.contact_points == {}
    assert len(grafana.state.policies["routes"]) == 1
    assert report.actions["notification-policy/route"] == "skipped"


def test_an_api_error_names_what_failed(grafana: FakeGrafana) -> None:
    with pytest.raises(PushError, match=r"alert-rule/.* status=400"):
        api = connect(GrafanaSettings(url=grafana.url, token=TOKEN))
        from gaitstream.grafana.push import PushReport, push_alert_rules

        push_alert_rules(api, PushReport())  # no folder yet: the fake refuses like Grafana


def test_cli_push_uses_url_and_token_options(grafana: FakeGrafana, monkeypatch) -> None:
    monkeypatch.delenv("GAITSTREAM_GRAFANA_TOKEN", raising=False)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["grafana", "push", "--url", grafana.url, "--token", TOKEN, "--webhook-url", WEBHOOK]
    )
    assert result.exit_code == 0, result.output
    assert "pushed object=folder/gaitstream action=created" in result.output
    assert len(grafana.state.dashboards) == len(dashboards.BUILDERS)


def test_cli_push_without_a_token_fails(monkeypatch) -> None:
    monkeypatch.delenv("GAITSTREAM_GRAFANA_TOKEN", raising=False)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["grafana", "push", "--url", "http://127.0.0.1:9"])
    assert result.exit_code != 0


def test_push_points_the_session_report_links_at_the_clinics_address(grafana: FakeGrafana) -> None:
    from gaitstream.grafana import session

    base = "https://gait.clinic-a.example:8443/api/"
    push(connect(GrafanaSettings(url=grafana.url, token=TOKEN)), webhook_url=None, reports_url=base)
    sent = json.dumps(grafana.state.dashboards[session.UID]["dashboard"])
    assert "https://gait.clinic-a.example:8443/api/v1/clinics/${clinic}/sessions/${session}/report.html" in sent
    assert "localhost:8088" not in json.dumps([d["dashboard"] for d in grafana.state.dashboards.values()])


@pytest.mark.parametrize("bad", ["gait.example", "javascript:alert(1)", "https://x.example/a?b=1", 'http://x"y'])
def test_an_unusable_reports_url_is_refused_before_anything_is_pushed(grafana: FakeGrafana, bad: str) -> None:
    with pytest.raises(ValueError, match="GAITSTREAM_GRAFANA_REPORTS_URL"):
        push(connect(GrafanaSettings(url=grafana.url, token=TOKEN)), reports_url=bad)
    assert grafana.state.requests == []
