"""FHIR export (R5, built and validated with ``fhir.resources``): a session as a Bundle of
Observations (here), the programme as a CarePlan with its ServiceRequests (``fhir_programme.py``),
both coded in gaitstream's local CodeSystem (``fhir_codes.py``).

1. One Observation per measure: pelvic drop, trunk lean, cadence, step-time asymmetry, pelvic drop
   asymmetry, feedback dose, gait classification; status ``final``, category ``activity``, the
   session's start and stop as ``effectivePeriod``.
2. Per-side figures are components of their measure's Observation: pelvic drop has four
   (``pelvic-drop-left-median``, ``pelvic-drop-left-p90``, right likewise), trunk lean two
   (``trunk-lean-left-median`` …), so a receiver reads a measure's every side and statistic from
   one resource. The median components carry the clinic's pelvic drop threshold as reference range.
3. A value the session does not have is left out and ``dataAbsentReason`` says why
   (``not-applicable``: no trunk sensor, no feedback screen; ``not-performed``: no steps on that
   side; ``unknown``: steps but no finite value, or no classification).
4. The patient is an identifier in the clinic's pseudonym system: no Patient resource, no name.
5. The Bundle is a ``collection`` (a record to file, not instructions for a server); entries have
   ``urn:uuid:`` fullUrls and UUIDv5 ids of clinic, session and code, so exporting a session
   again gives the same Bundle, byte for byte.

Notes: values are rounded to :data:`DECIMALS` places, since a FHIR decimal's digits state its
precision and a single sacral sensor measures pelvic angles to a few degrees (GAIT_SPEC.md).
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fhir.resources.bundle import Bundle

from gaitstream.services.report.fhir_codes import (
    DATA_ABSENT_URL,
    DISPLAYS,
    EXERCISE_SYSTEM_URL,
    OBSERVATION_CATEGORY_URL,
    PSEUDONYM_SYSTEM_BASE,
    SESSION_SYSTEM_BASE,
    SYSTEM_URL,
    UCUM_URL,
    code_system_resource,
    coded,
    pseudonym_subject,
    resource_id,
)
from gaitstream.services.report.fhir_programme import (
    FhirExportError,
    ProgrammeForExport,
    UnknownExerciseError,
    programme_care_plan,
)
from gaitstream.services.report.figures import SIDES, SessionFigures

__all__ = [
    "EXERCISE_SYSTEM_URL",
    "PSEUDONYM_SYSTEM_BASE",
    "SYSTEM_URL",
    "FhirExportError",
    "ProgrammeForExport",
    "UnknownExerciseError",
    "code_system_resource",
    "programme_care_plan",
    "session_bundle",
    "write_fhir",
]

DECIMALS = 2
# UCUM: (unit shown to people, UCUM code)
_DEG = ("deg", "deg")
_PER_MIN = ("steps/min", "/min")
_PERCENT = ("%", "%")


def _instant(time_us: int) -> str:
    return datetime.fromtimestamp(time_us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def _absent(reason: str) -> dict:
    return {"dataAbsentReason": {"coding": [{"system": DATA_ABSENT_URL, "code": reason}]}}


def _value(value: float | None, unit: tuple[str, str], absent: str) -> dict:
    if value is None:
        return _absent(absent)
    shown, ucum = unit
    return {"valueQuantity": {"value": round(float(value), DECIMALS), "unit": shown, "system": UCUM_URL, "code": ucum}}


def _side_components(figures: SessionFigures, system_url: str) -> tuple[list[dict], list[dict]]:
    """(pelvic drop's components, trunk lean's), per side (step 2) with absent reasons (step 3)."""
    drop, lean = [], []
    threshold = {"high": {"value": figures.pelvic_drop_threshold_deg, "unit": "deg", "system": UCUM_URL, "code": "deg"}}
    for side in SIDES:
        s = figures.sides[side]
        missing = "not-performed" if s.steps == 0 else "unknown"
        for stat, value in (("median", s.pelvic_drop_deg_median), ("p90", s.pelvic_drop_deg_p90)):
            component = {"code": coded(f"pelvic-drop-{side}-{stat}", system_url), **_value(value, _DEG, missing)}
            if stat == "median":
                component["referenceRange"] = [{**threshold, "text": "pelvic drop threshold of the classification"}]
            drop.append(component)
        lean_missing = missing if figures.trunk_present else "not-applicable"
        lean.append(
            {
                "code": coded(f"trunk-lean-{side}-median", system_url),
                **_value(s.trunk_lean_deg_median, _DEG, lean_missing),
            }
        )
    return drop, lean


def session_bundle(
    figures: SessionFigures, *, system_url: str = SYSTEM_URL, pseudonym_system: str | None = None
) -> Bundle:
    """The session's Observations in a ``collection`` Bundle (validated on construction).

    ``system_url``: the local CodeSystem's URL; ``pseudonym_system``: the identifier system of the
    clinic's pseudonyms (default: gaitstream's, ending in the clinic's id).
    """
    period = {"start": _instant(figures.started_us)}
    if figures.stopped_us is not None:
        period["end"] = _instant(figures.stopped_us)
    base = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY_URL, "code": "activity", "display": "Activity"}]}],
        "subject": pseudonym_subject(figures.clinic_id, figures.patient_id, pseudonym_system),
        "effectivePeriod": period,
    }

    # 1. One Observation per measure.
    def observation(code: str, **content) -> dict:
        rid = resource_id("session", figures.clinic_id, figures.session_id, code)
        return {**base, "id": rid, "code": coded(code, system_url), **content}

    # An asymmetry needs steps on both sides.
    no_steps = "not-performed" if any(figures.sides[side].steps == 0 for side in SIDES) else "unknown"
    drop, lean = _side_components(figures, system_url)
    dose = None if figures.dose is None else 100.0 * figures.dose
    if figures.classification in DISPLAYS:
        classification = {"valueCodeableConcept": coded(figures.classification, system_url)}
    elif figures.classification:  # a label this CodeSystem lacks (a newer pipeline): as text only
        classification = {"valueCodeableConcept": {"text": figures.classification}}
    else:
        classification = _absent("unknown")
    if figures.classification_flags:
        classification["note"] = [{"text": f"Flags: {', '.join(figures.classification_flags)}"}]
    resources = [
        observation("pelvic-drop", component=drop),
        observation("trunk-lean", component=lean),
        observation("cadence", **_value(figures.cadence_spm, _PER_MIN, "not-performed")),
        observation("step-time-asymmetry", **_value(figures.step_time_asymmetry_pct, _PERCENT, no_steps)),
        observation("pelvic-drop-asymmetry", **_value(figures.pelvic_drop_asymmetry_deg, _DEG, no_steps)),
        observation("feedback-dose", **_value(dose, _PERCENT, "not-applicable")),
        observation("gait-classification", **classification),
    ]
    # 5. A collection with deterministic ids and the session's id as the Bundle's identifier.
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": resource_id("session", figures.clinic_id, figures.session_id, "bundle"),
            "identifier": {
                "system": f"{SESSION_SYSTEM_BASE}/{quote(figures.clinic_id, safe='')}",
                "value": figures.session_id,
            },
            "type": "collection",
            "timestamp": period.get("end", period["start"]),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
        }
    )


def write_fhir(bundle: Bundle, path: Path) -> None:
    """The Bundle as JSON at ``path``, replaced whole or not at all (temporary file, then rename)."""
    text = bundle.model_dump_json(indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o640)  # like the report's other files: the clinic's group reads them
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
