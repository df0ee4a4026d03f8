"""A sample alert for ``gaitstream alerts test-send`` (a realistic open pelvic-drop warning)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from gaitstream.services.alerts.dispatch.messages import Message, render_alert

# Delivery id 0: no row of the delivery log has it, so a receiver can tell a test from an alert.
TEST_DELIVERY_ID = 0


def sample_alert(now_us: int | None = None) -> SimpleNamespace:
    now_us = int(time.time() * 1e6) if now_us is None else now_us
    return SimpleNamespace(
        alert_id=f"test-session:pelvic_drop_sustained:left:{now_us}",
        state="open",
        kind="pelvic_drop_sustained",
        severity="warning",
        clinic_id="test-clinic",
        station_id="station-test",
        session_id="test-session",
        patient_id="p-test",
        side="left",
        value=7.4,
        threshold=6.0,
        message="test message from gaitstream alerts test-send: sustained pelvic drop on the left",
        dashboard_url=None,
        metric="pelvic_drop_deg_median",
        baseline=None,
        sensor=None,
        fault=None,
        opened_at_us=now_us,
        resolved_at_us=None,
        resolve_message=None,
        acknowledged_at=None,
    )


def sample_message() -> Message:
    return render_alert(TEST_DELIVERY_ID, "open", sample_alert())
