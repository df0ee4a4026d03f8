"""FHIR export (R5, built and validated with ``fhir.resources``): a session as a Bundle of
Observations, the programme as a CarePlan with one ServiceRequest per exercise and one for the
treadmill sessions.

No LOINC or SNOMED codes exist for these measures, so they are coded in a local CodeSystem
(:func:`code_system_resource` describes it; a clinic may publish it under its own URL). Per side,
the median and the 90th percentile of the pelvic drop are separate components of one Observation
(codes ``pelvic-drop-median-left`` …), so a receiver reads every side's figures from one resource.
The patient is referenced by pseudonym only (an identifier in the clinic's pseudonym system): no
Patient resource, no name. Ids are UUIDv5 of the session (or programme) and the code, so exporting
again gives the same Bundle.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fhir.resources.bundle import Bundle

from gaitstream.services.report.figures import SIDES, SessionFigures

SYSTEM_URL = "https://gaitstream.example/fhir/CodeSystem/gait-metrics"
EXERCISE_SYSTEM_URL = "https://gaitstream.example/fhir/CodeSystem/exercises"
PSEUDONYM_SYSTEM_URL = "https://gaitstream.example/fhir/NamingSystem/patient-pseudonym"
UCUM = "http://unitsofmeasure.org"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("7d0f3c52-9c1e-4a55-8f43-2f1f6a1b0e11")

# code -> (display, definition in GAIT_SPEC.md's terms)
CONCEPTS = {
    "pelvic-drop": ("Pelvic drop", "Per stance step, the largest frontal-plane drop of the pelvis on the swing side."),
    "trunk-lean": ("Trunk lean", "Per stance step, the largest lateral trunk lean toward the stance limb."),
    "cadence": ("Cadence", "Steps per minute: 60 divided by the median step time."),
    "step-time-asymmetry": ("Step-time asymmetry", "100 x |left - right| / mean of the sides' median step times."),
    "pelvic-drop-asymmetry": ("Pelvic drop asymmetry", "Left median minus right median pelvic drop."),
    "gait-classification": ("Gait classification", "Normal, Trendelenburg or compensated Trendelenburg, by side."),
    "feedback-dose": ("Feedback dose", "Share of steps whose feedback cue was visible on the patient's screen."),
    **{
        f"{name}-{stat}-{side}": (f"{label} {stat} {side}", f"{label}: {stat} over the session's {side} stance steps.")
        for name, label in (("pelvic-drop", "Pelvic drop"), ("trunk-lean", "Trunk lean"))
        for stat in ("median", "p90")
        for side in SIDES
    },
}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _concept(code: str, system: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": CONCEPTS[code][0]}], "text": CONCEPTS[code][0]}


def _value(value: float | None, unit: str, ucum: str, absent: str) -> dict:
    if value is None:
        return {"dataAbsentReason": {"coding": [{"system": ABSENT, "code": absent}]}}
    return {"valueQuantity": {"value": round(float(value), 3), "unit": unit, "system": UCUM, "code": ucum}}


def _instant(time_us: int) -> str:
    return datetime.fromtimestamp(time_us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def code_system_resource(system_url: str = SYSTEM_URL) -> dict:
    """The local CodeSystem (as JSON, validated) that the Observations' codes belong to."""
    from fhir.resources.codesystem import CodeSystem

    resource = {
        "resourceType": "CodeSystem",
        "id": "gaitstream-gait-metrics",
        "url": system_url,
        "name": "GaitstreamGaitMetrics",
        "status": "active",
        "content": "complete",
        "concept": [{"code": c, "display": d, "definition": text} for c, (d, text) in CONCEPTS.items()],
    }
    return CodeSystem.model_validate(resource).model_dump(mode="json", exclude_none=True)


def session_bundle(
    figures: SessionFigures, *, system_url: str = SYSTEM_URL, pseudonym_system: str = PSEUDONYM_SYSTEM_URL
) -> Bundle:
    """The session's Observations in a ``collection`` Bundle (validated on construction)."""
    subject = {"identifier": {"system": pseudonym_system, "value": figures.patient_id}}
    period = {"start": _instant(figures.started_us)}
    if figures.stopped_us is not None:
        period["end"] = _instant(figures.stopped_us)
    base = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "activity"}]}],
        "subject": subject,
        "effectivePeriod": period,
    }

    def observation(code: str, **content) -> dict:
        return {**base, "id": _id(figures.session_id, code), "code": _concept(code, system_url), **content}

    def components(name: str, stats: tuple[str, ...], absent: str) -> list[dict]:
        out = []
        for side in SIDES:
            s = figures.sides[side]
            for stat in stats:
                value = getattr(s, f"{name.replace('-', '_')}_deg_{stat}")
                reason = absent if name == "trunk-lean" and not figures.trunk_present else "not-performed"
                component = _value(value, "deg", "deg", reason)
                out.append({"code": _concept(f"{name}-{stat}-{side}", system_url), **component})
        return out

    resources = [
        observation("pelvic-drop", component=components("pelvic-drop", ("median", "p90"), "not-performed")),
        observation("trunk-lean", component=components("trunk-lean", ("median",), "not-applicable")),
        observation("cadence", **_value(figures.cadence_spm, "steps/min", "/min", "not-performed")),
        observation("step-time-asymmetry", **_value(figures.step_time_asymmetry_pct, "%", "%", "not-performed")),
        observation(
            "pelvic-drop-asymmetry", **_value(figures.pelvic_drop_asymmetry_deg, "deg", "deg", "not-performed")
        ),
        observation(
            "feedback-dose",
            **_value(None if figures.dose is None else 100 * figures.dose, "%", "%", "not-applicable"),
        ),
    ]
    if figures.classification:
        resources.append(
            observation(
                "gait-classification",
                valueCodeableConcept={
                    "coding": [{"system": system_url + "/classification", "code": figures.classification}]
                },
            )
        )
    else:
        resources.append(
            observation("gait-classification", dataAbsentReason={"coding": [{"system": ABSENT, "code": "unknown"}]})
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": _id(figures.session_id, "bundle"),
            "type": "collection",
            "timestamp": period.get("end", period["start"]),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
        }
    )


