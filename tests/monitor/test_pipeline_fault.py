"""Pipeline faults as alerts: one per clinic whose data waits, resolved when it works again."""

from __future__ import annotations

from gaitstream.monitor.pipeline_fault import PipelineFault
from gaitstream.schemas.codec import decode, encode


def test_a_fault_opens_once_per_clinic_and_resolves_with_the_same_id() -> None:
    fault = PipelineFault(component="influxdb_sink")
    assert fault.healthy
    opened = fault.failed(fault="http_401", reason="token not accepted", clinics={"c2", "c1"}, time_us=10)
    assert [(r["clinic_id"], r["state"], r["kind"], r["severity"]) for r in opened] == [
        ("c1", "open", "pipeline_fault", "critical"),
        ("c2", "open", "pipeline_fault", "critical"),
    ]
    assert not fault.healthy
    # The same failure again (the retry): nothing new; a third clinic's data: its own alert.
    assert fault.failed(fault="http_401", reason="again", clinics={"c1"}, time_us=20) == []
    (c3,) = fault.failed(fault="http_401", reason="again", clinics={"c1", "c3"}, time_us=30)
    assert c3["clinic_id"] == "c3"
    resolved = fault.recovered(time_us=40)
    assert {r["alert_id"] for r in resolved} == {r["alert_id"] for r in [*opened, c3]}
    assert all(r["state"] == "resolved" for r in resolved) and fault.healthy
    assert fault.recovered(time_us=50) == []


def test_a_different_failure_resolves_the_old_alert_and_opens_a_new_one() -> None:
    fault = PipelineFault(component="influxdb_sink")
    (first,) = fault.failed(fault="http_401", reason="token", clinics={"c1"}, time_us=10)
    old, new = fault.failed(fault="http_404", reason="bucket", clinics={"c1"}, time_us=20)
    assert (old["state"], old["alert_id"]) == ("resolved", first["alert_id"])
    assert (new["state"], new["fault"]) == ("open", "http_404")


def test_fault_alerts_are_valid_wire_records_without_patient_data() -> None:
    (record,) = PipelineFault(component="influxdb_sink").failed(
        fault="http_403", reason="forbidden", clinics={"c1"}, time_us=10
    )
    kind, value = decode(encode("alert", record))
    assert kind == "alert" and value["patient_id"] == value["session_id"] == value["station_id"] == "-"
    assert value["sensor"] == "influxdb_sink" and value["fault"] == "http_403"
