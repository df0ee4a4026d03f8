"""The substitution the query tests rely on."""

from __future__ import annotations

import pytest

from gaitstream.grafana import queries
from tests.grafana.macros import render


def test_every_macro_and_variable_is_substituted() -> None:
    text = render(
        queries.OVERVIEW_PELVIC_DROP, from_ms=1000, to_ms=2000, interval="2s", clinic="c-1", station=["s.1", "s2"]
    )
    assert '"clinic" =~ /^c-1$/' in text and r'"station" =~ /^(s\.1|s2)$/' in text
    assert "time >= 1000ms and time <= 2000ms" in text and "GROUP BY time(2s)" in text
    assert render("time > ${__to}ms - ${__from}ms", from_ms=1, to_ms=2) == "time > 2ms - 1ms"


def test_a_missing_variable_is_an_error() -> None:
    with pytest.raises(AssertionError, match="unsubstituted"):
        render(queries.SESSION_ALERTS, from_ms=0, to_ms=1, clinic="c", patient="p")
