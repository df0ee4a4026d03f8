"""How much of a session's data goes between two checkpoints of its station's state (pure).

Every session checkpoints after ``interval_s`` of its data stretched by up to ``spread`` (a
fraction, the same for the whole session: from its id). Sessions that started together, or whose
counts restarted together when a worker took their partitions over, would otherwise checkpoint in
the same batch every interval for as long as they run: 50 stations' checkpoints in one batch held
every other station's frames back by tens of milliseconds each time (benchmarks/feedback_latency.py).
With different periods they drift apart after their first checkpoint.
"""

from __future__ import annotations

import zlib


def checkpoint_samples(session_id: str, *, interval_s: float, spread: float, sampling_rate_hz: float) -> float:
    """Samples of the session's data after which its station's state is checkpointed."""
    share = zlib.crc32(session_id.encode()) / 2**32  # in [0, 1), fixed by the id
    return interval_s * (1.0 + spread * share) * sampling_rate_hz