@dataclass(frozen=True)
class ProgrammeForExport:
    clinic_id: str
    patient_id: str
    revision: int
    phase: str
    sides: tuple[str, ...]
    target_pelvic_drop_deg: float
    feedback_plan: str | None
    exercises: tuple[dict, ...] = field(default_factory=tuple)  # {exercise_id, dosage: {...}}
    note: str | None = None
    created_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)


def _dosage_text(dosage: dict) -> str:
    text = f"{dosage['sets']} x {dosage['reps']} reps"
    if dosage.get("hold_s"):
        text += f", hold {dosage['hold_s']:g} s"
    if dosage.get("rest_s"):
        text += f", rest {dosage['rest_s']:g} s"
    return text + f"; {dosage['times_per_day']} x per day, {dosage['days_per_week']} days per week"


def programme_care_plan(
    programme: ProgrammeForExport,
    *,
    exercise_names: dict[str, str],
    exercise_system: str = EXERCISE_SYSTEM_URL,
    pseudonym_system: str = PSEUDONYM_SYSTEM_URL,
) -> Bundle:
    """A CarePlan (the phase) and its ServiceRequests (each exercise, the treadmill sessions).
    ``exercise_names``: the library's id -> name; an exercise not in it raises ValueError."""
    key = f"{programme.clinic_id}/{programme.patient_id}/{programme.revision}"
    subject = {"identifier": {"system": pseudonym_system, "value": programme.patient_id}}
    requests = []
    for item in programme.exercises:
        exercise_id, dosage = item["exercise_id"], item["dosage"]
        if exercise_id not in exercise_names:
            raise ValueError(f"exercise {exercise_id!r} is not in the exercise library")
        requests.append(
            {
                "resourceType": "ServiceRequest",
                "id": _id(key, exercise_id),
                "status": "active",
                "intent": "order",
                "subject": subject,
                "code": {
                    "concept": {
                        "coding": [{"system": exercise_system, "code": exercise_id}],
                        "text": exercise_names[exercise_id],
                    }
                },
                "occurrenceTiming": {
                    "repeat": {"frequency": int(dosage["times_per_day"]), "period": 1, "periodUnit": "d"}
                },
                "patientInstruction": [{"instructionMarkdown": _dosage_text(dosage)}],
            }
        )
    if programme.feedback_plan or programme.phase == "retraining":
        target = f"{programme.target_pelvic_drop_deg:g} deg"
        requests.append(
            {
                "resourceType": "ServiceRequest",
                "id": _id(key, "treadmill-feedback-sessions"),
                "status": "active",
                "intent": "order",
                "subject": subject,
                "code": {
                    "concept": {
                        "coding": [{"system": exercise_system, "code": "treadmill-feedback-sessions"}],
                        "text": "Treadmill walking with pelvic-drop feedback",
                    }
                },
                "patientInstruction": [
                    {"instructionMarkdown": f"Feedback plan: {programme.feedback_plan or 'none'}; target {target}"}
                ],
            }
        )
    plan = {
        "resourceType": "CarePlan",
        "id": _id(key, "careplan"),
        "status": "active",
        "intent": "plan",
        "subject": subject,
        "title": f"Hip abductor programme: {programme.phase}",
        "description": (
            f"Phase {programme.phase}; weak side(s): {', '.join(programme.sides) or 'none'}; "
            f"target pelvic drop {programme.target_pelvic_drop_deg:g} deg (revision {programme.revision})"
        ),
        "created": programme.created_at.isoformat(),
        "activity": [{"plannedActivityReference": {"reference": f"urn:uuid:{r['id']}"}} for r in requests],
    }
    if programme.note:
        plan["note"] = [{"text": programme.note}]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": _id(key, "bundle"),
            "type": "collection",
            "timestamp": programme.created_at.isoformat(),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in (plan, *requests)],
        }
    )


def write_fhir(bundle: Bundle, path: Path) -> None:
    """The Bundle as JSON, replaced whole or not at all."""
    text = json.dumps(json.loads(bundle.model_dump_json(exclude_none=True)), indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o640)
    os.replace(tmp, path)
