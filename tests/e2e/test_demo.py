"""The README's main job, bounded in time: `gaitstream demo` shows live stations from InfluxDB."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_shows_every_station_with_a_classification(stack, tmp_path) -> None:
    env = {**os.environ, "GAITSTREAM_PIPELINE_DATADIR": str(tmp_path / "faust"), "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "gaitstream", "demo", "--stations", "3", "--duration-s", "50"],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    final_table = result.stdout.split("gaitstream live gait quality")[-1]
    rows = re.findall(r"│ (station-\d+)\s+│ (p-\d+)\s+│.*│ (\w+)\s+│\s+([\d.]+) s", final_table)
    assert [r[0] for r in rows] == ["station-01", "station-02", "station-03"], final_table
    labels = {r[0]: r[2] for r in rows}
    # The first three demo patients: normal, Trendelenburg left, Trendelenburg right.
    assert labels == {"station-01": "normal", "station-02": "trendelenburg_left",
                      "station-03": "trendelenburg_right"}, final_table
    assert all(float(r[3]) < 5.0 for r in rows), "a station's last update is stale"
    assert "demo_stopped" in result.stderr
