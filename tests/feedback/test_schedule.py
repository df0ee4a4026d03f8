"""Feedback schedules (pure): each hides and shows cues as PROGRAMME.md defines them."""

from __future__ import annotations

import pytest

from gaitstream.services.feedback.schedule import Block, FeedbackPlan, FeedbackSchedule, parse_plan

STEP_S = 0.55


def _walk(plan: FeedbackPlan, drops: list[float]):
    schedule = FeedbackSchedule(plan)
    sides = ("left", "right")
    return schedule, [
        schedule.on_step(step_index=i, side=sides[i % 2], pelvic_drop_deg=d, end_s=(i + 1) * STEP_S)
        for i, d in enumerate(drops)
    ]


def test_a_plan_reads_from_text_and_back() -> None:
    plan = parse_plan("none:2m,faded:10m:from=1:to=0.2,bandwidth:90s:tol=1.5,summary:5min:n=8,continuous:1h")
    assert [b.schedule for b in plan.blocks] == ["none", "faded", "bandwidth", "summary", "continuous"]
    assert [b.duration_s for b in plan.blocks] == [120, 600, 90, 300, 3600]
    assert plan.blocks[1].share_end == 0.2 and plan.blocks[2].tolerance_deg == 1.5 and plan.blocks[3].summary_steps == 8
    assert parse_plan(plan.to_text()) == plan


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mirror:2m", "block 1 ('mirror:2m'): schedule 'mirror' is not one of"),
        ("none:2m,faded", "block 2 ('faded'): expected schedule:duration"),
        ("none:2 weeks", "duration '2 weeks'"),
        ("bandwidth:2m:tol=0", "tolerance"),
        ("faded:2m:from=1.5", "shares"),
        ("summary:2m:every=3", "option 'every=3'"),
    ],
)
def test_a_wrong_plan_says_which_block_and_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_plan(text)
    assert says in str(caught.value)


def test_continuous_shows_every_step_and_the_live_pelvis() -> None:
    schedule, cues = _walk(FeedbackPlan((Block("continuous", 60),)), [3.0] * 40)
    assert all(c.cue and c.live for c in cues) and schedule.dose(0) == 1.0


def test_bandwidth_cues_only_steps_outside_the_band() -> None:
    plan = FeedbackPlan((Block("bandwidth", 60, tolerance_deg=1.0),), target_deg=2.0)
    drops = [2.0, 3.5, 0.5, 1.2, 2.9, 3.01, 0.99, -1.0]
    _, cues = _walk(plan, drops)
    assert [c.cue for c in cues] == [False, True, True, False, False, True, True, True]
    assert not any(c.live for c in cues)


def test_faded_falls_from_every_step_to_none_across_the_block() -> None:
    plan = FeedbackPlan((Block("faded", 110.0, share_start=1.0, share_end=0.0),))
    schedule, cues = _walk(plan, [4.0] * 200)  # 200 steps of 0.55 s = the block
    shown = [c.cue for c in cues]
    assert all(shown[:5]) and not any(shown[-5:])
    for quarter in range(4):  # the share in each quarter is the schedule's mean there, within a step
        part = shown[quarter * 50 : (quarter + 1) * 50]
        assert abs(sum(part) - 50 * (1 - (quarter + 0.5) / 4)) <= 1.5
    assert schedule.dose(0) == pytest.approx(0.5, abs=0.01)
    assert [c.live for c in cues] == shown


def test_summary_shows_the_average_of_every_n_steps_and_nothing_between() -> None:
    plan = FeedbackPlan((Block("summary", 60, summary_steps=4),))
    _, cues = _walk(plan, [1.0, 5.0, 3.0, 7.0, 2.0, 2.0, 2.0, 2.0, 9.0])
    assert [c.cue for c in cues] == [False, False, False, True, False, False, False, True, False]
    assert cues[3].summary == {"left": 2.0, "right": 6.0}
    assert cues[7].summary == {"left": 2.0, "right": 2.0}


def test_blocks_follow_each_other_and_none_probes_show_nothing() -> None:
    plan = parse_plan("none:11s,continuous:11s,none:11s")
    schedule, cues = _walk(plan, [3.0] * 70)
    by_block = {}
    for c in cues:
        by_block.setdefault(c.block_index, []).append(c.cue)
    assert by_block[0] and not any(by_block[0]) and all(by_block[1]) and not any(by_block[2])
    assert not any(by_block[3])  # after the plan: no cues
    assert [schedule.dose(i) for i in range(3)] == [0.0, 1.0, 0.0]
    assert {c.schedule for c in cues if c.block_index == 3} == {"none"}
