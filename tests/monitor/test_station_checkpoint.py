"""Checkpoints stay within the size the pipeline's changelog accepts at every supported rate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gaitstream.monitor.frames import MAX_RATE_HZ, MIN_RATE_HZ, EngineInput
from gaitstream.monitor.station import CHECKPOINT_MAX_BYTES, StationState


def _session(rate_hz: float) -> dict:
    return {
        "station_id": "s1",
        "session_id": "x",
        "clinic_id": "c",
        "patient_id": "p",
        "event": "start",
        "time_us": 1_764_000_000_000_000,
        "sampling_rate_hz": rate_hz,
        "sensor_axes": "x=forward,y=left,z=up",
        "trunk_present": True,
        "pelvic_drop_threshold_deg": 5.0,
        "trunk_lean_threshold_deg": 5.0,
        "min_steps_per_side": 10,
    }


@pytest.mark.filterwarnings("ignore:too little walking to estimate the mounting yaw")
@pytest.mark.parametrize("rate_hz", [MIN_RATE_HZ, 100.0, 500.0, MAX_RATE_HZ])
def test_the_largest_checkpoint_fits_with_room_to_spare(rate_hz: float) -> None:
    """The worst case: the engine never finishes calibrating (a patient who stands, shuffles and
    stops), so it holds the most raw data it may, of two sensors, at the rate."""
    state = StationState.start(_session(rate_hz), now_us=0)
    rng = np.random.default_rng(1)
    n = int(rate_hz)  # one second per push
    largest = 0
    for second in range(40):
        time_s = second + np.arange(n) / rate_hz
        rows = np.column_stack([rng.normal(0, 0.05, (n, 2)), 9.81 + rng.normal(0, 0.05, n), rng.normal(0, 1, (n, 3))])
        state.push(EngineInput(time_s, rows, rows.copy()))
        state.trace_t_s.clear()  # the pipeline flushes the trace every second
        largest = max(largest, len(json.dumps(state.checkpoint())))
    print(
        f"rate {rate_hz:.0f} Hz: largest checkpoint {largest / 1e6:.2f} MB (limit {CHECKPOINT_MAX_BYTES / 1e6:.2f} MB)"
    )
    assert largest <= CHECKPOINT_MAX_BYTES / 1.5
