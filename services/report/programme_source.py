"""The patient's programme for a report, read from the alerts API (its programme endpoints) with a
key scoped to the clinic. No key configured, or no programme yet: None (the report says so)."""

from __future__ import annotations

from datetime import datetime

import httpx

from gaitstream.services.report.make import Programme

TIMEOUT_S = 10.0


def programme_from_history(revisions: list[dict]) -> Programme | None:
    """The current revision (the last) and since when its phase runs (pure)."""
    if not revisions:
        return None
    current = revisions[-1]
    since = current["created_at"]
    for revision in reversed(revisions):
        if revision["phase"] != current["phase"]:
            break
        since = revision["created_at"]
    return Programme(
        phase=current["phase"],
        sides=tuple(current.get("sides") or ()),
        target_pelvic_drop_deg=float(current["target_pelvic_drop_deg"]),
        feedback_plan=current.get("feedback_plan"),
        phase_since=datetime.fromisoformat(str(since).replace("Z", "+00:00")),
    )


class ApiProgrammes:
    """``programme_of(clinic_id, patient_id)`` over the alerts API."""

    def __init__(self, api_url: str, api_key: str, *, ca_file: str | None = None) -> None:
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=TIMEOUT_S,
            verify=ca_file or True,
        )

    def __call__(self, clinic_id: str, patient_id: str) -> Programme | None:
        response = self._client.get(f"/v1/clinics/{clinic_id}/patients/{patient_id}/programme/history")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body = response.json()
        return programme_from_history(body if isinstance(body, list) else body.get("revisions", []))

    def close(self) -> None:
        self._client.close()
