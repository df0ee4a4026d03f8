import json
from itertools import pairwise

import numpy as np
import pytest

from gaitstream.gait.config import GaitConfig
from gaitstream.gait.exceptions import NoWalkingError
from gaitstream.gait.offline import analyze_recording
from gaitstream.gait.recording import Recording
from tests.gait.conftest import match_times, recording_of, simulated

TOP_KEYS = {"recording", "calibration", "initial_contacts", "steps", "strides", "summary"}
STEP_KEYS = {"side", "start_s", "end_s", "duration_s", "pelvic_drop_deg", "trunk_lean_deg"}
STRIDE_KEYS = {"side", "start_s", "end_s", "duration_s", "obliquity_rom_deg"}
SIDE_KEYS = {"pelvic_drop_deg_median", "pelvic_drop_deg_p90", "trunk_lean_deg_median", "steps"}
SUMMARY_KEYS = {
    "left",
    "right",
    "pelvic_drop_asymmetry_deg",
    "cadence_spm",
    "stride_time_s",
    "step_time_asymmetry_pct",
    "classification",
    "classification_flags",
}
CALIBRATION_KEYS = {"method", "mounting_deg", "obliquity_reference", "trunk_lean_reference"}


def test_json_contract_without_trunk():
    out = analyze_recording(recording_of(simulated("normal", duration_s=30.0)))
    json.dumps(out, allow_nan=False)
    assert set(out) == TOP_KEYS
    assert (
        set(out["recording"]) == {"sampling_rate_hz", "duration_s", "trunk", "rejected_samples", "rejected_by_reason"}
        and out["recording"]["trunk"] is False
    )
    assert out["recording"]["rejected_samples"] == 0 and out["recording"]["rejected_by_reason"] == {}
    assert set(out["calibration"]) == CALIBRATION_KEYS
    assert out["calibration"]["obliquity_reference"] == "standing_posture"
    assert out["calibration"]["trunk_lean_reference"] is None
    assert set(out["calibration"]["mounting_deg"]) == {"roll", "pitch", "yaw"}
    assert set(out["initial_contacts"]) == {"left", "right"}
    assert all(set(s) == STEP_KEYS and s["trunk_lean_deg"] is None for s in out["steps"])
    assert all(set(s) == STRIDE_KEYS for s in out["strides"])
    assert set(out["summary"]) == SUMMARY_KEYS
    assert set(out["summary"]["left"]) == SIDE_KEYS and out["summary"]["left"]["trunk_lean_deg_median"] is None
    assert out["summary"]["classification"] in {"normal", "insufficient_data"}
    assert out["summary"]["classification_flags"] == []


def test_json_contract_with_trunk_and_trace():
    out = analyze_recording(recording_of(simulated("compensated_left", trunk=True, duration_s=30.0)), trace=True)
    assert set(out) == TOP_KEYS | {"trace"}
    trace = out["trace"]
    assert len(trace["time_s"]) == len(trace["pelvic_obliquity_deg"]) == len(trace["trunk_lateral_lean_deg"])
    assert all(isinstance(s["trunk_lean_deg"], float) for s in out["steps"])
    assert out["recording"]["trunk"] is True


def test_ics_alternate_and_match_steps():
    out = analyze_recording(recording_of(simulated("normal", duration_s=30.0)))
    ics = sorted(
        [(t, "L") for t in out["initial_contacts"]["left"]] + [(t, "R") for t in out["initial_contacts"]["right"]]
    )
    assert all(a[1] != b[1] for a, b in pairwise(ics))
    for step in out["steps"]:
        assert step["start_s"] in out["initial_contacts"][step["side"]]


def test_standing_only_raises_no_walking():
    t = np.arange(3000) / 100.0
    rec = Recording(t, np.tile([0.0, 0.0, 9.81], (3000, 1)), np.zeros((3000, 3)), None, None, 100.0, "still.csv")
    with pytest.raises(NoWalkingError, match="no walking found"), pytest.warns(UserWarning):
        analyze_recording(rec)


def test_accuracy_on_simulated_sessions():
    """Spec targets on a small set (the full benchmark lives in benchmarks/)."""
    errors, lean_errors, side_ok, n, tp, n_det, n_true = [], [], 0, 0, 0, 0, 0
    for k, pattern in enumerate(["normal", "trendelenburg_left", "compensated_right"]):
        session = simulated(
            pattern, trunk=True, duration_s=40.0, seed=k, mounting_deg=(-6.0 + 6 * k, 20.0 + 8 * k, 10.0 - 8 * k)
        )
        out = analyze_recording(recording_of(session))
        truth = session.truth
        for side in ("left", "right"):
            tp += match_times(out["initial_contacts"][side], truth["initial_contacts"][side], 0.06)
            n_det += len(out["initial_contacts"][side])
            n_true += len(truth["initial_contacts"][side])
        true_starts = np.array([s["start_s"] for s in truth["steps"]])
        for step in out["steps"]:
            j = int(np.argmin(np.abs(true_starts - step["start_s"])))
            if abs(true_starts[j] - step["start_s"]) > 0.06:
                continue
            n += 1
            side_ok += step["side"] == truth["steps"][j]["side"]
            errors.append(step["pelvic_drop_deg"] - truth["steps"][j]["pelvic_drop_deg"])
            lean_errors.append(step["trunk_lean_deg"] - truth["steps"][j]["trunk_lean_deg"])
        assert out["summary"]["classification"] == truth["summary"]["classification"]
    assert 2 * tp / (n_det + n_true) >= 0.97
    assert side_ok / n >= 0.99
    assert np.mean(np.abs(errors)) <= 0.7
    assert np.mean(np.abs(lean_errors)) <= 1.0


def test_thresholds_change_classification():
    rec = recording_of(simulated("normal", duration_s=40.0))
    assert analyze_recording(rec)["summary"]["classification"] == "normal"
    low = GaitConfig(pelvic_drop_threshold_deg=0.5)
    assert analyze_recording(rec, low)["summary"]["classification"] == "trendelenburg_bilateral"


@pytest.mark.parametrize("cadence_spm", [60.0, 100.0])
def test_one_sided_trunk_lean_with_standing_is_measured_whole(cadence_spm):
    """Issue 13: a lean toward the left stance limb only, upright over the right one; slow walking
    with a tilted trunk sensor once read as 4.8 deg for 9.6 (mounting yaw taken from the lean)."""
    session = simulated(
        "compensated_left_unilateral",
        trunk=True,
        duration_s=60.0,
        cadence_spm=cadence_spm,
        trunk_lean_left_deg=9.6,
        trunk_mounting_deg=(15.0, 35.0, 15.0),
        seed=3,
    )
    out = analyze_recording(recording_of(session))
    truth = session.truth["summary"]
    for side in ("left", "right"):
        assert out["summary"][side]["trunk_lean_deg_median"] == pytest.approx(
            truth[side]["trunk_lean_deg_median"], abs=0.5
        )
    assert out["summary"]["classification"] == "compensated_trendelenburg_left"
    assert out["summary"]["classification_flags"] == []
    assert out["calibration"]["trunk_lean_reference"] == "standing_posture"
