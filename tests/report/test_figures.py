"""A session's figures equal numpy's statistics of its steps; blocks, dose, probes."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.services.report.figures import session_figures
from tests.report.crafted import crafted_record, without_side


def test_per_side_median_and_p90_are_numpys_over_every_step() -> None:
    record = crafted_record()
    figures = session_figures(record)
    for side in ("left", "right"):
        drops = [s.pelvic_drop_deg for s in record.steps if s.side == side]
        assert figures.sides[side].steps == len(drops) == 200
        assert figures.sides[side].pelvic_drop_deg_median == pytest.approx(float(np.median(drops)), abs=1e-12)
        assert figures.sides[side].pelvic_drop_deg_p90 == pytest.approx(float(np.percentile(drops, 90)), abs=1e-12)
        assert figures.sides[side].trunk_lean_deg_median is None  # no trunk sensor
    assert figures.pelvic_drop_asymmetry_deg == pytest.approx(
        figures.sides["left"].pelvic_drop_deg_median - figures.sides["right"].pelvic_drop_deg_median
    )
    assert figures.cadence_spm == pytest.approx(60 / 0.5)
    assert figures.step_time_asymmetry_pct == pytest.approx(100 * 0.04 / 0.5)
    assert figures.duration_s == pytest.approx(200.0)


def test_blocks_dose_and_probe_versus_feedback_medians() -> None:
    record = crafted_record()
    figures = session_figures(record)
    assert [(b.schedule, b.steps) for b in figures.blocks] == [("none", 40), ("faded", 320), ("none", 40)]
    faded = figures.blocks[1]
    assert faded.shown_steps == sum(1 for c in record.cues if c.block_index == 1 and c.shown)
    assert faded.dose == pytest.approx(faded.shown_steps / 320) and figures.blocks[0].dose == 0.0
    assert figures.dose == pytest.approx(faded.shown_steps / 400)
    probe = [c.pelvic_drop_deg for c in record.cues if c.schedule == "none" and c.side == "left"]
    cued = [c.pelvic_drop_deg for c in record.cues if c.schedule != "none" and c.side == "left"]
    assert figures.sides["left"].probe_pelvic_drop_deg_median == pytest.approx(float(np.median(probe)))
    assert figures.sides["left"].feedback_pelvic_drop_deg_median == pytest.approx(float(np.median(cued)))
    rules = figures.for_rules()
    assert rules.probe_median_deg["left"] == figures.sides["left"].probe_pelvic_drop_deg_median
    assert rules.dose == figures.dose and rules.session_id == "s-1"


def test_a_session_without_a_screen_or_a_side_has_none_where_nothing_was_measured() -> None:
    figures = session_figures(without_side(crafted_record(screen=False), "right"))
    assert figures.blocks == () and figures.dose is None
    assert figures.sides["right"].steps == 0 and figures.sides["right"].pelvic_drop_deg_median is None
    assert figures.pelvic_drop_asymmetry_deg is None and figures.step_time_asymmetry_pct is None
    assert figures.sides["left"].probe_pelvic_drop_deg_median is None


def test_trunk_lean_median_with_a_trunk_sensor() -> None:
    record = crafted_record(trunk=True)
    leans = [s.trunk_lean_deg for s in record.steps if s.side == "right"]
    assert session_figures(record).sides["right"].trunk_lean_deg_median == pytest.approx(float(np.median(leans)))
