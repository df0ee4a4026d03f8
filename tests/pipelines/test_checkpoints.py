"""Checkpoint intervals per session: fixed by the session's id, within [interval, interval × (1 +
spread)), and different enough across sessions that 50 started together do not stay in step."""

from __future__ import annotations

import uuid

from gaitstream.pipelines.checkpoints import checkpoint_samples


def _samples(session_id: str, spread: float = 0.5) -> float:
    return checkpoint_samples(session_id, interval_s=5.0, spread=spread, sampling_rate_hz=100.0)


def test_an_interval_is_fixed_by_the_session_and_within_the_spread() -> None:
    ids = [str(uuid.UUID(int=i * 7919 + 12345)) for i in range(200)]
    values = [_samples(i) for i in ids]
    assert values == [_samples(i) for i in ids]  # a restored session keeps its interval
    assert all(500.0 <= v < 750.0 for v in values)
    assert _samples(ids[0], spread=0.0) == 500.0


def test_sessions_started_together_checkpoint_in_few_common_frames() -> None:
    # 50 sessions, 10-sample frames: after the first minute, how many checkpoints share a frame
    # with another session's (all of them did without the spread).
    ids = [str(uuid.UUID(int=i * 104729 + 99)) for i in range(50)]
    frames: dict[int, int] = {}
    for session_id in ids:
        period = -(-_samples(session_id) // 10)  # in frames, rounded up
        for k in range(1, 20):
            at = int(k * period)
            if at > 600:  # one minute of data in, the starts' alignment is gone
                frames[at] = frames.get(at, 0) + 1
    busiest = max(frames.values())
    assert busiest <= len(ids) // 5, busiest  # without the spread: all 50, every 50 frames
    assert [_samples(i, spread=0.0) for i in ids] == [500.0] * 50
