"""Simulated signals against the shared real lower-back recordings (plausibility).

The detector is tuned on simulated sessions and must work on real ones, so the
simulator's shapes are checked against mobgap HA001 (Stereophoto ICs): the
vertical acceleration around an IC, the left/right signs of the band-passed
yaw and roll rates at the IC, and the size of each signal during walking.
Skips when the shared data is absent (``$GAITSTREAM_SHARED_DATA`` or
``<repo>/../shared/data``).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from gaitstream.simulate import pattern_config, simulate_session

#: Window around each IC for the IC-aligned mean (samples at 100 Hz).
HALF_WINDOW_SAMPLES = 20
RECORDINGS = (("Test5", "Trial1"), ("Test5", "Trial2"))


def _data_dir() -> Path:
    env = os.environ.get("GAITSTREAM_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    path = root / "mobgap-HA001"
    if not path.is_dir():
        pytest.skip(f"shared real data not found at {path}")
    return path


def _levelled(columns: dict[str, np.ndarray], standing_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(acc, gyr) rotated so the mean standing specific force is +z."""
    acc = np.column_stack([columns[f"acc_{a}"] for a in "xyz"])
    gyr = np.column_stack([columns[f"gyr_{a}"] for a in "xyz"])
    g = acc[columns["time_s"] < standing_s].mean(axis=0)
    g /= np.linalg.norm(g)
    v, c = np.cross(g, [0.0, 0.0, 1.0]), g[2]
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    r = np.eye(3) + vx + vx @ vx / (1.0 + c)
    return acc @ r.T, gyr @ r.T


def _features(columns: dict[str, np.ndarray], ics: dict[str, list[float]], standing_s: float) -> dict[str, float]:
    acc, gyr = _levelled(columns, standing_s)
    t = columns["time_s"]
    fs = 1.0 / np.median(np.diff(t))
    b, a = butter(2, [0.5 / (fs / 2), 2.0 / (fs / 2)], "band")
    gyr_bp = filtfilt(b, a, gyr, axis=0)
    out: dict[str, float] = {}
    windows = []
    for side in ("left", "right"):
        idx = np.array([int(round(x * fs)) for x in ics[side]])
        idx = idx[(idx > HALF_WINDOW_SAMPLES) & (idx < len(t) - HALF_WINDOW_SAMPLES)]
        out[f"yaw_rate_sign_{side}"] = float(np.mean(np.sign(gyr_bp[idx, 2])))
        out[f"roll_rate_sign_{side}"] = float(np.mean(np.sign(gyr_bp[idx, 0])))
        windows += [acc[i - HALF_WINDOW_SAMPLES : i + HALF_WINDOW_SAMPLES + 1, 2] for i in idx]
    mean = np.mean(windows, axis=0)
    out["vertical_peak_ms"] = (int(np.argmax(mean)) - HALF_WINDOW_SAMPLES) * 1000.0 / fs
    first, last = min(min(ics["left"]), min(ics["right"])), max(max(ics["left"]), max(ics["right"]))
    walking = (t > first + 1.0) & (t < last)
    out["vertical_range_mps2"] = float(np.ptp(np.percentile(acc[walking, 2], [2, 98])))
    out["lateral_sd_mps2"] = float(np.std(acc[walking, 1]))
    out["yaw_rate_sd_dps"] = float(np.std(gyr[walking, 2]))
    out["pitch_rate_sd_dps"] = float(np.std(gyr[walking, 1]))
    return out


def _real_features() -> list[dict[str, float]]:
    root = _data_dir()
    with (root / "reference_initial_contacts.csv").open() as f:
        reference = [r for r in csv.DictReader(f) if r["system"] == "Stereophoto" and r["level"] == "wb" and r["ic_s"]]
    features = []
    for test, trial in RECORDINGS:
        data = np.genfromtxt(root / f"HA_001_TimeMeasure1_{test}_{trial}.csv", delimiter=",", names=True)
        columns = {name: data[name] for name in data.dtype.names}
        ics = {
            side: [
                float(r["ic_s"])
                for r in reference
                if r["test"] == test and r["trial"] == trial and r["side"].lower() == side
            ]
            for side in ("left", "right")
        }
        features.append(_features(columns, ics, standing_s=2.0))
    return features


def test_simulated_walking_resembles_the_real_lower_back_recordings():
    real = _real_features()
    session = simulate_session(pattern_config("normal", cadence_spm=100.0, mounting_deg=(0.0, 8.0, 0.0), seed=1))
    sim = _features(session.recording_columns, session.truth["initial_contacts"], standing_s=4.0)
    for r in real:
        # Same left/right signature at the IC (what laterality detectors use);
        # HA001's obliquity is tiny, so its roll-rate sign counts only where
        # it is consistent over the ICs.
        for key in ("yaw_rate_sign_left", "yaw_rate_sign_right", "roll_rate_sign_left", "roll_rate_sign_right"):
            if key.startswith("yaw") or abs(r[key]) >= 0.5:
                assert np.sign(sim[key]) == np.sign(r[key]), key
        # Vertical peak shortly after the IC, within 30 ms of the real one.
        assert abs(sim["vertical_peak_ms"] - r["vertical_peak_ms"]) <= 30.0
        # Signal sizes within a factor of 2.5 of the real ones.
        for key in ("vertical_range_mps2", "lateral_sd_mps2", "yaw_rate_sd_dps", "pitch_rate_sd_dps"):
            assert r[key] / 2.5 <= sim[key] <= r[key] * 2.5, (key, sim[key], r[key])
