"""A tiny real HTTP server on 127.0.0.1 that answers the Grafana API calls ``push`` makes, keeps
what was created like Grafana would (by uid / name), and records every request."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: object
    authorization: str | None


@dataclass
class GrafanaState:
    folders: dict[str, dict] = field(default_factory=dict)
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


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState

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
        self.state.requests.append(
            Recorded(self.command, url.path, parse_qs(url.query), body, self.headers.get("Authorization"))
        )
        status, payload = self._route(self.command, url.path, parse_qs(url.query), body)
        self._reply(status, payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _route(self, method: str, path: str, query: dict, body) -> tuple[int, object]:
        s = self.state
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
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
