"""``gaitstream grafana clinics sync``: one Grafana organisation per clinic, through ``grafana-client``.

Per clinic, idempotently: the organisation ``gaitstream-clinic-<id>``; in it the InfluxDB data
source (same uid as the provisioned one), the folder ``gaitstream`` with the dashboards fixed to
the clinic (``clinic_dashboards``), the team ``supervisors`` and the folder's permissions (that
team may view; the default Viewer and Editor role grants are dropped). Each supervisor named
(``clinic=login``) is made a Viewer of the clinic's organisation and a member of its team,
switched to it, and removed from the Main Org (org 1, the operators' all-clinics view).

Why organisations and not teams with folder permissions in one organisation: in Grafana OSS
every member of an organisation may query every data source of it (data source permissions are
an Enterprise feature), and a dashboard's variables can be changed from the URL; an organisation
has its own data sources, dashboards, users and alerting, so a supervisor of one clinic sees
nothing of another's in Grafana. What the data source itself may read is the credential's
business (deploy/grafana/README.md, "Clinics").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from gaitstream.grafana.clinic_dashboards import check_clinic_id
from gaitstream.grafana.exceptions import PushError
from gaitstream.grafana.push import PushReport, _call, _missing, push_dashboards, push_folder
from gaitstream.grafana.report_links import check_reports_url
from gaitstream.grafana.settings import DATASOURCE_UID, FOLDER_UID, ClinicSyncSettings

ORG_PREFIX = "gaitstream-clinic-"
MAIN_ORG_ID = 1
TEAM_NAME = "supervisors"
VIEWER_ROLE = "Viewer"
# Grafana's folder permission levels: 1 view, 2 edit, 4 admin.
PERMISSION_VIEW = 1


@dataclass(frozen=True)
class Supervisor:
    """A Grafana user (login or e-mail) who supervises ``clinic``."""

    clinic: str
    login: str

    @classmethod
    def parse(cls, text: str) -> Supervisor:
        clinic, sep, login = text.partition("=")
        if not sep or not login:
            raise ValueError(f"supervisor must be CLINIC=LOGIN, got {text!r}")
        return cls(check_clinic_id(clinic), login)


def org_name(clinic: str) -> str:
    return ORG_PREFIX + check_clinic_id(clinic)


def connect_admin(settings: ClinicSyncSettings, org_id: int | None = None) -> GrafanaApi:
    """The server admin's client; with ``org_id`` every call acts in that organisation."""
    parts = urlsplit(settings.url)
    prefix = parts.path.strip("/")
    return GrafanaApi(
        (settings.admin_user, settings.admin_password.get_secret_value()),
        host=parts.hostname,
        port=parts.port,
        url_path_prefix=prefix + "/" if prefix else "",
        protocol=parts.scheme,
        timeout=settings.timeout_s,
        organization_id=org_id,
    )


def datasource_body(settings: ClinicSyncSettings) -> dict:
    """The InfluxQL data source of provisioning/datasources/influxdb.yaml, with its values."""
    return {
        "name": DATASOURCE_UID,
        "uid": DATASOURCE_UID,
        "type": "influxdb",
        "access": "proxy",
        "url": settings.influxdb_url,
        "basicAuth": True,
        "basicAuthUser": settings.influxdb_user,
        "jsonData": {"version": "InfluxQL", "dbName": settings.influxdb_database, "httpMode": "POST"},
        "secureJsonData": {"basicAuthPassword": settings.influxdb_password.get_secret_value()},
        "isDefault": True,
    }


def ensure_org(admin: GrafanaApi, clinic: str, report: PushReport) -> int:
    what, name = "org", org_name(clinic)
    try:
        org_id = int(admin.organization.find_organization(name)["id"])
        report.note(what, "unchanged")
        return org_id
    except GrafanaException as exc:
        if not _missing(exc):
            raise PushError(what, exc.status_code, str(exc.message)) from exc
    created = _call(what, admin.organization.create_organization, {"name": name})
    report.note(what, "created")
    return int(created["orgId"])


