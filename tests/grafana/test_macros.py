"""The substitution the query tests rely on."""

from __future__ import annotations

import pytest

from gaitstream.grafana import queries
from tests.grafana.macros import render


def test_every_macro_and_variable_is_substituted() -> None:
    text = render(queries.OVERVIEW_LIVE_SAMPLES, from_ms=1000, to_ms=2000, clinic="c-1", station=["s.1", "s2"])
    assert '"clinic" =~ /^c-1$/' in text and r'"station" =~ /^(s\.1|s2)$/' in text
    assert "time > 2000ms - 10s" in text


def test_a_missing_variable_is_an_error() -> None:
    with pytest.raises(AssertionError, match="unsubstituted"):
        render(queries.SESSION_ALERTS, from_ms=0, to_ms=1, clinic="c", patient="p")
