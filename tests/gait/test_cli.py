import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from gaitstream.gait.cli import register
from tests.gait.conftest import simulated, write_csv


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """gaitstream (test harness)."""

    register(app)
    return app


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory):
    session = simulated("trendelenburg_right", duration_s=30.0)
    return write_csv(tmp_path_factory.mktemp("cli") / "rec.csv", session.recording_columns)


def _run(app, *args):
    return CliRunner().invoke(app, ["analyze", *map(str, args)])


def test_json_on_stdout_logs_on_stderr(app, good_csv):
    result = _run(app, good_csv)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["summary"]["classification"] == "trendelenburg_right"
    assert "trace" not in out
    assert "analyzed" in result.stderr and "classification=trendelenburg_right" in result.stderr


def test_trace_option(app, good_csv):
    out = json.loads(_run(app, good_csv, "--trace").stdout)
    assert len(out["trace"]["time_s"]) > 2000 and out["trace"]["trunk_lateral_lean_deg"] is None


def test_table_format(app, good_csv):
    result = _run(app, good_csv, "--format", "table")
    assert result.exit_code == 0 and "classification" in result.stdout and "pelvic drop" in result.stdout


def test_axes_and_units_options(app, tmp_path):
    cols = dict(simulated("trendelenburg_right", duration_s=30.0).recording_columns)
    # sensor x=up, y=right, z=forward, in g and rad/s
    acc = np.column_stack([cols["acc_z"], -cols["acc_y"], cols["acc_x"]]) / 9.80665
    gyr = np.radians(np.column_stack([cols["gyr_z"], -cols["gyr_y"], cols["gyr_x"]]))
    for i, axis in enumerate("xyz"):
        cols[f"acc_{axis}"], cols[f"gyr_{axis}"] = acc[:, i], gyr[:, i]
    path = write_csv(tmp_path / "raw.csv", cols)
    result = _run(app, path, "--axes", "x=up,y=right,z=forward", "--acc-unit", "g", "--gyr-unit", "rads")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["classification"] == "trendelenburg_right"


@pytest.mark.parametrize(
    "content,expected",
    [
        ("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y\n0,0,0,9.8,0,0\n", "missing required column 'gyr_z'"),
        ("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,0,0,9.8,0,0,0\n0.01,0,x,9.8,0,0,0\n", "row 3, column 'acc_y'"),
        (
            "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,0,0,9.8,0,0,0\n0.02,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n",
            "row 4",
        ),
        ("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n", "too short"),
    ],
)
def test_bad_files(app, tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = _run(app, path)
    assert result.exit_code == 2
    assert str(path) in result.stderr and expected in result.stderr
    assert result.stdout == ""


def test_non_monotonic_message(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,0,0,9.8,0,0,0\n0.02,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n"
    )
    assert "non-monotonic" in _run(app, path).stderr


def test_no_walking(app, tmp_path):
    t = np.arange(3000) / 100.0
    cols = {
        "time_s": t,
        "acc_x": np.zeros_like(t),
        "acc_y": np.zeros_like(t),
        "acc_z": np.full_like(t, 9.81),
        "gyr_x": np.zeros_like(t),
        "gyr_y": np.zeros_like(t),
        "gyr_z": np.zeros_like(t),
    }
    path = write_csv(tmp_path / "still.csv", cols)
    result = _run(app, path)
    assert result.exit_code == 2 and "no walking found" in result.stderr and str(path) in result.stderr


def test_missing_file_and_bad_options(app, tmp_path):
    result = _run(app, tmp_path / "nope.csv")
    assert result.exit_code == 2 and "nope.csv" in result.stderr
    assert _run(app, tmp_path / "nope.csv", "--format", "xml").exit_code == 2
    assert _run(app, tmp_path / "nope.csv", "--acc-unit", "furlongs").exit_code == 2
    assert _run(app, tmp_path / "nope.csv", "--axes", "x=up").exit_code == 2


def test_import_is_cheap():
    """The gaitstream CLI imports this module at start-up: no scipy/imufusion/numpy there."""
    import subprocess
    import sys

    code = (
        "import sys, gaitstream.gait.cli; "
        "print(','.join(m for m in ('scipy', 'imufusion', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_corrupt_samples_are_reported_not_fatal(app, tmp_path):
    session = simulated("trendelenburg_right", duration_s=30.0)
    columns = {k: v.copy() for k, v in session.recording_columns.items()}
    columns["gyr_x"][1500] = 1e30  # one flipped bit in a float32
    columns["acc_y"][1800] = float("inf")
    result = _run(app, write_csv(tmp_path / "corrupt.csv", columns))
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["recording"]["rejected_samples"] == 2
    assert out["recording"]["rejected_by_reason"] == {"non_finite": 1, "out_of_range": 1}
    assert "rejected_samples=2" in result.stderr and "corrupt samples removed" in result.stderr
    assert out["summary"]["classification"] == "trendelenburg_right"


def test_lean_reference_and_flag_without_standing(app, tmp_path):
    session = simulated("compensated_right_unilateral", trunk=True, duration_s=40.0, standing_s=0.0)
    out = json.loads(_run(app, write_csv(tmp_path / "walk.csv", session.recording_columns)).stdout)
    assert out["calibration"]["trunk_lean_reference"] == "walking_mean"
    assert out["calibration"]["obliquity_reference"] == "walking_median"
    # the one-sided lean reads small against the walking mean: whatever the label, it is flagged
    assert out["summary"]["classification"] in ("normal", "compensated_trendelenburg_right")
    assert out["summary"]["classification_flags"] == ["trunk_lean_reference_walking"]
    table = _run(app, write_csv(tmp_path / "walk.csv", session.recording_columns), "--format", "table").stdout
    assert "trunk lean to the walking_mean" in table
