"""PauseFence: a pause is a gap between observations; it holds writes until a rebalance or the hold ends."""

from __future__ import annotations

from gaitstream.pipelines.fence import PauseFence


def test_regular_observations_never_hold() -> None:
    fence = PauseFence(pause_s=5.0, hold_s=4.0)
    for k in range(100):
        assert not fence.observe(k * 0.5)
        assert not fence.held(k * 0.5)
    assert fence.pauses == 0


def test_a_gap_longer_than_the_pause_threshold_holds_writes_for_the_hold_time() -> None:
    fence = PauseFence(pause_s=5.0, hold_s=4.0)
    fence.observe(10.0)
    assert fence.observe(30.0)  # 20 s stopped
    assert fence.held(30.0) and fence.held(33.9)
    assert not fence.held(34.0)
    assert fence.pauses == 1


def test_a_gap_just_under_the_threshold_is_no_pause() -> None:
    fence = PauseFence(pause_s=5.0, hold_s=4.0)
    fence.observe(10.0)
    assert not fence.observe(15.0)
    assert not fence.held(15.0)


def test_the_first_caller_after_the_wake_up_sees_the_pause_and_the_second_sees_the_hold() -> None:
    fence = PauseFence(pause_s=5.0, hold_s=4.0)
    fence.observe(10.0)
    assert fence.observe(25.0)  # the agent, first after the wake-up
    assert not fence.observe(25.1)  # the timer, right after: no new pause ...
    assert fence.held(25.1)  # ... but the hold stands


def test_an_observation_from_the_past_does_not_move_the_clock_back() -> None:
    fence = PauseFence(pause_s=5.0, hold_s=4.0)
    fence.observe(10.0)
    fence.observe(9.0)  # a timestamp taken before an await, observed late
    assert not fence.observe(14.0)


def test_a_completed_rebalance_releases_the_hold() -> None:
    fence = PauseFence(pause_s=5.0, hold_s=4.0)
    fence.observe(0.0)
    fence.observe(20.0)
    fence.release()
    assert not fence.held(20.5)
