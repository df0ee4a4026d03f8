"""Dashboards as code: the committed JSON is what the generator produces, it round-trips through
grafana-foundation-sdk, and every query in it is one of the named constants of queries.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grafana_foundation_sdk.models import dashboard

from gaitstream.gait.classification import Classification
from gaitstream.grafana import alerts, dashboards, influx, queries
from gaitstream.grafana.settings import DATASOURCE_UID

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "deploy" / "grafana" / "dashboards"
RENDERED = dashboards.render_all()


def _panels(model: dict) -> list[dict]:
    out = []
    for panel in model["panels"]:
        out.append(panel)
        out += panel.get("panels", [])
    return out


def _committed(name: str) -> dict:
    return json.loads((DASHBOARD_DIR / name).read_text())


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_committed_json_is_what_the_generator_writes(name: str) -> None:
    path = DASHBOARD_DIR / name
    assert path.exists(), f"{path.name} missing: run `gaitstream grafana build` and commit"
    assert path.read_text() == RENDERED[name], f"{path.name} is stale: run `gaitstream grafana build` and commit"


def test_no_other_dashboard_files_are_committed() -> None:
    assert {p.name for p in DASHBOARD_DIR.glob("*.json")} == set(RENDERED)


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_dashboard_round_trips_through_the_sdk(name: str) -> None:
    text = (DASHBOARD_DIR / name).read_text()
    model = influx.load_dashboard(json.loads(text))
    assert isinstance(model, dashboard.Dashboard)
    assert dashboards.to_json(model) == text


def test_the_sdk_alone_loses_only_the_influxql_annotation_query() -> None:
    """Why load_dashboard exists: the SDK models annotation targets of the built-in data source only."""
    influx.register()
    data = _committed("patient-session.json")
    plain = json.loads(dashboards.to_json(dashboard.Dashboard.from_json(data)))
    assert plain["annotations"]["list"][0]["target"] == {"limit": 0, "matchAny": False, "tags": [], "type": ""}
    plain["annotations"] = data["annotations"]
    assert plain == data


def _all_query_texts() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in RENDERED:
        model = _committed(name)
        texts = [t["query"] for p in _panels(model) for t in p.get("targets", [])]
        texts += [a["target"]["query"] for a in model["annotations"].get("list", [])]
        texts += [v["query"] for v in model["templating"]["list"]]
        out[name] = texts
    return out


def test_every_query_is_a_named_constant_and_every_constant_is_used() -> None:
    constants = set(queries.all_queries().values())
    used = (
        {q for texts in _all_query_texts().values() for q in texts}
        | {r.query for r in alerts.RULES}
        | {r.gate_query for r in alerts.RULES if r.gate_query}
    )
    assert used <= constants, used - constants
    assert constants <= used, {k for k, v in queries.all_queries().items() if v not in used}


def test_every_target_uses_the_provisioned_influxdb_datasource_in_influxql() -> None:
    for name in RENDERED:
        model = _committed(name)
        for panel in _panels(model):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}, (name, panel["title"])
            for target in panel["targets"]:
                assert target["rawQuery"] is True and target["datasource"]["uid"] == DATASOURCE_UID
        for variable in model["templating"]["list"]:
            assert variable["datasource"]["uid"] == DATASOURCE_UID


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    for name in RENDERED:
        panels = _panels(_committed(name))
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)) and 0 not in ids, name
        for p in panels:
            assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, (name, p["title"])


def test_clinic_overview_is_one_row_per_station_refreshed_within_5s() -> None:
    model = _committed("clinic-overview.json")
    assert _seconds(model["refresh"]) <= 5
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert set(variables) == {"clinic", "station"}
    assert variables["station"]["multi"] and variables["station"]["includeAll"]
    (row,) = [p for p in model["panels"] if p["type"] == "row"]
    assert row["repeat"] == "station"
    titles = [p["title"] for p in model["panels"] if p["type"] != "row"]
    assert titles == [
        "Patient",
        "Classification",
        "Pelvic drop L/R",
        "Trunk lean L/R",
        "Cadence",
        "Last data",
        "Live",
        "Refused",
    ]
    by_title = {p["title"]: p for p in model["panels"]}
    assert by_title["Pelvic drop L/R"]["options"]["graphMode"] == "area"  # the sparkline
    assert by_title["Pelvic drop L/R"]["fieldConfig"]["defaults"]["unit"] == "degree"
    steps = by_title["Live"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[0] == {"color": "red", "value": None}  # silent = red
    mappings = by_title["Classification"]["fieldConfig"]["defaults"]["mappings"]
    assert set(mappings[0]["options"]) == {str(c) for c in Classification}
    assert set(mappings[1]["options"]) == {"trunk_lean_reference_walking"}  # the caveat, in words
    assert mappings[2]["options"]["match"] == "empty"
    assert by_title["Classification"]["options"]["reduceOptions"]["fields"] == "/^(classification|caveat)$/"


def test_patient_session_has_the_threshold_band_and_alert_annotations() -> None:
    model = _committed("patient-session.json")
    assert _seconds(model["refresh"]) <= 5
    assert {v["name"] for v in model["templating"]["list"]} == {"clinic", "patient", "session"}
    by_title = {p["title"]: p for p in model["panels"]}
    drop = by_title["Pelvic drop per step"]["fieldConfig"]["defaults"]
    assert drop["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert drop["thresholds"]["steps"][1] == {"color": "red", "value": queries.PELVIC_DROP_THRESHOLD_DEG}
    (annotation,) = model["annotations"]["list"]
    assert annotation["target"]["query"] == queries.SESSION_ALERTS
    assert annotation["target"]["textColumn"] == "message"


def test_patient_progress_covers_weeks() -> None:
    model = _committed("patient-progress.json")
    assert model["time"]["from"] == "now-90d"
    assert {p["title"] for p in model["panels"]} == {
        "Pelvic drop, median per session",
        "Trunk lean, median per session",
        "Pelvic drop with feedback and in the no-feedback probes",
        "Sessions",
    }


def _seconds(refresh: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(refresh[:-1]) * units[refresh[-1]]


def test_committed_readme_lists_every_panel_and_rule_with_its_query() -> None:
    from gaitstream.grafana import readme

    text = (REPO / "deploy" / "grafana" / "README.md").read_text()
    assert text == readme.render(), "deploy/grafana/README.md is stale: run `gaitstream grafana build` and commit"
    for name in RENDERED:
        for panel in _panels(_committed(name)):
            if panel["type"] != "row":
                assert f"### {panel['title']} (" in text
    for query in queries.all_queries().values():
        if not query.startswith("SHOW"):
            assert query in text


def test_links_from_the_overview_open_dashboards_that_exist_with_their_variables() -> None:
    uids = {json.loads(t)["uid"]: json.loads(t) for t in RENDERED.values()}
    patient = next(p for p in _committed("clinic-overview.json")["panels"] if p["title"] == "Patient")
    links = patient["fieldConfig"]["defaults"]["links"]
    assert len(links) == 2
    for link in links:
        path, _, query = link["url"].partition("?")
        target = uids[path.removeprefix("/d/")]
        params = {kv.split("=")[0].removeprefix("var-") for kv in query.split("&")}
        assert params == {v["name"] for v in target["templating"]["list"]}


def test_build_command_writes_what_is_committed(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from gaitstream.grafana.cli import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["grafana", "build", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    deploy = REPO / "deploy" / "grafana"
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(
        [
            Path("README.md"),
            Path("provisioning/alerting/gaitstream.yaml"),
            *(Path("dashboards") / name for name in RENDERED),
        ]
    )
    for relative in written:
        assert (tmp_path / relative).read_text() == (deploy / relative).read_text(), relative


def test_the_session_dashboard_links_its_session_report_on_the_alerts_api() -> None:
    from gaitstream.grafana.clinic_dashboards import render_for_clinic

    models = {name: json.loads(text) for name, text in dashboards.render_all().items()}
    (session,) = [m for m in models.values() if m["uid"] == "gaitstream-patient-session"]
    (link,) = [link for link in session["links"] if link["title"] == "Session report"]
    assert link["url"] == "http://localhost:8088/v1/clinics/${clinic}/sessions/${session}/report.html"
    assert link["targetBlank"] is True
    (clinic_copy,) = [m for m in render_for_clinic("clinic-a").values() if m["uid"] == "gaitstream-patient-session"]
    (fixed,) = [link for link in clinic_copy["links"] if link["title"] == "Session report"]
    assert fixed["url"] == "http://localhost:8088/v1/clinics/clinic-a/sessions/${session}/report.html"
