"""``gaitstream worker``: what it hands Faust (the process is replaced, so the call is caught here)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import gaitstream.topics
from gaitstream.cli import build_app


@pytest.fixture()
def execv(monkeypatch):
    calls = []
    monkeypatch.setattr(gaitstream.topics, "ensure_topics", lambda *a, **k: None)
    monkeypatch.setattr("os.execv", lambda path, argv: calls.append(argv))
    return calls


def test_the_web_status_listens_on_loopback_unless_told_otherwise(execv):
    result = CliRunner().invoke(build_app(), ["worker", "--web-port", "6066"])
    assert result.exit_code == 0, result.output
    argv = execv[-1]
    assert argv[argv.index("--web-port") + 1] == "6066"
    assert argv[argv.index("--web-host") + 1] == "127.0.0.1"  # its routes show checkpoints: never 0.0.0.0


def test_without_a_web_port_there_is_no_web_server(execv):
    CliRunner().invoke(build_app(), ["worker"])
    assert "--without-web" in execv[-1] and "--web-host" not in execv[-1]
