"""The README's main job: `gaitstream demo` shows live stations from InfluxDB; Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

RUN_BEFORE_CTRL_C_S = 45


def _children_alive() -> int:
    out = subprocess.run(["pgrep", "-f", "-c", "pipelines worker|gaitstream stations"], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def test_demo_shows_every_station_with_a_classification_and_stops_on_ctrl_c(stack, tmp_path) -> None:
    assert _children_alive() == 0, "another worker or station process is running; the check below needs none"
    env = {**os.environ, "GAITSTREAM_PIPELINE_DATADIR": str(tmp_path / "faust"), "COLUMNS": "200"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "gaitstream", "demo", "--stations", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(RUN_BEFORE_CTRL_C_S)
    assert demo.poll() is None, demo.communicate()[1][-3000:]
    demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
    stdout, stderr = demo.communicate(timeout=90)
    assert demo.returncode == 0, stderr[-3000:]
    final_table = stdout.split("gaitstream live gait quality")[-1]
    rows = re.findall(r"│ (station-\d+)\s+│ (p-\d+)\s+│.*│ (\w+)\s+│\s+([\d.]+) s", final_table)
    assert [r[0] for r in rows] == ["station-01", "station-02", "station-03"], final_table
    # The first three demo patients: normal, Trendelenburg left, Trendelenburg right.
    assert {r[0]: r[2] for r in rows} == {
        "station-01": "normal",
        "station-02": "trendelenburg_left",
        "station-03": "trendelenburg_right",
    }, final_table
    assert all(float(r[3]) < 5.0 for r in rows), "a station's last update is stale"
    assert "demo_stopped" in stderr
    assert _children_alive() == 0, "the demo left its worker or stations running"
