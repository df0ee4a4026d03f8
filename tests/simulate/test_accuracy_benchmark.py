"""The accuracy benchmark's scoring (the benchmark itself is a script, not a test)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from benchmarks.gait_accuracy import PATTERNS, draw_config, match_times, score_session
from gaitstream.simulate import pattern_config, simulate_session


def test_match_times_is_one_to_one_within_tolerance():
    pairs = match_times(np.array([1.0, 2.0, 3.0]), np.array([1.03, 1.05, 2.2, 2.98]), 0.06)
    assert sorted(pairs) == [(0, 0), (2, 3)]
    assert match_times(np.array([]), np.array([1.0]), 0.06) == []


def test_truth_scored_against_itself_is_perfect():
    truth = simulate_session(pattern_config("compensated_left", duration_s=30.0)).truth
    scored = score_session(truth, copy.deepcopy(truth))
    assert scored["ic_fp"] == scored["ic_fn"] == 0 and scored["ic_side_correct"] == scored["ic_tp"]
    assert np.allclose(scored["drop_error_deg"], 0.0) and np.allclose(scored["lean_error_deg"], 0.0)
    assert scored["true_class"] == scored["found_class"] == "compensated_trendelenburg_left"


def test_shifted_and_mislabelled_detections_are_penalised():
    truth = simulate_session(pattern_config("normal", duration_s=30.0)).truth
    found = copy.deepcopy(truth)
    found["initial_contacts"]["left"] = [t + 0.1 for t in found["initial_contacts"]["left"]]
    found["initial_contacts"]["left"], found["initial_contacts"]["right"] = (
        found["initial_contacts"]["right"],
        found["initial_contacts"]["left"],
    )
    scored = score_session(truth, found)
    assert scored["ic_side_correct"] == 0 and scored["ic_fn"] == len(truth["initial_contacts"]["left"])


def test_drawn_sessions_span_the_required_space():
    rng = np.random.default_rng(0)
    drawn = [draw_config(i, rng) for i in range(60)]
    patterns = {p for p, _ in drawn}
    assert patterns == set(PATTERNS)
    by_pattern = {p: c for p, c in drawn}
    unilateral = by_pattern["compensated_left_unilateral"]
    assert unilateral.trunk_lean_left_deg >= 6.0 and abs(unilateral.trunk_lean_right_deg) <= 0.5
    assert by_pattern["trendelenburg_right_hip_hike"].pelvic_drop_left_deg < 0.0
    assert by_pattern["variable_trendelenburg"].pelvic_drop_jitter_deg >= 1.0
    assert min(c.cadence_spm for _, c in drawn) < 80.0
    rates = [c.sampling_rate_hz for _, c in drawn]
    assert min(rates) == 60.0 and max(rates) == 200.0
    pitches = [c.mounting_deg[1] for _, c in drawn]
    assert 0.0 <= min(pitches) and max(pitches) <= 40.0 and max(pitches) > 30.0
    assert any(c.gyr_bias_dps > 1.0 for _, c in drawn)


def test_benchmark_runs_end_to_end(tmp_path, capsys):
    pytest.importorskip("gaitstream.gait.offline")
    from benchmarks.gait_accuracy import main

    assert main(["--sessions", "2", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"seed", "standing", "no_standing"}
    assert out["standing"]["sessions"] == out["no_standing"]["sessions"] == 2
    assert out["standing"]["per_pattern"]["normal"]["sessions"] == 1
