import math

import numpy as np
import pytest

from gaitstream.gait.config import GaitConfig
from gaitstream.gait.metrics import StepMetrics, stance_extreme_deg, steady_steps, strides_from_steps, summarize


def _steps(n=24, duration=0.5, left_drop=4.0, right_drop=2.0, lean=None):
    out = []
    for i in range(n):
        side = "left" if i % 2 == 0 else "right"
        out.append(
            StepMetrics(
                index=i,
                side=side,
                start_s=i * duration,
                end_s=(i + 1) * duration,
                duration_s=duration,
                pelvic_drop_deg=left_drop if side == "left" else right_drop,
                trunk_lean_deg=lean,
            )
        )
    return out


def test_stance_extreme_sign_convention():
    phi = np.array([-1.0, 2.0, 4.0, -3.0])
    assert stance_extreme_deg("left", phi) == 4.0  # right side lowest while standing on the left
    assert stance_extreme_deg("right", phi) == 3.0
    assert math.isnan(stance_extreme_deg("left", np.array([np.nan])))


def test_strides_and_rom():
    steps = _steps(4)
    t = np.arange(0, 2.01, 0.01)
    phi = np.sin(2 * np.pi * t)
    strides = strides_from_steps(steps, t, phi)
    assert [s["side"] for s in strides] == ["left", "right", "left"]
    assert strides[0]["duration_s"] == pytest.approx(1.0)
    assert strides[0]["obliquity_rom_deg"] == pytest.approx(2.0, abs=1e-3)


def test_steady_steps_drop_outliers():
    steps = _steps(10)
    odd = StepMetrics(
        index=10, side="left", start_s=5.0, end_s=6.4, duration_s=1.4, pelvic_drop_deg=9.0, trunk_lean_deg=None
    )
    assert odd not in steady_steps(steps + [odd], 0.3)


def test_summary_values():
    steps = _steps(24)
    summary = summarize(
        steps, strides_from_steps(steps, np.arange(0, 12.01, 0.01), np.zeros(1201)), trunk=False, config=GaitConfig()
    )
    assert summary["left"]["pelvic_drop_deg_median"] == 4.0 and summary["right"]["steps"] == 12
    assert summary["pelvic_drop_asymmetry_deg"] == pytest.approx(2.0)
    assert summary["cadence_spm"] == pytest.approx(120.0)
    assert summary["stride_time_s"] == pytest.approx(1.0)
    assert summary["step_time_asymmetry_pct"] == pytest.approx(0.0)
    assert summary["left"]["trunk_lean_deg_median"] is None
    assert summary["classification"] == "normal"


def test_step_to_dict():
    step = _steps(1)[0]
    assert step.to_dict()["index"] == 0
    assert set(step.to_dict(include_index=False)) == {
        "side",
        "start_s",
        "end_s",
        "duration_s",
        "pelvic_drop_deg",
        "trunk_lean_deg",
    }
