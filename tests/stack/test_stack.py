"""The local stack's own behaviour: idempotent up, status, down stops only what it started."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from gaitstream.stack import MissingToolError, Stack, StackError, StackSettings
from gaitstream.stack.build import require_tools, run_logged


def test_second_up_does_nothing_but_report(stack) -> None:
    report = Stack(settings=stack.settings).up()
    assert report.started == []
    assert report.already_running == ["kafka", "influxdb"]
    assert report.setup_s == {"kafka": 0.0, "influxdb": 0.0}


def test_status_shows_health_endpoints_and_versions(stack) -> None:
    by_name = {s.name: s for s in stack.status()}
    assert by_name["kafka"].healthy and by_name["kafka"].version == stack.settings.kafka_version
    assert by_name["kafka"].endpoint == f"127.0.0.1:{stack.settings.kafka_port}"
    assert by_name["influxdb"].healthy
    assert by_name["influxdb"].version == stack.settings.influxdb_version.lstrip("v")
    assert stack.settings.influxdb_database in by_name["influxdb"].detail


def test_status_command_exits_zero_and_prints_versions(stack) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gaitstream", "stack", "status"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "kafka" in out.stdout and stack.settings.kafka_version in out.stdout
    assert "healthy" in out.stdout and "down" not in out.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_down_stops_only_what_this_stack_started(stack, tmp_path: Path) -> None:
    other = StackSettings(
        state_dir=tmp_path / "state",
        cache_dir=stack.settings.cache_dir,
        kafka_port=_free_port(),
        kafka_controller_port=_free_port(),
        influxdb_http_port=_free_port(),
    )
    # Something else (not ours) already listens on the other stack's Kafka port.
    foreign = socket.socket()
    foreign.bind(("127.0.0.1", other.kafka_port))
    foreign.listen()
    try:
        second = Stack(settings=other, console=Console(stderr=True))
        assert second.kafka.start() is False
        assert second.influxdb.start() is True
        assert second.down() == ["influxdb"]
        assert second.influxdb.status().healthy is False
        # The foreign listener and the session's own stack are untouched.
        socket.create_connection(("127.0.0.1", other.kafka_port), timeout=2).close()
        assert all(s.healthy for s in stack.status())
    finally:
        foreign.close()


def test_missing_tool_is_named() -> None:
    with pytest.raises(MissingToolError, match="missing tool 'no-such-tool-xyz', needed to build things"):
        require_tools({"no-such-tool-xyz": "build things"})


def test_failed_step_names_step_and_quotes_log(tmp_path: Path) -> None:
    with pytest.raises(StackError) as info:
        run_logged(
            ["sh", "-c", "echo compiling; echo 'error: linker failed'; exit 3"],
            step="build thing",
            log_file=tmp_path / "build.log",
            console=Console(stderr=True),
            timeout_s=30,
        )
    text = str(info.value)
    assert "build thing failed with exit code 3" in text and "error: linker failed" in text
    assert "step=build thing" in text and str(tmp_path / "build.log") in text


def test_compose_influxdb_init_script_ran_and_runs_again_idempotently(stack) -> None:
    """deploy/influxdb/init.sh is what compose's influxdb-init runs; the stack ran it at start-up.
    Again: nothing is created twice, and Grafana's login reads InfluxQL but cannot write."""
    import httpx

    server = stack.influxdb
    server._bootstrap()
    mappings = server.api("GET", "/api/v2/dbrps", params={"orgID": server.bucket()["orgID"]})["content"]
    stored = [m for m in mappings if not m.get("virtual")]
    assert [(m["database"], m["retention_policy"], m["default"]) for m in stored] == [
        (stack.settings.influxdb_database, "autogen", True)
    ]
    logins = server.api("GET", "/private/legacy/authorizations")["authorizations"]
    assert [a["token"] for a in logins] == [stack.settings.influxdb_grafana_user]
    assert [p["action"] for p in logins[0]["permissions"]] == ["read"]
    user, password = server.grafana_login()
    url = stack.settings.influxdb_url
    read = httpx.post(f"{url}/query", data={"db": "gaitstream", "q": "SHOW MEASUREMENTS"}, auth=(user, password))
    assert read.status_code == 200 and "error" not in read.json()["results"][0]
    write = httpx.post(f"{url}/write", params={"db": "gaitstream"}, content=b"it_grafana v=1", auth=(user, password))
    assert write.status_code == 403
    wrong = httpx.post(f"{url}/query", data={"db": "gaitstream", "q": "SHOW MEASUREMENTS"}, auth=(user, "wrong"))
    assert wrong.status_code == 401


