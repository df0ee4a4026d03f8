"""Suggestions tied to measurements (pure): the clinic's rules (``rules.yaml``, data) applied to a
patient's classification, programme and sessions. A suggestion says what it proposes, which rule
and which measurements are behind it; it changes nothing until the therapist accepts it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gaitstream.exceptions import GaitstreamError

BUILT_IN_RULES = Path(__file__).with_name("rules.yaml")
METRICS = ("probe_median_deg", "feedback_median_deg", "median_deg")


class RulesError(GaitstreamError):
    """A rules file cannot be used (the message names the file and the rule)."""


@dataclass(frozen=True)
class SessionSummary:
    """One treadmill session of the patient, per side (None: no such steps)."""

    session_id: str
    probe_median_deg: dict[str, float | None] = field(default_factory=dict)  # blocks without cues
    feedback_median_deg: dict[str, float | None] = field(default_factory=dict)
    median_deg: dict[str, float | None] = field(default_factory=dict)
    dose: float | None = None


@dataclass(frozen=True)
class ProgrammeState:
    phase: str
    sides: tuple[str, ...]  # the weak side(s) being trained
    target_deg: float = 2.0
    feedback_plan: str | None = None
    sessions_in_phase: int = 0


@dataclass(frozen=True)
class Suggestion:
    rule: str
    propose: dict
    because: str
    measurements: list[dict]  # {session, side, metric, value} and the threshold they were held to


def load_rules(path: Path = BUILT_IN_RULES) -> dict:
    try:
        rules = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: {exc}") from exc
    if not isinstance(rules, dict) or rules.get("version") != 1:
        raise RulesError(f"{path}: expected 'version: 1', 'start' and 'progress'")
    for rule in rules.get("progress", []):
        name = rule.get("id", "?")
        if rule.get("metric") is not None and rule["metric"] not in METRICS:
            raise RulesError(f"{path}: rule {name}: metric must be one of {', '.join(METRICS)}")
        if "propose" not in rule or "because" not in rule or "phase" not in rule:
            raise RulesError(f"{path}: rule {name}: phase, propose and because are required")
    return rules


def sides_of(classification: str) -> tuple[str, ...]:
    if classification.endswith("_bilateral"):
        return ("left", "right")
    for side in ("left", "right"):
        if classification.endswith("_" + side):
            return (side,)
    return ()


def starting_programme(rules: dict, classification: str) -> Suggestion | None:
    for rule in rules.get("start", []):
        if classification in rule["classification"]:
            propose = {k: v for k, v in rule.items() if k in ("phase", "exercises", "feedback_plan")}
            propose["sides"] = list(sides_of(classification))
            measured = [{"metric": "classification", "value": classification}]
            return Suggestion("start", propose, rule["because"], measured)
    return None


def next_step(rules: dict, state: ProgrammeState, sessions: list[SessionSummary]) -> Suggestion | None:
    """The first progress rule that holds for the programme and its sessions (oldest first)."""
    for rule in rules.get("progress", []):
        if rule["phase"] != state.phase:
            continue
        schedules = _schedules(state.feedback_plan)
        if "plan_without" in rule and rule["plan_without"] in schedules:
            continue
        if "plan_with" in rule and rule["plan_with"] not in schedules:
            continue
        if "after_sessions" in rule:
            if state.sessions_in_phase < rule["after_sessions"]:
                continue
            measured = [
                {"metric": "sessions_in_phase", "value": state.sessions_in_phase, "at_least": rule["after_sessions"]}
            ]
            return Suggestion(rule["id"], rule["propose"], rule["because"], measured)
        measured = _holds(rule, state, sessions)
        if measured is not None:
            return Suggestion(rule["id"], rule["propose"], rule["because"], measured)
    return None


def _schedules(plan: str | None) -> set[str]:
    return {block.split(":", 1)[0].strip() for block in plan.split(",")} if plan else set()


def _threshold(text, target: float) -> float:
    if isinstance(text, (int, float)):
        return float(text)
    text = str(text).replace(" ", "")
    if text == "target":
        return target
    if text.startswith("target+"):
        return target + float(text[len("target+") :])
    raise ValueError(f"threshold {text!r}: a number, target or target+X")


def _holds(rule: dict, state: ProgrammeState, sessions: list[SessionSummary]) -> list[dict] | None:
    n, metric = rule["last_sessions"], rule["metric"]
    if len(sessions) < n:
        return None
    last, earlier = sessions[-n:], sessions[:-n]
    measured = []
    for side in state.sides:
        values = [getattr(s, metric).get(side) for s in last]
        if any(v is None for v in values):
            return None  # a session without such steps: no decision on it
        if "at_most" in rule:
            limit = _threshold(rule["at_most"], state.target_deg)
            if any(v > limit for v in values):
                return None
            measured += [
                {"session": s.session_id, "side": side, "metric": metric, "value": v, "at_most": limit}
                for s, v in zip(last, values, strict=True)
            ]
        elif "worse_than_baseline_by_deg" in rule:
            before = [getattr(s, metric).get(side) for s in earlier]
            before = [v for v in before if v is not None]
            if not before:
                return None
            baseline = statistics.median(before)
            limit = baseline + float(rule["worse_than_baseline_by_deg"])
            if not all(v > limit for v in values):
                return None
            measured += [
                {
                    "session": s.session_id,
                    "side": side,
                    "metric": metric,
                    "value": v,
                    "above": limit,
                    "baseline": baseline,
                }
                for s, v in zip(last, values, strict=True)
            ]
        else:
            return None
    return measured or None
