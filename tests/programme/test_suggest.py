"""Suggestions follow the clinic's rules on crafted session histories (pure)."""

from __future__ import annotations

import pytest

from gaitstream.services.programme.suggest import (
    ProgrammeState,
    RulesError,
    SessionSummary,
    load_rules,
    next_step,
    starting_programme,
)

RULES = load_rules()
CONTINUOUS = "none:2m,continuous:10m,none:2m"
FADED = "none:2m,faded:10m:from=1:to=0,none:2m"


def _session(i: int, probe_left: float | None, probe_right: float = 3.0) -> SessionSummary:
    return SessionSummary(f"s{i}", probe_median_deg={"left": probe_left, "right": probe_right})


def _retraining(plan: str) -> ProgrammeState:
    return ProgrammeState(phase="retraining", sides=("left",), target_deg=2.0, feedback_plan=plan, sessions_in_phase=5)


def test_a_starting_programme_from_the_classification_and_side() -> None:
    left = starting_programme(RULES, "trendelenburg_left")
    assert left.propose["phase"] == "activation" and left.propose["sides"] == ["left"]
    assert "hip-dip-and-raise" in left.propose["exercises"]
    assert left.measurements == [{"metric": "classification", "value": "trendelenburg_left"}]
    assert starting_programme(RULES, "compensated_trendelenburg_right").propose["sides"] == ["right"]
    assert starting_programme(RULES, "trendelenburg_bilateral").propose["sides"] == ["left", "right"]
    assert starting_programme(RULES, "normal").propose["phase"] == "none"
    assert starting_programme(RULES, "insufficient_data") is None


def test_cues_fade_once_two_consecutive_probes_are_near_the_target() -> None:
    one = [_session(1, 6.0), _session(2, 5.0), _session(3, 3.8)]
    assert next_step(RULES, _retraining(CONTINUOUS), one) is None  # one session near the target only
    two = [*one, _session(4, 3.5)]
    suggestion = next_step(RULES, _retraining(CONTINUOUS), two)
    assert suggestion.rule == "fade-the-cues" and suggestion.propose["feedback_plan"] == FADED
    assert [(m["session"], m["value"], m["at_most"]) for m in suggestion.measurements] == [
        ("s3", 3.8, 4.0),
        ("s4", 3.5, 4.0),
    ]
    assert next_step(RULES, _retraining(FADED), two) is None  # already fading, not yet at the target


def test_no_cues_at_all_once_the_probes_reach_the_target_while_fading() -> None:
    history = [_session(1, 4.0), _session(2, 1.9), _session(3, 1.5)]
    suggestion = next_step(RULES, _retraining(FADED), history)
    assert suggestion.rule == "retraining-without-cues" and suggestion.propose["feedback_plan"] == "none:14m"


def test_back_to_strengthening_when_the_probes_worsen() -> None:
    history = [_session(1, 4.0), _session(2, 3.5), _session(3, 4.5), _session(4, 6.5), _session(5, 7.0)]
    suggestion = next_step(RULES, _retraining(FADED), history)
    assert suggestion.rule == "back-to-strengthening" and suggestion.propose["phase"] == "strengthening"
    assert {m["baseline"] for m in suggestion.measurements} == {4.0}
    assert [m["value"] for m in suggestion.measurements] == [6.5, 7.0]
    # worse in one of the two sessions only: no
    assert next_step(RULES, _retraining(FADED), [*history[:3], _session(4, 6.5), _session(5, 5.0)]) is None


def test_phases_move_on_after_their_sessions_and_missing_data_decides_nothing() -> None:
    activation = ProgrammeState(phase="activation", sides=("left",), sessions_in_phase=3)
    assert next_step(RULES, activation, []) is None
    moved = next_step(RULES, ProgrammeState(phase="activation", sides=("left",), sessions_in_phase=4), [])
    assert moved.rule == "to-strengthening" and moved.measurements[0]["value"] == 4
    strengthened = next_step(RULES, ProgrammeState(phase="strengthening", sides=("left",), sessions_in_phase=6), [])
    assert strengthened.propose["phase"] == "retraining" and strengthened.propose["feedback_plan"] == CONTINUOUS
    no_probe = [_session(1, None), _session(2, None)]
    assert next_step(RULES, _retraining(CONTINUOUS), no_probe) is None


def test_a_clinics_rules_file_is_checked(tmp_path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "version: 1\nprogress:\n  - id: x\n    phase: retraining\n    metric: steps\n    propose: {}\n    because: y\n"
    )
    with pytest.raises(RulesError, match="rule x: metric must be one of"):
        load_rules(bad)
