"""InfluxDB 1.x (>= 1.8: v2-compatible ``/api/v2/write``, Flux, InfluxQL) built with ``go install``.

Notes on the build (verified on these machines):
1. InfluxData's ``pkg-config`` wrapper builds Flux's Rust core (``libflux``) with cargo.
2. libflux pins Rust 1.72 in ``rust-toolchain.toml``; no toolchain can be downloaded here, so
   ``RUSTUP_TOOLCHAIN=stable`` makes rustup use the installed one.
3. Flux's crates ``deny(warnings)`` and newer rustc versions add lints. ``RUSTFLAGS=--cap-lints``
   does not reach host artefacts (build scripts and their dependencies) when cargo is given
   ``--target``, which the wrapper does; a ``RUSTC_WRAPPER`` that appends ``--cap-lints=warn`` to
   every rustc call does.
4. ``go install`` embeds no version; ``-ldflags -X main.version=`` restores it for ``status``.
"""

from __future__ import annotations

import json
import os
import secrets
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


class InfluxDBServer:
    """One local InfluxDB 1.x with auth on, an admin user with a generated password, and our database."""

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
        return self.settings.state_dir / "influxdb"

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
                "go": "build InfluxDB (go install)",
                "cargo": "build Flux's Rust core for InfluxDB",
                "rustc": "build Flux's Rust core for InfluxDB",
                "cc": "link InfluxDB with cgo",
                "pkg-config": "let InfluxData's pkg-config wrapper locate Flux",
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
            "GOFLAGS": "-mod=mod",
        }
        log_file = self.settings.cache_dir / "logs" / "influxdb-build.log"
        elapsed = run_logged(
            ["go", "install", f"github.com/influxdata/pkg-config@{self.settings.influxdb_pkg_config_version}"],
            step="build InfluxData pkg-config wrapper",
            log_file=log_file,
            console=self.console,
            env=env,
            timeout_s=self.settings.build_timeout_s,
        )
        version = self.settings.influxdb_version.lstrip("v")
        elapsed += run_logged(
            [
                "go",
                "install",
                f"-ldflags=-X main.version={version} -X main.branch=go-install",
                f"github.com/influxdata/influxdb/cmd/influxd@{self.settings.influxdb_version}",
            ],
            step=f"build InfluxDB {self.settings.influxdb_version} with Flux (first time: 10-25 min)",
            log_file=log_file,
            console=self.console,
            env={**env, "PKG_CONFIG": str(self.bin_dir / "pkg-config")},
            timeout_s=self.settings.build_timeout_s,
        )
        if not self.installed():
            raise StackError(
                "go install finished but influxd is missing", step="build InfluxDB", log_file=str(log_file)
            )
        return elapsed

    def _write_config(self) -> Path:
        s = self.settings
        for sub in ("meta", "data", "wal"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        conf = self.home / "influxdb.conf"
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "{s.host}:{s.influxdb_rpc_port}"

[meta]
  dir = "{self.home / "meta"}"

[data]
  dir = "{self.home / "data"}"
  wal-dir = "{self.home / "wal"}"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "{s.host}:{s.influxdb_http_port}"
  auth-enabled = true
  flux-enabled = true
  log-enabled = false

[monitor]
  store-enabled = false
"""
        )
        return conf

    def credentials(self) -> dict[str, str]:
        """The local admin's user and password, generated once and kept readable by the owner only."""
        if self.credentials_file.exists():
            return json.loads(self.credentials_file.read_text())
        self.home.mkdir(parents=True, exist_ok=True)
        creds = {"user": self.settings.influxdb_admin_user, "password": secrets.token_urlsafe(24)}
        fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(creds, fh)
        return creds

    def token(self) -> str:
        """The v2-compatible API token of InfluxDB 1.x: ``user:password``."""
        creds = self.credentials()
        return f"{creds['user']}:{creds['password']}"

    def start(self) -> bool:
        if self.process.pid() is not None:
            self._bootstrap()  # idempotent: a crash between start and bootstrap must not leave it half set up
            return False
        if port_open(self.settings.host, self.settings.influxdb_http_port):
            return False
        self.install()
        conf = self._write_config()
        self.process.start([str(self.binary), "run", "-config", str(conf)], cwd=self.home)
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

    def query(self, q: str, *, auth: bool = True) -> dict:
        """Run an InfluxQL statement on ``/query`` (POST), raising StackError on failure."""
        creds = self.credentials()
        resp = httpx.post(
            f"{self.settings.influxdb_url}/query",
            data={"q": q},
            timeout=10.0,
            auth=(creds["user"], creds["password"]) if auth else None,
        )
        body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        errors = [r.get("error") for r in body.get("results", []) if r.get("error")]
        if resp.status_code >= 400 or errors or body.get("error"):
            raise StackError(
                f"InfluxQL {q.split()[0]} failed: {resp.status_code} {errors or body or resp.text}",
                step="bootstrap InfluxDB",
            )
        return body

    def _bootstrap(self) -> None:
        """Create the admin user (allowed unauthenticated only while none exists) and the database."""
        creds = self.credentials()
        users = httpx.post(
            f"{self.settings.influxdb_url}/query",
            data={"q": "SHOW USERS"},
            timeout=10.0,
            auth=(creds["user"], creds["password"]),
        )
        # With auth on and no user yet, InfluxDB answers 403 "create admin user first".
        if "create admin user first" in users.text:
            self.query(
                f"CREATE USER \"{creds['user']}\" WITH PASSWORD '{creds['password']}' WITH ALL PRIVILEGES", auth=False
            )
        self.query(f'CREATE DATABASE "{self.settings.influxdb_database}"')

    def stop(self) -> bool:
        return self.process.stop(self.settings.stop_timeout_s)

    def status(self) -> ServerStatus:
        version = self._ping()
        detail = "ok"
        if version is not None:
            try:
                dbs = self.query("SHOW DATABASES")
                names = [row[0] for row in dbs["results"][0].get("series", [{}])[0].get("values", [])]
                detail = f"databases={','.join(names)}"
            except (StackError, httpx.HTTPError, KeyError, IndexError) as exc:
                detail = f"query failed: {exc}"
        return ServerStatus(
            name=self.name,
            healthy=version is not None and not detail.startswith("query failed"),
            managed=self.process.pid() is not None,
            pid=self.process.pid(),
            endpoint=self.settings.influxdb_url,
            version=version or (self.settings.influxdb_version if self.installed() else "not built"),
            detail=detail if version else "not answering /ping",
        )