def test_the_sinks_token_writes_the_bucket_and_nothing_else(stack) -> None:
    """init.sh gives the pipeline's sink a token scoped to writing the gaitstream bucket: it
    cannot read, cannot write another bucket, cannot manage anything; a second run keeps it."""
    import uuid

    import httpx

    server = stack.influxdb
    token = server.sink_token()
    server._bootstrap()
    assert server.sink_token() == token  # kept while its authorization exists
    url, org = stack.settings.influxdb_url, stack.settings.influxdb_org
    headers = {"Authorization": f"Token {token}"}
    marker = uuid.uuid4().hex[:8]
    ok = httpx.post(
        f"{url}/api/v2/write",
        params={"org": org, "bucket": stack.settings.influxdb_bucket},
        content=f"it_sink_scope,run={marker} v=1".encode(),
        headers=headers,
    )
    assert ok.status_code == 204, ok.text
    flux = f'from(bucket: "{stack.settings.influxdb_bucket}") |> range(start: -1h) |> limit(n: 1)'
    read = httpx.post(f"{url}/api/v2/query", params={"org": org}, json={"query": flux}, headers=headers)
    assert read.status_code in (401, 403, 404), read.text
    query = f"SELECT * FROM it_sink_scope WHERE run = '{marker}'"
    influxql = httpx.post(f"{url}/query", data={"db": "gaitstream", "q": query}, headers=headers)
    assert influxql.status_code in (401, 403) or not influxql.json()["results"][0].get("series"), influxql.text
    other = f"it-scope-{marker}"
    bucket = server.api("POST", "/api/v2/buckets", json={"orgID": server.bucket()["orgID"], "name": other})
    try:
        elsewhere = httpx.post(
            f"{url}/api/v2/write", params={"org": org, "bucket": other}, content=b"it_sink_scope v=1", headers=headers
        )
        assert elsewhere.status_code in (401, 403, 404), elsewhere.text
    finally:
        server.api("DELETE", f"/api/v2/buckets/{bucket['id']}")
    # It lists no other authorization (InfluxDB filters what a token may see): no operator token.
    listed = httpx.get(f"{url}/api/v2/authorizations", headers=headers)
    assert server.token() not in listed.text and listed.json().get("authorizations", []) in ([],), listed.text
    assert httpx.get(f"{url}/api/v2/buckets", headers=headers).json().get("buckets", []) == []
    # The operator's own token reads what the sink wrote.
    admin = httpx.post(
        f"{url}/api/v2/query",
        params={"org": org},
        json={"query": flux.replace("limit(n: 1)", f'filter(fn: (r) => r.run == "{marker}")')},
        headers={"Authorization": f"Token {server.token()}"},
    )
    assert admin.status_code == 200 and marker in admin.text


def test_cluster_ids_never_start_with_a_dash() -> None:
    from gaitstream.stack.kafka import new_cluster_id

    cluster_ids = [new_cluster_id() for _ in range(5000)]
    assert all(len(cluster_id) == 22 and not cluster_id.startswith("-") for cluster_id in cluster_ids)
    assert len(set(cluster_ids)) == len(cluster_ids)


def test_the_reports_token_reads_the_bucket_and_nothing_else(stack) -> None:
    """init.sh gives the session reports a token scoped to reading the gaitstream bucket: it
    reads what the operator wrote, cannot write, lists no authorization; a second run keeps it."""
    import uuid

    import httpx

    server = stack.influxdb
    token = server.report_token()
    server._bootstrap()
    assert server.report_token() == token
    url, org, bucket = stack.settings.influxdb_url, stack.settings.influxdb_org, stack.settings.influxdb_bucket
    marker = uuid.uuid4().hex[:8]
    admin = {"Authorization": f"Token {server.token()}"}
    headers = {"Authorization": f"Token {token}"}
    wrote = httpx.post(
        f"{url}/api/v2/write",
        params={"org": org, "bucket": bucket},
        content=f"it_report_scope,run={marker} v=1",
        headers=admin,
    )
    assert wrote.status_code == 204, wrote.text
    flux = f'from(bucket: "{bucket}") |> range(start: -1h) |> filter(fn: (r) => r.run == "{marker}")'
    read = httpx.post(f"{url}/api/v2/query", params={"org": org}, json={"query": flux}, headers=headers)
    assert read.status_code == 200 and marker in read.text, read.text
    write = httpx.post(
        f"{url}/api/v2/write", params={"org": org, "bucket": bucket}, content=b"it_report_scope v=2", headers=headers
    )
    assert write.status_code in (401, 403, 404), write.text
    listed = httpx.get(f"{url}/api/v2/authorizations", headers=headers)
    assert server.token() not in listed.text and server.sink_token() not in listed.text
