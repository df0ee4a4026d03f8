"""The live trace's rate: 20 Hz, 25 Hz for a session with a patient feedback screen (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.monitor.frames import EngineInput
from gaitstream.monitor.station import StationState
from gaitstream.simulate import pattern_config, simulate_session
from tests.monitor.test_station_checkpoint import _session

COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


@pytest.fixture(scope="module")
def walk():
    return simulate_session(pattern_config("normal", duration_s=30.0, seed=3)).recording_columns


def _trace_times(walk, plan: str | None) -> np.ndarray:
    state = StationState.start({**_session(100.0), "feedback_plan": plan}, now_us=0)
    pelvis = np.column_stack([walk[c] for c in COLUMNS])
    trunk = np.column_stack([walk["trunk_" + c] for c in COLUMNS])
    for start in range(0, len(walk["time_s"]), 10):  # 0.1 s frames: the buckets do not depend on the cuts
        s = slice(start, start + 10)
        state.push(EngineInput(walk["time_s"][s], pelvis[s], trunk[s]))
    return np.asarray(state.take_trace()[0])


def test_a_feedback_session_gets_its_trace_at_25_hz_others_at_20(walk) -> None:
    plain, screen = _trace_times(walk, None), _trace_times(walk, "continuous:60s")
    assert len(plain) > 100
    assert np.allclose(np.diff(plain), 1 / 20) and np.allclose(np.diff(screen), 1 / 25)
    assert len(screen) == pytest.approx(1.25 * len(plain), abs=2)
