"""A tiny real HTTP server on 127.0.0.1 that answers the Grafana API calls ``push`` and
``clinics sync`` make, keeps what was created like Grafana would (by uid / name, per organisation
as chosen by the ``X-Grafana-Org-Id`` header), and records every request."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: object
    authorization: str | None
    org_id: int


@dataclass
class GrafanaState:
    """One organisation's objects (org 1 is ``FakeGrafana.state``; the others ``FakeGrafana.orgs``)."""

    folders: dict[str, dict] = field(default_factory=dict)
    folder_permissions: dict[str, list[dict]] = field(default_factory=dict)
    datasources: dict[str, dict] = field(default_factory=dict)
    teams: dict[int, dict] = field(default_factory=dict)
    team_members: dict[int, list[int]] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)
    rules: dict[str, dict] = field(default_factory=dict)
    rule_groups: dict[tuple[str, str], dict] = field(default_factory=dict)
    contact_points: dict[str, dict] = field(default_factory=dict)
    # An existing Grafana's tree: a default receiver and a route of somebody else.
    policies: dict = field(
        default_factory=lambda: {
            "receiver": "grafana-default-email",
            "group_by": ["grafana_folder", "alertname"],
            "routes": [{"receiver": "ops", "object_matchers": [["team", "=", "ops"]]}],
        }
    )
    requests: list[Recorded] = field(default_factory=list)


@dataclass
class ServerState:
    """What a Grafana server holds across organisations: orgs, users and their memberships."""

    main: GrafanaState
    orgs: dict[int, dict] = field(default_factory=lambda: {1: {"id": 1, "name": "Main Org."}})
    contents: dict[int, GrafanaState] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)
    # org id -> user id -> role
    members: dict[int, dict[int, str]] = field(default_factory=lambda: {1: {}})
    current_org: dict[int, int] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(2))

    def org(self, org_id: int) -> GrafanaState:
        return self.main if org_id == 1 else self.contents.setdefault(org_id, GrafanaState())

    def add_user(self, login: str, email: str) -> int:
        user_id = next(self.ids)
        self.users[user_id] = {"id": user_id, "login": login, "email": email}
        self.members[1][user_id] = "Viewer"  # Grafana's default: new users join the Main Org as Viewers
        self.current_org[user_id] = 1
        return user_id


