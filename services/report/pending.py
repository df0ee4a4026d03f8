"""A patient's pending suggestion, kept beside their reports (``<clinic>/patients/<patient>.suggestion.json``):
written by the report service after each report, read by the alerts API (``…/programme/suggestion``)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from gaitstream.services.programme.suggest import Suggestion
from gaitstream.services.report.names import safe_name


def suggestion_path(clinic_dir: Path, patient_id: str) -> Path:
    """Where the patient's pending suggestion (of their latest report) is kept for the alerts API."""
    return clinic_dir / "patients" / f"{safe_name(patient_id, 'patient')}.suggestion.json"


def write_pending_suggestion(
    clinic_dir: Path, patient_id: str, session_id: str, generated_at: datetime, suggestion: Suggestion | None
) -> Path:
    """The latest report's suggestion (or none), replaced whole: what ``…/programme/suggestion``
    shows and what the therapist accepts."""
    path = suggestion_path(clinic_dir, patient_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "patient_id": patient_id,
        "session_id": session_id,
        "generated_at": generated_at.isoformat(),
        "suggestion": None
        if suggestion is None
        else {
            "rule": suggestion.rule,
            "propose": suggestion.propose,
            "because": suggestion.because,
            "measurements": suggestion.measurements,
        },
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1, sort_keys=True)
    os.chmod(tmp, 0o640)
    os.replace(tmp, path)
    return path
