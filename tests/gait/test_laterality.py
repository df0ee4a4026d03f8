from itertools import pairwise

import numpy as np
import pytest

from gaitstream.gait.laterality import StreamingSideDetector


def _sway(fs, ics, first_side, duration_s):
    """ML acceleration braking toward the stance side: negative after left ICs, positive after right."""
    t = np.arange(int(duration_s * fs)) / fs
    acc = np.zeros_like(t)
    for i, ic in enumerate(ics):
        sign = -1.0 if (i % 2 == 0) == (first_side == "left") else 1.0
        acc += sign * 0.8 * np.exp(-(((t - ic - 0.27) / 0.12) ** 2))
    return acc


@pytest.mark.parametrize("first_side", ["left", "right"])
def test_alternating_sides(first_side):
    fs = 100.0
    ics = np.arange(1.0, 10.0, 0.55)
    det = StreamingSideDetector(sampling_rate_hz=fs)
    det.append(_sway(fs, ics, first_side, 11.0) + 0.3)  # an offset (mounting, turn) must not matter
    idx = np.round(ics * fs).astype(int)
    feats = [det.feature(i) for i in idx]
    sides = [det.side_of_step(a, b, contiguous=k > 0) for k, (a, b) in enumerate(pairwise(feats))]
    expected = [first_side, "right" if first_side == "left" else "left"] * len(sides)
    assert sides == expected[: len(sides)]


def test_feature_needs_look_ahead():
    det = StreamingSideDetector(sampling_rate_hz=100.0)
    det.append(np.zeros(50))
    with pytest.raises(ValueError):
        det.feature(20)


def test_invalid_window():
    with pytest.raises(ValueError, match="start_s"):
        StreamingSideDetector(sampling_rate_hz=100.0, start_s=0.4, end_s=0.1)
