"""Shared fixtures of the gait tests: simulated sessions (cached) and recording helpers."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

from gaitstream.gait.recording import Recording, infer_sampling_rate_hz

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"


def shared_data_dir() -> Path:
    env = os.environ.get("GAITSTREAM_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@functools.lru_cache(maxsize=32)
def simulated(
    pattern: str = "normal",
    *,
    trunk: bool = False,
    duration_s: float = 30.0,
    sampling_rate_hz: float = 100.0,
    seed: int = 0,
    mounting_deg: tuple = (4.0, 28.0, 8.0),
    standing_s: float = 5.0,
    **overrides,
):
    """A simulated session (cached: sessions are immutable in the tests)."""
    simulate = pytest.importorskip("gaitstream.simulate")
    config = simulate.pattern_config(
        pattern,
        trunk=trunk,
        duration_s=duration_s,
        sampling_rate_hz=sampling_rate_hz,
        seed=seed,
        mounting_deg=mounting_deg,
        standing_s=standing_s,
        **overrides,
    )
    return simulate.simulate_session(config)


def recording_of(session, *, name: str = "simulated") -> Recording:
    cols = session.recording_columns
    t = cols["time_s"]
    acc = np.column_stack([cols[f"acc_{a}"] for a in "xyz"])
    gyr = np.column_stack([cols[f"gyr_{a}"] for a in "xyz"])
    trunk_acc = trunk_gyr = None
    if "trunk_acc_x" in cols:
        trunk_acc = np.column_stack([cols[f"trunk_acc_{a}"] for a in "xyz"])
        trunk_gyr = np.column_stack([cols[f"trunk_gyr_{a}"] for a in "xyz"])
    return Recording(t, acc, gyr, trunk_acc, trunk_gyr, infer_sampling_rate_hz(t), name)


def match_times(detected, reference, tolerance_s: float) -> int:
    """Number of one-to-one matches within the tolerance (greedy by distance)."""
    pairs = sorted(
        (abs(d - r), i, j) for i, r in enumerate(reference) for j, d in enumerate(detected) if abs(d - r) <= tolerance_s
    )
    used_r, used_d = set(), set()
    for _, i, j in pairs:
        if i not in used_r and j not in used_d:
            used_r.add(i)
            used_d.add(j)
    return len(used_r)


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    names = list(columns)
    table = np.column_stack([columns[n] for n in names])
    np.savetxt(path, table, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
    return path
