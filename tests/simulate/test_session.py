"""Whole session, streaming blocks, determinism, files and the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from gaitstream.simulate import iter_session_blocks, pattern_config, simulate_session
from gaitstream.simulate.cli import register

REQUIRED_COLUMNS = ["time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
TRUNK_COLUMNS = [f"trunk_{c}" for c in REQUIRED_COLUMNS[1:]]


def test_same_seed_same_session_other_seed_differs():
    cfg = pattern_config("trendelenburg_left", duration_s=20.0, gyr_bias_dps=1.0, seed=11)
    a, b = simulate_session(cfg), simulate_session(cfg)
    c = simulate_session(cfg.replace(seed=12))
    for name in a.recording_columns:
        np.testing.assert_array_equal(a.recording_columns[name], b.recording_columns[name])
    assert a.truth == b.truth
    assert not np.array_equal(a.recording_columns["acc_z"], c.recording_columns["acc_z"])
    assert a.truth["initial_contacts"] != c.truth["initial_contacts"]


@pytest.mark.parametrize("block_samples", [1, 7, 100, 4097])
def test_blocks_equal_slices_of_the_whole_session(block_samples):
    cfg = pattern_config(
        "compensated_right", duration_s=12.0 if block_samples < 10 else 40.0, sampling_rate_hz=120.0, seed=5
    )
    whole = simulate_session(cfg)
    blocks = iter_session_blocks(cfg, block_samples)
    pieces = list(blocks)
    assert all(len(p["time_s"]) == block_samples for p in pieces[:-1])
    # Equal up to round-off (numpy may vectorize one-sample arrays differently).
    for name, values in whole.recording_columns.items():
        np.testing.assert_allclose(np.concatenate([p[name] for p in pieces]), values, rtol=1e-12, atol=1e-12)
    assert blocks.truth()["steps"] == whole.truth["steps"]
    assert blocks.truth()["summary"] == whole.truth["summary"]


def test_stream_truth_so_far_and_bounded_state():
    cfg = pattern_config("trendelenburg_right", duration_s=600.0, seed=2)
    blocks = iter_session_blocks(cfg, 500, keep_truth=False)
    seen_steps, held_knots = [], []
    for block in blocks:
        new = blocks.pop_new_truth()
        assert all(step["end_s"] <= block["time_s"][-1] for step in new["steps"])
        seen_steps.extend(new["steps"])
        held_knots.append(len(blocks.model.schedule.initial_contacts_s()))
    assert max(held_knots) < 20
    assert len(seen_steps) > 900
    starts = [s["start_s"] for s in seen_steps]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    with pytest.raises(ValueError, match="keep_truth"):
        blocks.truth()


def test_bad_block_size():
    with pytest.raises(ValueError, match="block_samples"):
        iter_session_blocks(pattern_config("normal"), 0)


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command keeps "simulate" a subcommand
        pass

    return app


def test_cli_writes_recording_and_truth(tmp_path):
    out, truth = tmp_path / "rec.csv", tmp_path / "truth.json"
    result = CliRunner().invoke(
        _cli(),
        [
            "simulate",
            "--out",
            str(out),
            "--truth",
            str(truth),
            "--pattern",
            "trendelenburg_left",
            "--duration-s",
            "20",
            "--sampling-rate-hz",
            "60",
            "--mounting",
            "5,30,-10",
            "--drop-right-deg",
            "4",
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == REQUIRED_COLUMNS + TRUNK_COLUMNS
    data = np.array(rows[1:], dtype=float)
    assert data.shape == (20 * 60, 13)
    assert np.all(np.diff(data[:, 0]) > 0) and np.allclose(np.diff(data[:, 0]), 1 / 60, atol=1e-6)
    doc = json.loads(truth.read_text())
    assert set(doc) >= {"recording", "initial_contacts", "steps", "strides", "summary", "mounting_deg", "config"}
    assert doc["recording"] == {"sampling_rate_hz": 60.0, "duration_s": 20.0, "trunk": True}
    assert doc["mounting_deg"] == {"roll": 5.0, "pitch": 30.0, "yaw": -10.0}
    assert doc["config"]["pelvic_drop_right_deg"] == 4.0
    assert set(doc["summary"]["left"]) == {
        "pelvic_drop_deg_median",
        "pelvic_drop_deg_p90",
        "trunk_lean_deg_median",
        "steps",
    }


def test_cli_no_trunk_and_bad_argument(tmp_path):
    out, truth = tmp_path / "rec.csv", tmp_path / "truth.json"
    runner = CliRunner()
    result = runner.invoke(
        _cli(), ["simulate", "--out", str(out), "--truth", str(truth), "--no-trunk", "--duration-s", "10"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == ",".join(REQUIRED_COLUMNS)
    result = runner.invoke(_cli(), ["simulate", "--out", str(out), "--truth", str(truth), "--sampling-rate-hz", "30"])
    assert result.exit_code != 0 and "sampling_rate_hz" in result.output


def test_blocks_without_standing_match_whole_session_truth():
    cfg = pattern_config("trendelenburg_left", duration_s=30.0, standing_s=0.0, seed=8)
    whole = simulate_session(cfg)
    blocks = iter_session_blocks(cfg, 333)
    for _ in blocks:
        pass
    assert blocks.truth()["calibration"]["method"] == "walking"
    assert blocks.truth()["steps"] == whole.truth["steps"]


def test_packet_loss_leaves_short_gaps_and_streams_identically():
    cfg = pattern_config("normal", duration_s=60.0, packet_loss_pct=3.0, seed=4)
    whole = simulate_session(cfg)
    time_s = whole.recording_columns["time_s"]
    lost = 1.0 - time_s.size / cfg.n_samples
    assert 0.015 < lost < 0.045 and time_s[0] == 0.0
    gaps_samples = np.round(np.diff(time_s) * cfg.sampling_rate_hz).astype(int) - 1
    assert gaps_samples.min() == 0 and 1 <= gaps_samples.max() <= 10
    pieces = list(iter_session_blocks(cfg, 250))
    np.testing.assert_allclose(
        np.concatenate([p["acc_z"] for p in pieces]), whole.recording_columns["acc_z"], rtol=1e-12, atol=1e-12
    )
    assert len(whole.truth["steps"]) == len(simulate_session(cfg.replace(packet_loss_pct=0.0)).truth["steps"])