class _Handler(BaseHTTPRequestHandler):
    server_state: ServerState

    def log_message(self, format, *args) -> None:
        pass

    def _reply(self, status: int, payload: object = None) -> None:
        body = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        org_id = int(self.headers.get("X-Grafana-Org-Id") or 1)
        query = parse_qs(url.query)
        self.server_state.main.requests.append(
            Recorded(self.command, url.path, query, body, self.headers.get("Authorization"), org_id)
        )
        path = unquote(url.path)
        if org_id not in self.server_state.orgs:
            self._reply(404, {"message": "organization not found"})
            return
        routed = self._route_server(self.command, path, query, body)
        if routed is None:
            routed = self._route_org(org_id, self.command, path, query, body)
        self._reply(*routed)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _route_server(self, method: str, path: str, query: dict, body) -> tuple[int, object] | None:
        """Server-admin routes (organisations, users), whatever the organisation header."""
        srv = self.server_state
        if m := re.fullmatch(r"/api/orgs/name/(.+)", path):
            found = [o for o in srv.orgs.values() if o["name"] == m.group(1)]
            return (200, found[0]) if found else (404, {"message": "organization not found"})
        if path == "/api/orgs" and method == "POST":
            if any(o["name"] == body["name"] for o in srv.orgs.values()):
                return 409, {"message": "organization name taken"}
            org_id = next(srv.ids)
            srv.orgs[org_id] = {"id": org_id, "name": body["name"]}
            srv.members[org_id] = {}
            return 200, {"orgId": org_id, "message": "Organization created"}
        if path == "/api/users/lookup":
            wanted = query["loginOrEmail"][0]
            found = [u for u in srv.users.values() if wanted in (u["login"], u["email"])]
            return (200, found[0]) if found else (404, {"message": "user not found"})
        if m := re.fullmatch(r"/api/orgs/(\d+)/users(?:/(\d+))?", path):
            org_id, user_id = int(m.group(1)), m.group(2)
            if org_id not in srv.orgs:
                return 404, {"message": "organization not found"}
            members = srv.members[org_id]
            if method == "GET":
                return 200, [{"orgId": org_id, "userId": uid, "role": role} for uid, role in members.items()]
            if method == "POST":
                user = next(u for u in srv.users.values() if body["loginOrEmail"] in (u["login"], u["email"]))
                if user["id"] in members:
                    return 409, {"message": "User is already member of this organization"}
                members[user["id"]] = body["role"]
                return 200, {"message": "User added to organization", "userId": user["id"]}
            if method == "DELETE" and user_id is not None:
                if not any(int(user_id) in m for oid, m in srv.members.items() if oid != org_id):
                    return 400, {"message": "cannot remove the user's last organization"}
                members.pop(int(user_id), None)
                return 200, {"message": "User removed from organization"}
        if m := re.fullmatch(r"/api/users/(\d+)/using/(\d+)", path):
            user_id, org_id = int(m.group(1)), int(m.group(2))
            if user_id not in srv.members.get(org_id, {}):
                return 401, {"message": "not a member of the organization"}
            srv.current_org[user_id] = org_id
            return 200, {"message": "Active organization changed"}
        return None

    def _route_org(self, org_id: int, method: str, path: str, query: dict, body) -> tuple[int, object]:
        """Routes inside one organisation (the header's)."""
        s = self.server_state.org(org_id)
        if m := re.fullmatch(r"/api/datasources/uid/([^/]+)", path):
            uid = m.group(1)
            if uid not in s.datasources:
                return 404, {"message": "Data source not found"}
            if method == "GET":
                return 200, {k: v for k, v in s.datasources[uid].items() if k != "secureJsonData"}
            if method == "PUT":
                s.datasources[uid] = body
                return 200, {"message": "Datasource updated"}
        if path == "/api/datasources" and method == "POST":
            if body["uid"] in s.datasources or any(d["name"] == body["name"] for d in s.datasources.values()):
                return 409, {"message": "data source with the same name or uid already exists"}
            s.datasources[body["uid"]] = body
            return 200, {"message": "Datasource added", "datasource": body}
        if path == "/api/teams/search" and method == "GET":
            name = (query.get("name") or [None])[0]
            teams = [t for t in s.teams.values() if name in (None, t["name"])]
            return 200, {"totalCount": len(teams), "teams": teams}
        if path == "/api/teams" and method == "POST":
            if any(t["name"] == body["name"] for t in s.teams.values()):
                return 409, {"message": "Team name taken"}
            team_id = next(self.server_state.ids)
            s.teams[team_id] = {"id": team_id, "orgId": org_id, "name": body["name"]}
            s.team_members[team_id] = []
            return 200, {"message": "Team created", "teamId": team_id}
        if m := re.fullmatch(r"/api/teams/(\d+)/members", path):
            team_id = int(m.group(1))
            if team_id not in s.teams:
                return 404, {"message": "Team not found"}
            if method == "GET":
                return 200, [{"teamId": team_id, "userId": uid} for uid in s.team_members[team_id]]
            if method == "POST":
                if body["userId"] not in self.server_state.members[org_id]:
                    return 400, {"message": "user is not a member of the organization"}
                if body["userId"] in s.team_members[team_id]:
                    return 400, {"message": "User is already added to this team"}
                s.team_members[team_id].append(body["userId"])
                return 200, {"message": "Member added to Team"}
        if m := re.fullmatch(r"/api/folders/([^/]+)/permissions", path):
            uid = m.group(1)
            if uid not in s.folders:
                return 404, {"message": "folder not found"}
            if method == "POST":
                if any("teamId" in item and item["teamId"] not in s.teams for item in body["items"]):
                    return 400, {"message": "team not found"}
                s.folder_permissions[uid] = body["items"]
                return 200, {"message": "Folder permissions updated"}
        if m := re.fullmatch(r"/api/folders/([^/]+)", path):
            uid = m.group(1)
            if method == "GET":
                return (200, s.folders[uid]) if uid in s.folders else (404, {"message": "folder not found"})
            if method == "PUT" and uid in s.folders:
                s.folders[uid] = {**s.folders[uid], "title": body["title"]}
                return 200, s.folders[uid]
        if path == "/api/folders" and method == "POST":
            if body["uid"] in s.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            s.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
            # Grafana's defaults for a new folder: Viewers view, Editors edit.
            s.folder_permissions[body["uid"]] = [
                {"role": "Viewer", "permission": 1},
                {"role": "Editor", "permission": 2},
            ]
            return 200, s.folders[body["uid"]]
        if path == "/api/dashboards/db" and method == "POST":
            dash = body["dashboard"]
            if dash["uid"] in s.dashboards and not body.get("overwrite"):
                return 412, {"message": "version-mismatch"}
            if body.get("folderUid") not in s.folders:
                return 400, {"message": "folder not found"}
            s.dashboards[dash["uid"]] = body
            return 200, {"uid": dash["uid"], "status": "success"}
        if m := re.fullmatch(r"/api/v1/provisioning/alert-rules/([^/]+)", path):
            uid = m.group(1)
            if uid not in s.rules:
                return 404, {"message": "rule not found"}
            if method == "GET":
                return 200, s.rules[uid]
            if method == "PUT":
                s.rules[uid] = body
                return 200, body
        if path == "/api/v1/provisioning/alert-rules" and method == "POST":
            if body["uid"] in s.rules:
                return 409, {"message": "rule exists"}
            if body["folderUID"] not in s.folders:
                return 400, {"message": "folder not found"}
            s.rules[body["uid"]] = body
            return 201, body
        if m := re.fullmatch(r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", path):
            if method == "PUT":
                missing = [r["uid"] for r in body["rules"] if r["uid"] not in s.rules]
                if missing:
                    return 400, {"message": f"unknown rules {missing}"}
                s.rule_groups[(m.group(1), m.group(2))] = body
                return 200, body
        if path == "/api/v1/provisioning/contact-points":
            if method == "GET":
                name = (query.get("name") or [None])[0]
                return 200, [p for p in s.contact_points.values() if name in (None, p["name"])]
            if method == "POST":
                if body["uid"] in s.contact_points:
                    return 409, {"message": "contact point exists"}
                s.contact_points[body["uid"]] = body
                return 202, body
        if m := re.fullmatch(r"/api/v1/provisioning/contact-points/([^/]+)", path):
            if method == "PUT" and m.group(1) in s.contact_points:
                s.contact_points[m.group(1)] = body
                return 202, {"message": "contactpoint updated"}
        if path == "/api/v1/provisioning/policies":
            if method == "GET":
                return 200, s.policies
            if method == "PUT":
                receivers = {p["name"] for p in s.contact_points.values()} | {"grafana-default-email", "ops"}
                if any(r["receiver"] not in receivers for r in body.get("routes", [])):
                    return 400, {"message": "unknown receiver"}
                s.policies = body
                return 202, {"message": "policies updated"}
        return 404, {"message": f"no route {method} {path}"}


class FakeGrafana:
    """``with FakeGrafana() as grafana: grafana.url``: serves on a free port until the block ends."""

    def __init__(self) -> None:
        self.state = GrafanaState()
        self.server_state = ServerState(main=self.state)
        handler = type("Handler", (_Handler,), {"server_state": self.server_state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def orgs(self) -> dict[int, GrafanaState]:
        """Organisation id -> its objects (org 1 included)."""
        return {org_id: self.server_state.org(org_id) for org_id in self.server_state.orgs}

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
