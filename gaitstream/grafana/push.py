"""``gaitstream grafana push``: upload folder, dashboards, alert rules, contact point and
notification route to an existing Grafana, through ``grafana-client``.

Idempotent: every object has a fixed uid (or name) and is created when missing, updated
otherwise; the notification route is replaced, never appended twice. The same dashboards and
rules as the provisioning files, so a pushed Grafana and a provisioned one agree.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from gaitstream.grafana import alerts, clinic_dashboards, dashboards, provisioning
from gaitstream.grafana.exceptions import PushError
from gaitstream.grafana.report_links import check_reports_url, with_reports_url
from gaitstream.grafana.settings import DEFAULT_REPORTS_URL, FOLDER_TITLE, FOLDER_UID, GrafanaSettings
from gaitstream.logging import kv

log = logging.getLogger(__name__)


@dataclass
class PushReport:
    """What a push did, by object: ``created`` / ``updated`` / ``unchanged`` / ``skipped``.
    ``prefix`` names the organisation's objects apart (``clinic/c1/folder/gaitstream``)."""

    actions: dict[str, str] = field(default_factory=dict)
    prefix: str = ""

    def note(self, what: str, action: str) -> None:
        self.actions[self.prefix + what] = action
        log.info(kv("grafana_push", object=self.prefix + what, action=action))


def connect(settings: GrafanaSettings) -> GrafanaApi:
    return GrafanaApi.from_url(settings.url, credential=settings.token.get_secret_value(), timeout=settings.timeout_s)


def _missing(exc: GrafanaException) -> bool:
    return isinstance(exc, GrafanaClientError) and exc.status_code == 404


def _call(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except GrafanaException as exc:
        raise PushError(what, exc.status_code, str(exc.message)) from exc


def push_folder(api: GrafanaApi, report: PushReport) -> None:
    what = f"folder/{FOLDER_UID}"
    try:
        folder = api.folder.get_folder(FOLDER_UID)
    except GrafanaException as exc:
        if not _missing(exc):
            raise PushError(what, exc.status_code, str(exc.message)) from exc
        _call(what, api.folder.create_folder, FOLDER_TITLE, uid=FOLDER_UID)
        report.note(what, "created")
        return
    if folder.get("title") == FOLDER_TITLE:
        report.note(what, "unchanged")
        return
    _call(what, api.folder.update_folder, FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
    report.note(what, "updated")


def push_dashboards(
    api: GrafanaApi, report: PushReport, clinic: str | None = None, reports_url: str = DEFAULT_REPORTS_URL
) -> None:
    """Every dashboard; with ``clinic``, its copy with the clinic fixed (``clinic_dashboards``);
    its session-report links at ``reports_url`` (``report_links``)."""
    for name in dashboards.BUILDERS:
        model = json.loads(dashboards.to_json(dashboards.build(name)))
        if clinic is not None:
            model = clinic_dashboards.for_clinic(model, clinic)
        model = with_reports_url(model, reports_url)
        model.pop("id", None)  # Grafana matches by uid; ids differ between instances
        what = f"dashboard/{model['uid']}"
        _call(
            what,
            api.dashboard.update_dashboard,
            {"dashboard": model, "folderUid": FOLDER_UID, "overwrite": True, "message": "gaitstream grafana push"},
        )
        report.note(what, "updated")


def push_alert_rules(api: GrafanaApi, report: PushReport) -> None:
    rules = []
    for rule in alerts.RULES:
        body = {**rule.body(), "folderUID": FOLDER_UID, "ruleGroup": alerts.RULE_GROUP, "orgID": provisioning.ORG_ID}
        rules.append(body)
        what = f"alert-rule/{rule.uid}"
        try:
            api.alertingprovisioning.get_alertrule(rule.uid)
        except GrafanaException as exc:
            if not _missing(exc):
                raise PushError(what, exc.status_code, str(exc.message)) from exc
            _call(what, api.alertingprovisioning.create_alertrule, body)
            report.note(what, "created")
            continue
        _call(what, api.alertingprovisioning.update_alertrule, rule.uid, body)
        report.note(what, "updated")
    # The group carries the evaluation interval (new groups would default to 1 minute).
    what = f"rule-group/{alerts.RULE_GROUP}"
    _call(
        what,
        api.alertingprovisioning.update_rule_group,
        FOLDER_UID,
        alerts.RULE_GROUP,
        {"title": alerts.RULE_GROUP, "folderUid": FOLDER_UID, "interval": alerts.EVALUATION_INTERVAL_S, "rules": rules},
    )
    report.note(what, "updated")


def push_contact_point(api: GrafanaApi, report: PushReport, webhook_url: str | None) -> bool:
    what = f"contact-point/{alerts.CONTACT_POINT_NAME}"
    if not webhook_url:
        report.note(what, "skipped")
        return False
    body = {"name": alerts.CONTACT_POINT_NAME, **provisioning.webhook_receiver(webhook_url)}
    existing = _call(what, api.alertingprovisioning.get_contactpoints, name=alerts.CONTACT_POINT_NAME) or []
    if any(point.get("uid") == alerts.CONTACT_POINT_UID for point in existing):
        _call(what, api.alertingprovisioning.update_contactpoint, alerts.CONTACT_POINT_UID, body)
        report.note(what, "updated")
    else:
        _call(what, api.alertingprovisioning.create_contactpoint, body)
        report.note(what, "created")
    return True


def _ours(route: dict) -> bool:
    return [alerts.ROUTE_LABEL[0], "=", alerts.ROUTE_LABEL[1]] in (route.get("object_matchers") or [])


def push_policy_route(api: GrafanaApi, report: PushReport) -> None:
    """Put gaitstream's route first in the existing policy tree (the rest of the tree is kept)."""
    what = "notification-policy/route"
    tree = _call(what, api.alertingprovisioning.get_notification_policy_tree)
    others = [route for route in tree.get("routes") or [] if not _ours(route)]
    wanted = {**tree, "routes": [provisioning.route(), *others]}
    if wanted == tree:
        report.note(what, "unchanged")
        return
    _call(what, api.alertingprovisioning.set_notification_policy_tree, wanted)
    report.note(what, "updated")


def push(api: GrafanaApi, *, webhook_url: str | None = None, reports_url: str = DEFAULT_REPORTS_URL) -> PushReport:
    """Everything, in dependency order: folder, dashboards, rules, contact point, route."""
    check_reports_url(reports_url)  # before anything is written
    report = PushReport()
    push_folder(api, report)
    push_dashboards(api, report, reports_url=reports_url)
    push_alert_rules(api, report)
    if push_contact_point(api, report, webhook_url):
        push_policy_route(api, report)
    else:
        report.note("notification-policy/route", "skipped")
    return report
