"""Failed-authentication throttle (pure, a clock passed in)."""

from __future__ import annotations

import pytest

from gaitstream.services.alerts.api.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_blocks_after_max_failures_within_the_window_then_lets_go() -> None:
    clock = Clock()
    throttle = FailureThrottle(max_failures=3, window_s=60, block_s=300, clock=clock)
    for _ in range(2):
        throttle.failed("prefix:abc", "client:1.2.3.4")
    assert throttle.retry_after_s("prefix:abc") is None
    throttle.failed("prefix:abc", "client:1.2.3.4")
    assert throttle.retry_after_s("prefix:abc") == 300
    assert throttle.retry_after_s("client:1.2.3.4") == 300
    assert throttle.retry_after_s("prefix:other", "client:5.6.7.8") is None  # others are not slowed
    clock.now_s += 299
    assert throttle.retry_after_s("client:1.2.3.4") == pytest.approx(1)
    clock.now_s += 1
    assert throttle.retry_after_s("prefix:abc", "client:1.2.3.4") is None


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = FailureThrottle(max_failures=3, window_s=60, block_s=300, clock=clock)
    for _ in range(10):
        throttle.failed("client:1.2.3.4")
        clock.now_s += 31  # two failures a minute: a person mistyping
    assert throttle.retry_after_s("client:1.2.3.4") is None


def test_memory_stays_bounded_under_a_spread_brute_force() -> None:
    throttle = FailureThrottle(max_failures=2, window_s=60, block_s=300, max_tracked=100, clock=Clock())
    for i in range(10_000):
        throttle.failed(f"client:10.{i // 256 % 256}.{i % 256}.1", f"prefix:{i:08x}")
    assert throttle.tracked <= 200


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        FailureThrottle(max_failures=0)
