"""The trunk sensor on a clock 30 ms off and drifting 50 ppm, brought onto the pelvis's (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.services.station.trunk_align import align, estimate_lag_s, fit_clock
from gaitstream.simulate import pattern_config, simulate_session

RATE_HZ = 100.0


@pytest.fixture(scope="module")
def walk():
    columns = simulate_session(pattern_config("compensated_left", duration_s=120.0, seed=9)).recording_columns
    t = columns["time_s"]
    pelvis = np.column_stack([columns[f"acc_{a}"] for a in "xyz"])
    trunk = np.column_stack([columns[f"trunk_acc_{a}"] for a in "xyz"] + [columns[f"trunk_gyr_{a}"] for a in "xyz"])
    return t, pelvis, trunk


def test_a_fixed_offset_is_found_to_a_fraction_of_a_sample(walk) -> None:
    t, pelvis, trunk = walk
    lag, score = estimate_lag_s(t, pelvis, t + 0.030, trunk[:, :3], rate_hz=RATE_HZ)
    assert lag == pytest.approx(0.030, abs=0.002) and score > 0.5


def test_offset_and_drift_are_fitted_and_the_trunk_lands_on_the_pelvis_samples(walk) -> None:
    t, pelvis, trunk = walk
    offset_s, drift = 0.030, 50e-6
    trunk_clock = t + offset_s + drift * (t - t[0])  # the trunk device's own stamps
    fit = fit_clock(t, pelvis, trunk_clock, trunk[:, :3], rate_hz=RATE_HZ)
    assert fit.offset_s == pytest.approx(offset_s, abs=0.002)
    assert fit.drift_ppm == pytest.approx(50.0, abs=25.0)
    aligned = align(t, trunk_clock, trunk, fit)
    unaligned = np.column_stack([np.interp(t, trunk_clock, trunk[:, i]) for i in range(trunk.shape[1])])
    error = np.abs(aligned - trunk)[50:-50]
    assert np.percentile(error[:, 3:], 99) < 0.25 * np.percentile(np.abs(unaligned - trunk)[50:-50, 3:], 99)


def test_standing_still_cannot_be_aligned() -> None:
    t = np.arange(0, 30, 1 / RATE_HZ)
    still = np.tile([0.0, 0.0, 9.81], (len(t), 1))
    with pytest.raises(ValueError, match="cannot align"):
        fit_clock(t, still, t, still, rate_hz=RATE_HZ)
