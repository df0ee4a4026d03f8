"""Session fixtures: the real local stack (Kafka + InfluxDB on 127.0.0.1), started with the
project's own stack code and stopped at the end only if this run started it; a real PostgreSQL
(``tests/postgres.py``, loaded as a plugin)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gaitstream.settings import InfluxSettings, KafkaSettings

pytest_plugins = ["tests.postgres"]

# What the integration tests talked to, printed in pytest's terminal summary.
_REAL_SERVERS: dict[str, str] = {}


@pytest.fixture(scope="session")
def stack() -> Iterator[object]:
    from rich.console import Console

    from gaitstream.stack import Stack

    stack = Stack(console=Console(stderr=True))
    report = stack.up()
    # In-process clients of the tests (the operator's tools, simulated stations) sign frames with
    # the deployment's secret; processes the tests start get their own role's variables (tests/access.py).
    os.environ["GAITSTREAM_STATION_SIGNING_SECRET"] = stack.env()["GAITSTREAM_STATION_SIGNING_SECRET"]
    for status in stack.status():
        if not status.healthy:
            pytest.fail(f"{status.name} is not healthy after stack up: {status.detail}")
        owner = "started by this run" if status.name in report.started else "already running"
        _REAL_SERVERS[status.name] = f"{status.version} at {status.endpoint} ({owner})"
    yield stack
    # The broker outlives test runs (its state directory is kept): leave no test topics behind.
    from gaitstream.topics import delete_topics_with_prefix

    for prefix in ("it.", "gaitstream-it-echo"):
        delete_topics_with_prefix(stack.kafka.client_settings("admin"), prefix)
    # ... nor ACLs on test prefixes (a run killed before its cleanup leaves some).
    from gaitstream.access.admin import AccessAdmin

    with AccessAdmin(stack.kafka.client_settings("admin")) as admin:
        for prefix in ("it.", "e2e"):
            admin.revoke_prefix(prefix)
    if os.environ.get("GAITSTREAM_KEEP_STACK") != "1":
        stack.stop(report.started)


@pytest.fixture(scope="session")
def kafka_settings(stack) -> KafkaSettings:
    """The admin's settings (a super user): what the tests do as the operator."""
    return stack.kafka.client_settings("admin")


@pytest.fixture(scope="session")
def influx_settings(stack) -> InfluxSettings:
    env = stack.env()
    return InfluxSettings(
        url=env["GAITSTREAM_INFLUX_URL"],
        token=env["GAITSTREAM_INFLUX_TOKEN"],
        org=env["GAITSTREAM_INFLUX_ORG"],
        bucket=env["GAITSTREAM_INFLUX_BUCKET"],
        database=env["GAITSTREAM_INFLUX_DATABASE"],
    )


#: Fixtures that bring up a real server, and the marker each gives the tests that use it (directly
#: or through another fixture). Markers come from here, never by hand, so they cannot drift:
#: ``make check`` runs what has none (``-m "not integration"``).
SERVER_MARKERS = {
    "stack": "stack",
    "kafka_settings": "stack",
    "influx_settings": "stack",
    "postgres_server": "postgres",
    "browser": "browser",
}


#: Parametrised fixtures that ask for a server only for one of their parameters
#: (``request.getfixturevalue``, invisible among the fixture names): the parameter's marker.
SERVER_PARAMETERS = {"postgresql": "postgres"}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        kinds = {SERVER_MARKERS[name] for name in item.fixturenames if name in SERVER_MARKERS}
        params = getattr(getattr(item, "callspec", None), "params", {})
        kinds |= {SERVER_PARAMETERS[v] for v in params.values() if isinstance(v, str) and v in SERVER_PARAMETERS}
        for kind in sorted(kinds):
            item.add_marker(kind)
        if kinds:
            item.add_marker("integration")


def pytest_terminal_summary(terminalreporter) -> None:
    if _REAL_SERVERS:
        terminalreporter.section("real servers used by the integration tests")
        for name, desc in _REAL_SERVERS.items():
            terminalreporter.write_line(f"{name}: {desc}")
