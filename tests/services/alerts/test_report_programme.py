"""The report reads the patient's programme from the real alerts API: the current phase and
since when it runs; without a programme, or with a refused key, the report has none."""

from __future__ import annotations

import httpx
import pytest

from gaitstream.services.report.make import _programme
from gaitstream.services.report.programme_source import ApiProgrammes
from tests.services.alerts.conftest import RunningApi
from tests.services.alerts.test_programme_api import FIRST, PROGRAMME, SECOND


def test_the_report_sees_the_current_phase_since_its_first_revision(alerts_api: RunningApi) -> None:
    _, key = alerts_api.new_supervisor("report-service", ["clinic-a"])
    with alerts_api.client(key) as client:
        assert client.put(PROGRAMME.format(patient="P-7"), json=FIRST).status_code == 201
        second = client.put(PROGRAMME.format(patient="P-7"), json=SECOND).json()
        client.put(PROGRAMME.format(patient="P-7"), json={**SECOND, "target_pelvic_drop_deg": 2.0})
    programmes = ApiProgrammes(alerts_api.base_url, key)
    try:
        programme = programmes("clinic-a", "P-7")
        assert programme.phase == "retraining" and programme.target_pelvic_drop_deg == 2.0
        assert sorted(programme.sides) == ["left", "right"] and programme.feedback_plan == SECOND["feedback_plan"]
        assert programme.phase_since.isoformat().startswith(second["created_at"][:19])
        assert programmes("clinic-a", "P-none") is None
        with pytest.raises(httpx.HTTPStatusError):
            programmes("clinic-b", "P-7")  # another clinic: 403
    finally:
        programmes.close()
    refused = ApiProgrammes(alerts_api.base_url, "gsk_notakey")
    try:
        assert _programme(refused, "clinic-a", "P-7") is None  # the report is made without it
    finally:
        refused.close()