def ensure_datasource(api: GrafanaApi, body: dict, report: PushReport) -> None:
    what = f"datasource/{DATASOURCE_UID}"
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    except GrafanaException as exc:
        if not _missing(exc):
            raise PushError(what, exc.status_code, str(exc.message)) from exc
        _call(what, api.datasource.create_datasource, body)
        report.note(what, "created")
        return
    _call(what, api.datasource.update_datasource_by_uid, DATASOURCE_UID, body)
    report.note(what, "updated")


def ensure_team(api: GrafanaApi, report: PushReport) -> int:
    what = f"team/{TEAM_NAME}"
    found = [t for t in _call(what, api.teams.get_team_by_name, TEAM_NAME) if t.get("name") == TEAM_NAME]
    if found:
        report.note(what, "unchanged")
        return int(found[0]["id"])
    created = _call(what, api.teams.add_team, {"name": TEAM_NAME})
    report.note(what, "created")
    return int(created["teamId"])


def restrict_folder(api: GrafanaApi, team_id: int, report: PushReport) -> None:
    """Only the supervisors' team may view the folder (org admins always can)."""
    what = f"folder/{FOLDER_UID}/permissions"
    _call(what, api.folder.update_folder_permissions, FOLDER_UID, [{"teamId": team_id, "permission": PERMISSION_VIEW}])
    report.note(what, "updated")


def add_supervisor(
    admin: GrafanaApi, api: GrafanaApi, org_id: int, team_id: int, login: str, report: PushReport
) -> None:
    what = f"supervisor/{login}"
    try:
        user_id = int(admin.users.find_user(login)["id"])
    except GrafanaException as exc:
        detail = "no such Grafana user: create it first" if _missing(exc) else str(exc.message)
        raise PushError(what, exc.status_code, detail) from exc
    members = _call(what, admin.organizations.organization_user_list, org_id)
    if not any(int(m["userId"]) == user_id for m in members):
        _call(what, admin.organizations.organization_user_add, org_id, {"loginOrEmail": login, "role": VIEWER_ROLE})
    team = _call(what, api.teams.get_team_members, team_id)
    if not any(int(m["userId"]) == user_id for m in team):
        _call(what, api.teams.add_team_member, team_id, user_id)
    _call(what, admin.user.switch_user_organisation, user_id, org_id)
    main = _call(what, admin.organizations.organization_user_list, MAIN_ORG_ID)
    if any(int(m["userId"]) == user_id for m in main):
        try:
            admin.organizations.organization_user_delete(MAIN_ORG_ID, user_id)
        except GrafanaClientError as exc:
            raise PushError(what, exc.status_code, f"cannot leave the Main Org: {exc.message}") from exc
    report.note(what, "member")


def sync(
    settings: ClinicSyncSettings, clinics: Sequence[str], supervisors: Sequence[Supervisor] = ()
) -> dict[str, PushReport]:
    """Every clinic's organisation and contents, then its supervisors; clinic -> what was done."""
    unknown = sorted({s.clinic for s in supervisors} - set(clinics))
    if unknown:
        raise ValueError(f"supervisors of clinics not synced: {unknown}; add --clinic for each")
    if any(s.login == settings.admin_user for s in supervisors):
        raise ValueError(f"{settings.admin_user!r} is Grafana's server admin, not a supervisor")
    check_reports_url(settings.reports_url)
    admin = connect_admin(settings)
    reports = {}
    for clinic in dict.fromkeys(check_clinic_id(c) for c in clinics):
        report = PushReport(prefix=f"clinic/{clinic}/")
        org_id = ensure_org(admin, clinic, report)
        api = connect_admin(settings, org_id)
        ensure_datasource(api, datasource_body(settings), report)
        push_folder(api, report)
        push_dashboards(api, report, clinic=clinic, reports_url=settings.reports_url)
        team_id = ensure_team(api, report)
        restrict_folder(api, team_id, report)
        for supervisor in supervisors:
            if supervisor.clinic == clinic:
                add_supervisor(admin, api, org_id, team_id, supervisor.login, report)
        reports[clinic] = report
    return reports
