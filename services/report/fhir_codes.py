"""The local CodeSystem of gaitstream's FHIR export, and the small pieces both exports share
(deterministic ids, codings, the patient by pseudonym).

No LOINC or SNOMED CT codes exist for pelvic drop or trunk lean (PROGRAMME.md), so the measures
and the classification labels are concepts of one local CodeSystem. Its URL is a neutral
placeholder: a clinic that publishes the CodeSystem under its own URL passes that as
``system_url``. Definitions restate GAIT_SPEC.md ("Metrics", "Classification").
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fhir.resources.codesystem import CodeSystem

from gaitstream.gait.classification import Classification
from gaitstream.services.report.figures import SIDES

SYSTEM_URL = "https://gaitstream.example/fhir/CodeSystem/gait-metrics"
#: The exercise library's ids (services/programme/exercises.yaml and a clinic's own files).
EXERCISE_SYSTEM_URL = "https://gaitstream.example/fhir/CodeSystem/exercises"
#: Pseudonyms are unique within a clinic only, so the default system ends in the clinic's id.
PSEUDONYM_SYSTEM_BASE = "https://gaitstream.example/fhir/NamingSystem/patient-pseudonym"
SESSION_SYSTEM_BASE = "https://gaitstream.example/fhir/NamingSystem/session"
UCUM_URL = "http://unitsofmeasure.org"
DATA_ABSENT_URL = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBSERVATION_CATEGORY_URL = "http://terminology.hl7.org/CodeSystem/observation-category"
# A fixed namespace: the same session (or programme revision) always gets the same resource ids.
_NAMESPACE = uuid.UUID("7d0f3c52-9c1e-4a55-8f43-2f1f6a1b0e11")

_OTHER = {"left": "right", "right": "left"}

# code -> (display, definition, child concepts as {code: (display, definition)})
CONCEPTS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "pelvic-drop": (
        "Pelvic drop",
        "Per stance step, the largest frontal-plane tilt of the pelvis down toward the swing side, in "
        "degrees, attributed to the stance limb and relative to the standing posture (or to the median "
        "walking posture without standing); negative when the swing side rose (hip hiking).",
        {
            f"pelvic-drop-{side}-{stat}": (
                f"Pelvic drop, {side} stance, {label}",
                f"The {label} of the pelvic drop over the session's {side} stance steps (standing on the "
                f"{side} leg, the {_OTHER[side]} side of the pelvis sinking).",
            )
            for side in SIDES
            for stat, label in (("median", "median"), ("p90", "90th percentile"))
        },
    ),
    "trunk-lean": (
        "Trunk lean",
        "Per stance step, the largest lateral lean of the trunk toward the stance limb, in degrees, "
        "measured by a second sensor on the upper trunk relative to the standing posture.",
        {
            f"trunk-lean-{side}-median": (
                f"Trunk lean, {side} stance, median",
                f"The median trunk lean toward the {side} over the session's {side} stance steps.",
            )
            for side in SIDES
        },
    ),
    "cadence": ("Cadence", "Steps per minute: 60 divided by the session's median step time.", {}),
    "step-time-asymmetry": (
        "Step-time asymmetry",
        "The difference between the left and the right median step time as a percentage of their mean.",
        {},
    ),
    "pelvic-drop-asymmetry": (
        "Pelvic drop asymmetry",
        "The left median pelvic drop minus the right one, in degrees: positive when the pelvis drops "
        "more while standing on the left leg.",
        {},
    ),
    "feedback-dose": (
        "Feedback dose",
        "The percentage of the session's steps for which a feedback cue was visible on the screen.",
        {},
    ),
    "gait-classification": (
        "Gait classification",
        "The session's gait pattern, one of the codes grouped under this one; thresholds are clinic "
        "settings (by default 5 degrees of pelvic drop and of trunk lean, 10 steady steps per side).",
        {
            Classification.NORMAL.value: (
                "Normal",
                "Pelvic drop and trunk lean are under their thresholds on both sides.",
            ),
            **{
                f"trendelenburg_{side}": (
                    f"Trendelenburg {side}",
                    f"Standing on the {side} leg, the median pelvic drop (the {_OTHER[side]} side sinking) "
                    f"exceeds its threshold: the {side} hip abductors do not hold the pelvis level.",
                )
                for side in SIDES
            },
            Classification.TRENDELENBURG_BILATERAL.value: (
                "Trendelenburg bilateral",
                "The median pelvic drop exceeds its threshold on both sides.",
            ),
            **{
                f"compensated_trendelenburg_{side}": (
                    f"Compensated Trendelenburg {side}",
                    f"The trunk leans toward the {side} stance leg beyond its threshold while the pelvic "
                    "drop stays under its own: the lean unloads the weak hip abductors and hides the drop.",
                )
                for side in SIDES
            },
            Classification.INSUFFICIENT_DATA.value: (
                "Insufficient data",
                "Too few steady steps on a side to classify the gait.",
            ),
        },
    ),
}
#: Every code of the CodeSystem -> its display.
DISPLAYS = {
    code: display
    for parent, (parent_display, _, children) in CONCEPTS.items()
    for code, display in ((parent, parent_display), *((c, d) for c, (d, _) in children.items()))
}


def code_system_resource(system_url: str = SYSTEM_URL) -> CodeSystem:
    """The CodeSystem the session Observations are coded in (measures and their components,
    classification labels grouped under ``gait-classification``), for a receiver to load."""
    concepts = [
        {
            "code": code,
            "display": display,
            "definition": definition,
            **(
                {"concept": [{"code": c, "display": d, "definition": t} for c, (d, t) in children.items()]}
                if children
                else {}
            ),
        }
        for code, (display, definition, children) in CONCEPTS.items()
    ]
    return CodeSystem.model_validate(
        {
            "resourceType": "CodeSystem",
            "id": "gaitstream-gait-metrics",
            "url": system_url,
            "version": "1",
            "name": "GaitstreamGaitMetrics",
            "title": "gaitstream gait metrics",
            "status": "active",
            "description": "Frontal-plane gait measures of a treadmill session from a pelvis (and trunk) sensor.",
            "caseSensitive": True,
            "hierarchyMeaning": "grouped-by",
            "content": "complete",
            "count": len(DISPLAYS),
            "concept": concepts,
        }
    )


def resource_id(*parts: str) -> str:
    """A UUIDv5 of ``parts``: the same inputs give the same id in every export (each part quoted,
    so ids containing "/" cannot collide)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(quote(part, safe="") for part in parts)))


def coded(code: str, system_url: str) -> dict:
    """A CodeableConcept of one of the local CodeSystem's codes."""
    return {"coding": [{"system": system_url, "code": code, "display": DISPLAYS[code]}], "text": DISPLAYS[code]}


def pseudonym_subject(clinic_id: str, patient_id: str, pseudonym_system: str | None) -> dict:
    """A reference to the patient by pseudonym only: no Patient resource, no name."""
    system = pseudonym_system or f"{PSEUDONYM_SYSTEM_BASE}/{quote(clinic_id, safe='')}"
    return {"identifier": {"system": system, "value": patient_id}}
