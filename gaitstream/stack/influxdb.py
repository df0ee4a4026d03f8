"""InfluxDB 2.7 (the version ``docker-compose.yml`` deploys) built from its Go module.

Notes on the build (verified on these machines):
1. ``go install module@version`` ignores a module's ``replace`` directives and refuses modules
   that have one; ``github.com/influxdata/influxdb/v2`` has one. ``go mod download`` puts the
   module's source in the module cache; ``go build ./cmd/influxd`` there builds it as the main
   module, ``replace`` honoured. Without the ``assets`` tag: no UI, nothing to fetch from GitHub.
2. InfluxData's ``pkg-config`` wrapper builds Flux's Rust core (``libflux``) with cargo.
3. libflux pins an old Rust in ``rust-toolchain.toml``; no toolchain can be downloaded here, so
   ``RUSTUP_TOOLCHAIN=stable`` makes rustup use the installed one.
4. Flux's crates ``deny(warnings)`` and newer rustc versions add lints. ``RUSTFLAGS=--cap-lints``
   does not reach host artefacts (build scripts and their dependencies) when cargo is given
   ``--target``, which the wrapper does; a ``RUSTC_WRAPPER`` that appends ``--cap-lints=warn`` to
   every rustc call does.
5. ``-ldflags -X main.version=`` gives ``influxd version`` and ``/ping`` the release number.

Set up by ``deploy/influxdb/init.sh``, the script compose's ``influxdb-init`` runs: onboarding
(an admin user, the organisation, the bucket and an operator token, as the compose service's
``DOCKER_INFLUXDB_INIT_MODE=setup`` does), the DBRP mapping that lets InfluxQL (the dashboards,
the tests) read the bucket as database ``gaitstream``, and Grafana's read-only v1 login.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx
from rich.console import Console

from gaitstream.stack.build import require_tools, run_logged
from gaitstream.stack.exceptions import StackError
from gaitstream.stack.kafka import ServerStatus
from gaitstream.stack.process import ManagedProcess, port_open
from gaitstream.stack.settings import StackSettings

RUSTC_CAP_LINTS = """#!/bin/sh
# cargo calls: <this> <rustc> <args...>; cap lints for every crate, host build scripts included.
exec "$@" --cap-lints=warn
"""
MODULE = "github.com/influxdata/influxdb/v2"
# The tags of InfluxData's own build, less ``assets`` (the UI).
BUILD_TAGS = "sqlite_foreign_keys,sqlite_json"
# The set-up compose runs (influxdb-init): run here too, so the tests run what clinics get.
INIT_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "influxdb" / "init.sh"


class InfluxDBServer:
    """One local InfluxDB 2.x: the org and bucket of compose, an operator token, a DBRP mapping."""

    name = "influxdb"

    def __init__(self, settings: StackSettings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.process = ManagedProcess(self.name, settings.state_dir)

    @property
    def bin_dir(self) -> Path:
        return self.settings.cache_dir / "influxdb" / self.settings.influxdb_version / "bin"

    @property
    def binary(self) -> Path:
        return self.bin_dir / "influxd"

    @property
    def home(self) -> Path:
        # Not ``influxdb``: that held the 1.x data of earlier versions of this stack.
        return self.settings.state_dir / "influxdb2"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    def installed(self) -> bool:
        return self.binary.exists()

    def install(self) -> float:
        """Build ``influxd`` into the cache (once; Go and cargo caches make rebuilds quick)."""
        if self.installed():
            return 0.0
        require_tools(
            {
                "go": "build InfluxDB (go build)",
                "cargo": "build Flux's Rust core for InfluxDB",
                "rustc": "build Flux's Rust core for InfluxDB",
                "cc": "link InfluxDB with cgo",
                "curl": "set InfluxDB up (deploy/influxdb/init.sh, as compose does)",
            }
        )
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        wrapper = self.bin_dir / "rustc-cap-lints"
        wrapper.write_text(RUSTC_CAP_LINTS)
        wrapper.chmod(0o755)
        env = {
            "GOBIN": str(self.bin_dir),
            "CGO_ENABLED": "1",
            "RUSTUP_TOOLCHAIN": os.environ.get("RUSTUP_TOOLCHAIN", "stable"),
            "RUSTC_WRAPPER": str(wrapper),
            # The go.mod's toolchain line asks for an older Go than the one installed: use ours.
            "GOTOOLCHAIN": "local",
        }
        log_file = self.settings.cache_dir / "logs" / "influxdb-build.log"
        elapsed = run_logged(
            ["go", "install", f"github.com/influxdata/pkg-config@{self.settings.influxdb_pkg_config_version}"],
            step="build InfluxData pkg-config wrapper",
            log_file=log_file,
            console=self.console,
            env={**env, "GOFLAGS": "-mod=mod"},
            timeout_s=self.settings.build_timeout_s,
        )
        started = time.monotonic()
        source = self._module_source(env)
        elapsed += time.monotonic() - started
        version = self.settings.influxdb_version.lstrip("v")
        elapsed += run_logged(
            [
                "go",
                "build",
                "-tags",
                BUILD_TAGS,
                f"-ldflags=-X main.version={version} -X main.commit=go-module",
                "-o",
                str(self.binary),
                "./cmd/influxd",
            ],
            step=f"build InfluxDB {self.settings.influxdb_version} with Flux (first time: 10-25 min)",
            log_file=log_file,
            console=self.console,
            cwd=source,
            env={**env, "PKG_CONFIG": str(self.bin_dir / "pkg-config")},
            timeout_s=self.settings.build_timeout_s,
        )
        if not self.installed():
            raise StackError("go build finished but influxd is missing", step="build InfluxDB", log_file=str(log_file))
        return elapsed

    def _module_source(self, env: dict[str, str]) -> Path:
        """The module's source in Go's module cache (downloaded once, verified against go.sum's database)."""
        module = f"{MODULE}@{self.settings.influxdb_version}"
        proc = subprocess.run(
            ["go", "mod", "download", "-json", module],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=self.settings.build_timeout_s,
            check=False,
        )
        try:
            info = json.loads(proc.stdout)
        except json.JSONDecodeError:
            info = {}
        if proc.returncode != 0 or "Dir" not in info:
            raise StackError(
                f"go mod download {module} failed: {info.get('Error') or proc.stderr.strip()[-500:]}",
                step="download InfluxDB's source",
            )
        return Path(info["Dir"])

    def credentials(self) -> dict[str, str]:
        """The local admin's user, password and operator token, generated once, readable by the owner only."""
        if self.credentials_file.exists():
            return json.loads(self.credentials_file.read_text())
        self.home.mkdir(parents=True, exist_ok=True)
        creds = {
            "user": self.settings.influxdb_admin_user,
            "password": secrets.token_urlsafe(24),
            "token": secrets.token_urlsafe(48),
            "grafana_password": secrets.token_urlsafe(24),
        }
        fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(creds, fh)
        return creds

    @property
    def sink_token_file(self) -> Path:
        return self.home / "sink.token"

    def sink_token(self) -> str:
        """The pipeline sink's token: write the bucket, nothing else (deploy/influxdb/init.sh)."""
        return self.sink_token_file.read_text().strip()

    @property
    def report_token_file(self) -> Path:
        return self.home / "report.token"

    def report_token(self) -> str:
        """The session reports' token: read the bucket, nothing else (deploy/influxdb/init.sh)."""
        return self.report_token_file.read_text().strip()

    def token(self) -> str:
        """The operator token (all permissions), as ``DOCKER_INFLUXDB_INIT_ADMIN_TOKEN`` in compose."""
        return self.credentials()["token"]

    def grafana_login(self) -> tuple[str, str]:
        """Grafana's read-only InfluxQL login (v1 user and password), as compose's .env gives it."""
        return self.settings.influxdb_grafana_user, self.credentials()["grafana_password"]

    def start(self) -> bool:
        if self.process.pid() is not None:
            running = self._ping()
            wanted = self.settings.influxdb_version.lstrip("v")
            if running is None or running.lstrip("v") == wanted:
                self._bootstrap()  # idempotent: a crash between start and bootstrap must not leave it half set up
                return False
            # An earlier version of this stack (one that ran InfluxDB 1.x) is still running.
            self.console.print(f"stopping InfluxDB {running}: this stack runs {wanted}")
            self.process.stop(self.settings.stop_timeout_s)
        if port_open(self.settings.host, self.settings.influxdb_http_port):
            return False
        self.install()
        self.home.mkdir(parents=True, exist_ok=True)
        self.process.start(
            [
                str(self.binary),
                "--bolt-path",
                str(self.home / "influxd.bolt"),
                "--engine-path",
                str(self.home / "engine"),
                "--sqlite-path",
                str(self.home / "influxd.sqlite"),
                "--http-bind-address",
                f"{self.settings.host}:{self.settings.influxdb_http_port}",
                "--reporting-disabled",
                "--ui-disabled",
                "--hardening-enabled",
            ],
            cwd=self.home,
        )
        self.wait_ready()
        self._bootstrap()
        return True

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.pid() is None:
                raise StackError(
                    "influxd exited during start-up:\n    " + "\n    ".join(self.process.tail(10)),
                    step="start InfluxDB",
                    log_file=str(self.process.log_file),
                )
            if self._ping() is not None:
                return
            time.sleep(0.3)
        raise StackError(
            f"InfluxDB not ready within {self.settings.startup_timeout_s:.0f} s",
            step="start InfluxDB",
            log_file=str(self.process.log_file),
        )

    def _ping(self) -> str | None:
        try:
            resp = httpx.get(f"{self.settings.influxdb_url}/ping", timeout=2.0)
        except httpx.HTTPError:
            return None
        return resp.headers.get("X-Influxdb-Version") if resp.status_code == 204 else None

    def api(self, method: str, path: str, *, auth: bool = True, **kwargs) -> dict:
        """Call the v2 API with the operator token, raising StackError on failure."""
        headers = {"Authorization": f"Token {self.token()}"} if auth else {}
        resp = httpx.request(method, f"{self.settings.influxdb_url}{path}", headers=headers, timeout=10.0, **kwargs)
        if resp.status_code >= 400:
            raise StackError(
                f"InfluxDB {method} {path} failed: {resp.status_code} {resp.text[:300]}", step="bootstrap InfluxDB"
            )
        return resp.json() if resp.content else {}

    def _bootstrap(self) -> None:
        """Run ``deploy/influxdb/init.sh``, the script compose's ``influxdb-init`` runs: onboarding
        (user, org, bucket, operator token) the first time, the DBRP mapping, Grafana's read-only
        v1 login. Idempotent."""
        s = self.settings
        creds = self.credentials()
        script = INIT_SCRIPT
        if not script.is_file():
            raise StackError(f"{script} is missing (run the stack from a checkout)", step="bootstrap InfluxDB")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "INFLUX_HOST": s.influxdb_url,
            "INFLUX_TOKEN": creds["token"],
            "INFLUX_ORG": s.influxdb_org,
            "BUCKET": s.influxdb_bucket,
            "ADMIN_USER": creds["user"],
            "ADMIN_PASSWORD": creds["password"],
            "GRAFANA_USER": s.influxdb_grafana_user,
            "GRAFANA_PASSWORD": creds["grafana_password"],
            "SINK_TOKEN_FILE": str(self.sink_token_file),
            "REPORT_TOKEN_FILE": str(self.report_token_file),
        }
        proc = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise StackError(
                f"{script.name} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-500:]}",
                step="bootstrap InfluxDB",
            )

    def bucket(self) -> dict:
        found = self.api(
            "GET", "/api/v2/buckets", params={"org": self.settings.influxdb_org, "name": self.settings.influxdb_bucket}
        )
        if not found.get("buckets"):
            raise StackError(f"bucket {self.settings.influxdb_bucket} missing", step="bootstrap InfluxDB")
        return found["buckets"][0]

    def stop(self) -> bool:
        return self.process.stop(self.settings.stop_timeout_s)

    def status(self) -> ServerStatus:
        version = self._ping()
        detail = "ok"
        if version is not None:
            try:
                bucket = self.bucket()
                dbrps = self.api("GET", "/api/v2/dbrps", params={"orgID": bucket["orgID"]}).get("content", [])
                detail = f"org={self.settings.influxdb_org} bucket={bucket['name']} databases=" + ",".join(
                    sorted(m["database"] for m in dbrps)
                )
            except (StackError, httpx.HTTPError, KeyError, ValueError) as exc:
                detail = f"query failed: {exc}"
        return ServerStatus(
            name=self.name,
            healthy=version is not None and not detail.startswith("query failed"),
            managed=self.process.pid() is not None,
            pid=self.process.pid(),
            endpoint=self.settings.influxdb_url,
            version=(version or "").lstrip("v")
            or (self.settings.influxdb_version if self.installed() else "not built"),
            detail=detail if version else "not answering /ping",
        )
