"""Failed authentication, throttled: after ``max_failures`` within ``window_s`` for one key prefix
or one client address, that key prefix or client is answered 429 for ``block_s`` (pure; the clock
is passed in). Memory is bounded: at most ``max_tracked`` keys, the least recently seen dropped
first, so a brute force from many addresses cannot grow it without end. Successes cost nothing."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FailureThrottle:
    max_failures: int = 10
    window_s: float = 60.0
    block_s: float = 300.0
    max_tracked: int = 10_000
    clock: Callable[[], float] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.clock is None:
            import time

            self.clock = time.monotonic
        if self.max_failures < 1 or self.window_s <= 0 or self.block_s <= 0 or self.max_tracked < 1:
            raise ValueError("max_failures, window_s, block_s and max_tracked must be positive")
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._blocked_until: OrderedDict[str, float] = OrderedDict()

    def retry_after_s(self, *keys: str) -> float | None:
        """Seconds until the first of ``keys`` that is blocked may try again; None when none is."""
        now = self.clock()
        waits = []
        for key in keys:
            until = self._blocked_until.get(key)
            if until is None:
                continue
            if until <= now:
                del self._blocked_until[key]
            else:
                waits.append(until - now)
        return max(waits) if waits else None

    def failed(self, *keys: str) -> None:
        """One failed attempt for each of ``keys`` (e.g. ``prefix:abc``, ``client:10.0.0.9``)."""
        now = self.clock()
        for key in keys:
            times = self._failures.pop(key, None) or deque()
            times.append(now)
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.max_failures:
                self._blocked_until[key] = now + self.block_s
                self._blocked_until.move_to_end(key)
                times.clear()
            self._failures[key] = times
        for table in (self._failures, self._blocked_until):
            while len(table) > self.max_tracked:
                table.popitem(last=False)

    @property
    def tracked(self) -> int:
        return len(self._failures) + len(self._blocked_until)
