"""The trunk joined onto the pelvis's frames live: clock measured as the data comes (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.services.station.frames import PELVIS_COLUMNS
from gaitstream.services.station.trunk_join import TRUNK_COLUMNS, TrunkJoiner
from gaitstream.simulate import pattern_config, simulate_session

RATE_HZ = 100.0
FRAME = 10


@pytest.fixture(scope="module")
def walk():
    return simulate_session(pattern_config("compensated_left", duration_s=90.0, seed=4)).recording_columns


def _feed(joiner: TrunkJoiner, columns, trunk_clock, *, trunk_until_s=np.inf, trunk_delay_frames=3):
    """Pelvis frames of 10 samples; the trunk's samples arrive a few frames later, in chunks of 7."""
    t = columns["time_s"]
    trunk = np.column_stack([columns[c] for c in TRUNK_COLUMNS])
    out, held = [], []
    trunk_sent = 0
    for start in range(0, len(t), FRAME):
        block = {"time_s": t[start : start + FRAME], **{c: columns[c][start : start + FRAME] for c in PELVIS_COLUMNS}}
        joiner.push_pelvis(float(t[start]), block)
        upto = max(0, start - trunk_delay_frames * FRAME)
        while trunk_sent + 7 <= upto:
            chunk = slice(trunk_sent, trunk_sent + 7)
            keep = t[chunk] < trunk_until_s
            joiner.push_trunk(trunk_clock[chunk][keep], trunk[chunk][keep])
            trunk_sent += 7
        out += joiner.take()
        held.append(len(joiner._frames))
    keep = t[trunk_sent:] < trunk_until_s  # the stream ends: the trunk's last samples arrive
    joiner.push_trunk(trunk_clock[trunk_sent:][keep], trunk[trunk_sent:][keep])
    return out + joiner.take() + joiner.flush(), held


def test_a_trunk_30_ms_late_and_drifting_50_ppm_lands_on_the_pelvis_samples(walk) -> None:
    t = walk["time_s"]
    trunk_clock = t + 0.030 + 50e-6 * (t - t[0])
    joiner = TrunkJoiner(RATE_HZ)
    frames, held = _feed(joiner, walk, trunk_clock)
    assert [f[0] for f in frames] == [float(t[s]) for s in range(0, len(t), FRAME)]
    fit = joiner.fit
    assert fit.offset_s + fit.drift * (t[0] - fit.t0_s) == pytest.approx(0.030, abs=0.002)
    assert fit.drift_ppm == pytest.approx(50.0, abs=25.0)
    # Held back once, for the first window (10 s + the lag bound + the trunk's 0.3 s delivery
    # delay); after that a few frames at most.
    assert max(held) <= (10.25 + 0.3 + 0.1) * RATE_HZ / FRAME + 1
    assert max(held[len(held) // 2 :]) <= 6
    got = np.concatenate([np.column_stack([b[c] for c in TRUNK_COLUMNS]) for _, b in frames])
    truth = np.column_stack([walk[c] for c in TRUNK_COLUMNS])
    unaligned = np.column_stack([np.interp(t, trunk_clock, truth[:, i]) for i in range(6)])
    error, error_unaligned = np.abs(got - truth)[5:-5, 3:], np.abs(unaligned - truth)[5:-5, 3:]
    assert not np.isnan(error).any() and joiner.trunk_missing <= 1  # the very first sample: no trunk before it
    assert np.percentile(error, 99) < 0.25 * np.percentile(error_unaligned, 99)


def test_a_trunk_that_falls_silent_costs_only_its_own_samples(walk) -> None:
    t = walk["time_s"]
    joiner = TrunkJoiner(RATE_HZ)
    frames, held = _feed(joiner, walk, t + 0.02, trunk_until_s=40.0)
    assert len(frames) == len(range(0, len(t), FRAME))
    trunk = np.concatenate([b["trunk_acc_z"] for _, b in frames])
    pelvis = np.concatenate([b["acc_z"] for _, b in frames])
    assert np.array_equal(pelvis, walk["acc_z"])  # every pelvis sample is kept
    assert np.isnan(trunk[t > 40.1]).all() and not np.isnan(trunk[(t > 1) & (t < 39.8)]).any()
    assert joiner.trunk_missing == int(np.isnan(trunk).sum())
    # after the silence, frames wait at most wait_s of pelvis data
    assert max(held[len(held) // 2 :]) <= joiner.wait_s * RATE_HZ / FRAME + 1


def test_no_trunk_at_all_still_lets_the_pelvis_through(walk) -> None:
    t = walk["time_s"]
    joiner = TrunkJoiner(RATE_HZ)
    frames, held = _feed(joiner, walk, t, trunk_until_s=-1.0)
    assert len(frames) == len(range(0, len(t), FRAME)) and joiner.fit is None
    assert joiner.trunk_missing == len(t)
    assert max(held) <= (10 + 0.25 + 1.0) * RATE_HZ / FRAME + 2


def test_standing_still_first_takes_the_trunk_as_on_time_then_measures_when_walking() -> None:
    t = np.arange(0, 15, 1 / RATE_HZ)
    still = {"time_s": t, **{c: np.where(c.endswith("acc_z"), 9.81, 0.0) * np.ones_like(t) for c in PELVIS_COLUMNS}}
    still.update({c: still[c[6:]].copy() for c in TRUNK_COLUMNS})
    joiner = TrunkJoiner(RATE_HZ)
    frames, _ = _feed(joiner, still, t + 0.03)
    assert len(frames) == len(range(0, len(t), FRAME)) and joiner.fit is None and joiner.windows_tried >= 1
