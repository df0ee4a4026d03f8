"""What a session's screen shows when the operator starts it from the patient's programme (pure).

The therapist sets the treadmill feedback plan and the target pelvic drop in the programme
(``gaitstream programme set``); ``gaitstream station session start --from-programme``
reads the current revision through the alerts API and starts the session with them. An option
given on the command line wins over the programme's value (the therapist changing one session).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionScreen:
    feedback_plan: str | None
    target_pelvic_drop_deg: float | None
    # Where each came from: "option", "programme revision N" or "none".
    plan_source: str
    target_source: str


def screen_from_programme(
    programme: dict, *, feedback_plan: str | None, target_pelvic_drop_deg: float | None
) -> SessionScreen:
    """``programme``: the API's current revision (``feedback_plan``, ``target_pelvic_drop_deg``,
    ``revision``); the two options as the operator gave them (None: not given)."""
    revision = f"programme revision {programme['revision']}"
    plan = programme.get("feedback_plan")
    target = programme.get("target_pelvic_drop_deg")
    return SessionScreen(
        feedback_plan=feedback_plan if feedback_plan is not None else plan,
        target_pelvic_drop_deg=target_pelvic_drop_deg if target_pelvic_drop_deg is not None else target,
        plan_source="option" if feedback_plan is not None else (revision if plan else "none"),
        target_source="option" if target_pelvic_drop_deg is not None else (revision if target is not None else "none"),
    )
