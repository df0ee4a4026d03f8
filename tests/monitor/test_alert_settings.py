"""Alert settings: patient override -> clinic -> built-in default, validated, on the wire."""

from __future__ import annotations

import pytest

from gaitstream.monitor.alert_settings import (
    DEFAULT_SEVERITIES,
    AlertSettings,
    resolve_settings,
    settings_key,
    settings_record,
)
from gaitstream.schemas.codec import decode, encode


def test_resolution_order_field_by_field() -> None:
    clinic = settings_record(
        "c",
        updated_us=1,
        open_fraction=0.8,
        resolve_fraction=0.4,
        silent_after_s=20.0,
        dashboard_url="https://grafana.c",
        severities={"sensor_fault": "critical"},
    )
    patient = settings_record(
        "c", "p-1", updated_us=2, open_fraction=0.9, worsening_open_margin_deg=3.0, severities={"worsening": "critical"}
    )
    s = resolve_settings(clinic, patient)
    assert s.open_fraction == 0.9  # patient wins
    assert s.resolve_fraction == 0.4 and s.silent_after_s == 20.0 and s.dashboard_url == "https://grafana.c"  # clinic
    assert s.window_steps == 20 and s.worsening_resolve_margin_deg == 1.0  # built-in defaults
    assert s.worsening_open_margin_deg == 3.0
    assert s.severity("worsening") == "critical" and s.severity("sensor_fault") == "critical"
    assert s.severity("station_silent") == DEFAULT_SEVERITIES["station_silent"]
    assert resolve_settings(None, None) == AlertSettings()
    assert resolve_settings(clinic, None).open_fraction == 0.8


def test_records_round_trip_on_the_wire_with_nulls_meaning_inherit() -> None:
    record = settings_record("c", "p-1", updated_us=5, window_steps=30)
    kind, back = decode(encode("alert_settings", record))
    assert kind == "alert_settings" and back == record
    assert back["scope"] == "patient" and back["open_fraction"] is None
    assert resolve_settings(None, back).window_steps == 30


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"open_fraction": 0.5, "resolve_fraction": 0.6}, "resolve_fraction"),
        ({"worsening_open_margin_deg": 1.0, "worsening_resolve_margin_deg": 1.0}, "worsening_resolve_margin_deg"),
        ({"window_steps": 0}, "window_steps must be >= 1"),
        ({"severities": {"worsening": "loud"}}, "severities"),
        ({"colour": "red"}, "unknown settings"),
    ],
)
def test_settings_refuse_what_would_flap_or_mean_nothing(values: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        settings_record("c", updated_us=1, **values)


def test_keys() -> None:
    assert settings_key("c") == "clinic/c" and settings_key("c", "p-1") == "patient/c/p-1"
    with pytest.raises(ValueError, match="no '/'"):
        settings_key("c/x")


def test_dashboard_link() -> None:
    s = AlertSettings(dashboard_url="https://g.example/")
    link = s.link({"clinic_id": "c", "patient_id": "p", "session_id": "x"})
    assert link == "https://g.example/d/gaitstream-patient-session?var-clinic=c&var-patient=p&var-session=x"
    assert s.link({"clinic_id": "c", "patient_id": "p", "session_id": "x", "time_us": 1_700_000_000_123_456}).endswith(
        "&var-session=x&from=1700000000123&to=now"
    )
