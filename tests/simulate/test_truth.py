"""Ground truth against analytic cases and the chosen per-side targets."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from gaitstream.simulate import pattern_config, simulate_session
from gaitstream.simulate.patterns import PATTERNS
from gaitstream.simulate.truth import CLASSIFICATIONS, classify, step_extremes


def test_step_extremes_of_a_sinusoid():
    """phi = A sin(2 pi t / T_stride): left steps [0, T/2] peak at A, right steps dip to -A."""
    amplitude_deg, stride_s = 6.0, 1.2
    phi = lambda t: amplitude_deg * np.sin(2 * np.pi * t / stride_s)  # noqa: E731
    starts = np.arange(10) * stride_s / 2
    high, low = step_extremes(phi, starts, starts + stride_s / 2)
    np.testing.assert_allclose(high[0::2], amplitude_deg, atol=1e-4)
    np.testing.assert_allclose(-low[1::2], amplitude_deg, atol=1e-4)
    # A window ending before the peak: max at its end, sin(2 pi * 0.2) * A.
    high, _ = step_extremes(phi, np.array([0.0]), np.array([0.2 * stride_s]))
    assert high[0] == pytest.approx(amplitude_deg * np.sin(2 * np.pi * 0.2), abs=1e-9)


def test_step_extremes_empty():
    high, low = step_extremes(np.sin, np.empty(0), np.empty(0))
    assert high.shape == (0,) and low.shape == (0,)


def test_classify_rules():
    counts = {"left": 20, "right": 20}
    no_lean = {"left": None, "right": None}
    assert classify(drop_median_deg={"left": 3.0, "right": 2.0}, lean_median_deg=no_lean, steps=counts) == "normal"
    assert (
        classify(drop_median_deg={"left": 7.0, "right": 2.0}, lean_median_deg=no_lean, steps=counts)
        == "trendelenburg_left"
    )
    assert (
        classify(drop_median_deg={"left": 2.0, "right": 5.0}, lean_median_deg=no_lean, steps=counts)
        == "trendelenburg_right"
    )
    assert (
        classify(drop_median_deg={"left": 6.0, "right": 8.0}, lean_median_deg=no_lean, steps=counts)
        == "trendelenburg_bilateral"
    )
    assert (
        classify(drop_median_deg={"left": 1.0, "right": 3.0}, lean_median_deg={"left": 8.0, "right": 2.0}, steps=counts)
        == "compensated_trendelenburg_left"
    )
    assert (
        classify(drop_median_deg={"left": 3.0, "right": 1.0}, lean_median_deg={"left": 6.0, "right": 9.0}, steps=counts)
        == "compensated_trendelenburg_right"
    )
    # Trendelenburg takes precedence over a lean.
    assert (
        classify(drop_median_deg={"left": 7.0, "right": 1.0}, lean_median_deg={"left": 8.0, "right": 2.0}, steps=counts)
        == "trendelenburg_left"
    )
    assert (
        classify(drop_median_deg={"left": 9.0, "right": 9.0}, lean_median_deg=no_lean, steps={"left": 9, "right": 30})
        == "insufficient_data"
    )
    assert (
        classify(
            drop_median_deg={"left": 4.0, "right": 4.0}, lean_median_deg=no_lean, steps=counts, drop_threshold_deg=3.5
        )
        == "trendelenburg_bilateral"
    )


def _exact(**overrides):
    return dict(cadence_cv_pct=0.0, pelvic_drop_jitter_deg=0.0, trunk_lean_jitter_deg=0.0, sway_deg=0.0, **overrides)


@pytest.mark.parametrize("sampling_rate_hz", [60.0, 200.0])
@pytest.mark.parametrize(
    ("drop_left_deg", "drop_right_deg", "lean_left_deg", "lean_right_deg"),
    [(2.0, 3.5, 2.0, 2.0), (8.0, 3.0, 2.5, 2.5), (1.0, 9.5, 3.0, 8.0), (0.5, 6.0, 9.0, 1.0)],
)
def test_chosen_targets_recovered(sampling_rate_hz, drop_left_deg, drop_right_deg, lean_left_deg, lean_right_deg):
    cfg = pattern_config(
        "normal",
        **_exact(
            duration_s=30.0,
            sampling_rate_hz=sampling_rate_hz,
            pelvic_drop_left_deg=drop_left_deg,
            pelvic_drop_right_deg=drop_right_deg,
            trunk_lean_left_deg=lean_left_deg,
            trunk_lean_right_deg=lean_right_deg,
            mounting_deg=(5.0, 30.0, -10.0),
        ),
    )
    truth = simulate_session(cfg).truth
    steady = [s for s in truth["steps"] if s["steady"]]
    for side, drop, lean in (("left", drop_left_deg, lean_left_deg), ("right", drop_right_deg, lean_right_deg)):
        mine = [s for s in steady if s["side"] == side]
        assert len(mine) >= 10
        np.testing.assert_allclose([s["pelvic_drop_deg"] for s in mine], drop, atol=0.3)
        np.testing.assert_allclose([s["trunk_lean_deg"] for s in mine], lean, atol=0.3)
        assert truth["summary"][side]["pelvic_drop_deg_median"] == pytest.approx(drop, abs=0.3)


def test_temporal_truth_and_initial_contacts():
    cfg = pattern_config(
        "normal", **_exact(duration_s=40.0, cadence_spm=100.0, step_time_asymmetry_pct=10.0, first_side="right")
    )
    truth = simulate_session(cfg).truth
    summary = truth["summary"]
    assert summary["cadence_spm"] == pytest.approx(100.0, rel=0.01)
    assert summary["step_time_asymmetry_pct"] == pytest.approx(10.0, abs=0.01)
    assert summary["stride_time_s"] == pytest.approx(1.2, abs=0.01)
    ics = truth["initial_contacts"]
    assert ics["right"][0] == pytest.approx(cfg.standing_s) and ics["left"][0] > ics["right"][0]
    merged = sorted([(t, "left") for t in ics["left"]] + [(t, "right") for t in ics["right"]])
    assert all(a[1] != b[1] for a, b in pairwise(merged)), "sides must alternate"
    for step in truth["steps"]:
        assert step["end_s"] > step["start_s"] and step["duration_s"] == pytest.approx(step["end_s"] - step["start_s"])
    left_steps = [s["duration_s"] for s in truth["steps"] if s["side"] == "left"]
    right_steps = [s["duration_s"] for s in truth["steps"] if s["side"] == "right"]
    assert np.mean(left_steps) > np.mean(right_steps)


def test_stride_rom_and_no_trunk():
    cfg = pattern_config("trendelenburg_bilateral", trunk=False, **_exact(duration_s=30.0))
    session = simulate_session(cfg)
    truth = session.truth
    assert truth["recording"]["trunk"] is False and "trunk_acc_x" not in session.recording_columns
    assert all(s["trunk_lean_deg"] is None for s in truth["steps"])
    steady_rom = [s["obliquity_rom_deg"] for s in truth["strides"] if s["steady"]]
    np.testing.assert_allclose(steady_rom, 15.0, atol=0.3)
    assert truth["summary"]["classification"] == "trendelenburg_bilateral"
    assert truth["summary"]["left"]["trunk_lean_deg_median"] is None


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_preset_labels(pattern):
    from gaitstream.simulate.patterns import EXPECTED_CLASSIFICATION

    truth = simulate_session(pattern_config(pattern, duration_s=30.0, seed=3)).truth
    assert truth["summary"]["classification"] == EXPECTED_CLASSIFICATION[pattern]
    assert truth["summary"]["classification"] in CLASSIFICATIONS


def test_unilateral_lean_has_a_mean_and_an_upright_side():
    session = simulate_session(pattern_config("compensated_left_unilateral", duration_s=40.0, seed=2))
    summary = session.truth["summary"]
    assert summary["left"]["trunk_lean_deg_median"] == pytest.approx(9.0, abs=0.5)
    assert abs(summary["right"]["trunk_lean_deg_median"]) < 0.6  # upright over the right limb
    walking = session.trace["time_s"] > session.config.standing_s + 2.0
    assert np.mean(session.trace["trunk_lateral_lean_deg"][walking]) > 2.0  # leans left on average


def test_hip_hike_gives_negative_drop_on_the_strong_side():
    summary = simulate_session(pattern_config("trendelenburg_left_hip_hike", duration_s=40.0, seed=2)).truth["summary"]
    assert summary["left"]["pelvic_drop_deg_median"] == pytest.approx(8.0, abs=0.5)
    assert summary["right"]["pelvic_drop_deg_median"] < 0.0  # the swing (left) side never drops below level
    assert summary["classification"] == "trendelenburg_left"


def test_variable_presets_spread_step_values():
    steps = simulate_session(pattern_config("variable_trendelenburg_left", duration_s=60.0, seed=2)).truth["steps"]
    left = [s["pelvic_drop_deg"] for s in steps if s["side"] == "left" and s["steady"]]
    assert 1.0 < np.std(left) < 2.0


def test_no_standing_uses_walking_median_reference():
    cfg = pattern_config("trendelenburg_left", **_exact(duration_s=30.0, standing_s=0.0))
    session = simulate_session(cfg)
    assert session.truth["calibration"]["method"] == "walking"
    walking = session.trace["time_s"] > 2.0
    assert abs(np.median(session.trace["pelvic_obliquity_deg"][walking])) < 0.3
    assert session.truth["steps"][0]["start_s"] == 0.0


def test_standing_only_and_very_short_sessions():
    standing = simulate_session(pattern_config("normal", duration_s=10.0, standing_s=10.0)).truth
    assert standing["steps"] == [] and standing["initial_contacts"] == {"left": [], "right": []}
    assert standing["summary"]["classification"] == "insufficient_data"
    assert standing["summary"]["cadence_spm"] is None
    short = simulate_session(pattern_config("trendelenburg_left", duration_s=4.0, standing_s=0.5)).truth
    assert 0 < len(short["steps"]) < 10 and short["summary"]["classification"] == "insufficient_data"
