"""Regression snapshots of ``analyze`` on the shared real recordings.

A snapshot is the analyzer JSON of one recording, stored in
``tests/gait/snapshots/<dataset>__<recording>.json``. The test fails when a
snapshot is missing or differs. After an intended change, regenerate with::

    GAITSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/gait/test_snapshots.py

and review the diff. Tests skip (with the reason) when the shared data is absent
(``$GAITSTREAM_SHARED_DATA`` or ``<repo>/../shared/data``).
"""

from __future__ import annotations

import json
import os
import warnings

import pytest

from gaitstream.gait.offline import analyze_recording
from gaitstream.gait.recording import load_recording_csv
from tests.gait.conftest import SNAPSHOT_DIR, shared_data_dir

RECORDINGS = [
    ("mobgap-HA001", "HA_001_TimeMeasure1_Test5_Trial1"),
    ("mobgap-HA001", "HA_001_TimeMeasure1_Test5_Trial2"),
    ("mobgap-HA001", "HA_001_TimeMeasure1_Test11_Trial1"),
    ("ipol-L5", "1-1"),
    ("ipol-L5", "5-2"),
    ("ipol-L5", "11-1"),  # has a repeated packet
    ("ipol-L5", "18-1"),
]
# Values are rounded to 0.01 (angles) / 0.001 (times); allow one rounding step.
FLOAT_TOLERANCE = 0.011


def _compare(actual, expected, path="$"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{path}: keys differ"
        for key in expected:
            _compare(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{path}: length {len(actual) if isinstance(actual, list) else '-'} != {len(expected)}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert isinstance(actual, (int, float)) and abs(actual - expected) <= FLOAT_TOLERANCE, (
            f"{path}: {actual} != {expected}"
        )
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("dataset,name", RECORDINGS, ids=[f"{d}/{n}" for d, n in RECORDINGS])
def test_analyze_snapshot(dataset, name):
    source = shared_data_dir() / dataset / f"{name}.csv"
    if not source.exists():
        pytest.skip(f"shared data not available: {source}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = json.loads(json.dumps(analyze_recording(load_recording_csv(source))))
    snapshot = SNAPSHOT_DIR / f"{dataset}__{name}.json"
    if os.environ.get("GAITSTREAM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(json.dumps(result, indent=1) + "\n")
    if not snapshot.exists():
        pytest.fail(f"snapshot missing: {snapshot}; run with GAITSTREAM_UPDATE_SNAPSHOTS=1 to create it")
    _compare(result, json.loads(snapshot.read_text()))
