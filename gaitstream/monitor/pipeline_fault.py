"""Faults of the pipeline itself, as alerts (pure): a component that cannot do its job because
of its configuration or a server it depends on (e.g. InfluxDB refuses the sink's token, or the
bucket is gone), rather than because of a patient's data.

One alert per clinic whose data is held up, opened at the first failure and resolved when the
component works again; the component keeps retrying meanwhile, so nothing is lost.

Wire records are ``alert`` v2 with kind ``pipeline_fault`` (critical), ``sensor`` naming the
component (e.g. ``influxdb_sink``) and ``fault`` what failed (e.g. ``http_401``); no station,
session or patient (``-``): supervisors of the clinic receive it through their subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KIND = "pipeline_fault"
NO_SUBJECT = "-"


def fault_record(
    *, clinic_id: str, component: str, fault: str, state: str, time_us: int, opened_us: int, message: str
) -> dict:
    return {
        "alert_id": f"{clinic_id}:{KIND}:{component}:{fault}:{opened_us}",
        "state": state,
        "kind": KIND,
        "severity": "critical" if state == "open" else "info",
        "time_us": int(time_us),
        "clinic_id": clinic_id,
        "station_id": NO_SUBJECT,
        "session_id": NO_SUBJECT,
        "patient_id": NO_SUBJECT,
        "side": None,
        "value": None,
        "threshold": None,
        "message": message,
        "dashboard_url": None,
        "sensor": component,
        "fault": fault,
        "baseline": None,
        "metric": None,
    }


@dataclass
class PipelineFault:
    """The open fault of one component (e.g. the InfluxDB sink) per clinic."""

    component: str
    open: dict[str, tuple[str, int]] = field(default_factory=dict)  # clinic -> (fault, opened_us)

    @property
    def healthy(self) -> bool:
        return not self.open

    def failed(self, *, fault: str, reason: str, clinics: set[str], time_us: int) -> list[dict]:
        """The component failed on data of ``clinics``: an alert for each clinic not yet alerted
        (a clinic whose fault changed gets the old one resolved and the new one opened)."""
        records = []
        for clinic in sorted(clinics):
            current = self.open.get(clinic)
            if current is not None and current[0] == fault:
                continue
            if current is not None:
                records.append(self._resolve(clinic, time_us, f"{self.component}: now failing differently"))
            self.open[clinic] = (fault, time_us)
            records.append(
                fault_record(
                    clinic_id=clinic,
                    component=self.component,
                    fault=fault,
                    state="open",
                    time_us=time_us,
                    opened_us=time_us,
                    message=f"{self.component} cannot store data (retrying): {reason}"[:500],
                )
            )
        return records

    def recovered(self, *, time_us: int) -> list[dict]:
        """The component works again: every open alert resolves."""
        return [self._resolve(clinic, time_us, f"{self.component} works again") for clinic in sorted(self.open)]

    def _resolve(self, clinic: str, time_us: int, message: str) -> dict:
        fault, opened_us = self.open.pop(clinic)
        return fault_record(
            clinic_id=clinic,
            component=self.component,
            fault=fault,
            state="resolved",
            time_us=time_us,
            opened_us=opened_us,
            message=message,
        )
