import numpy as np
import pytest

from gaitstream.gait.conditioning import MARK_BREAK, InputConditioner, regrid


def test_regrid_fills_short_gaps_linearly():
    t = np.array([0.03, 0.06, 0.07])  # 0.01 -> 0.03 misses 0.02; 0.03 -> 0.06 misses two
    v = np.array([[3.0], [6.0], [7.0]])
    gt, gv, gb = regrid(t, v, 0.01, np.array([1.0]), 100.0, max_fill_samples=10)
    assert np.allclose(gt, [0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    assert np.allclose(gv[:, 0], [2, 3, 4, 5, 6, 7]) and not gb.any()


def test_regrid_breaks_on_long_gaps():
    gt, gv, gb = regrid(np.array([0.02, 2.0, 2.01]), np.ones((3, 1)), 0.01, np.ones(1), 100.0, max_fill_samples=50)
    assert np.allclose(gt, [0.02, 2.0, 2.01]) and gb.tolist() == [False, True, False]


def test_first_sample_starts_a_segment():
    _, _, gb = regrid(np.array([0.0, 0.01]), np.ones((2, 1)), None, None, 100.0, 50)
    assert gb.tolist() == [True, False]


def _conditioner(**kw):
    args = dict(
        sampling_rate_hz=100.0,
        trunk=False,
        axes="x=forward,y=left,z=up",
        acc_unit="mps2",
        gyr_unit="dps",
        max_fill_gap_s=0.5,
    )
    args.update(kw)
    return InputConditioner(**args)


def test_nan_rows_dropped_then_filled():
    c = _conditioner()
    t = np.arange(5) / 100.0
    acc = np.tile([0.0, 0.0, 9.8], (5, 1))
    acc[2, 1] = np.nan
    gt, gv, _ = c.condition(t, [acc, np.zeros((5, 3))])
    assert np.allclose(gt, t) and np.isfinite(gv).all()


def test_repeated_and_decreasing_times_are_dropped_and_counted():
    c = _conditioner()
    gt, gv, _ = c.condition(np.array([0.0, 0.01, 0.01, 0.02]), [np.arange(12.0).reshape(4, 3), np.zeros((4, 3))])
    assert len(gt) == 3 and gv[1, 0] == 3.0
    assert c.condition(np.array([0.015]), [np.zeros((1, 3)), np.zeros((1, 3))]) is None
    gt, _, _ = c.condition(np.array([0.019, 0.03, np.nan, 0.04]), [np.zeros((4, 3)), np.zeros((4, 3))])
    assert np.allclose(gt, [0.03, 0.04])
    assert c.rejected["time_repeated"] == 1 and c.rejected["time_not_increasing"] == 2
    assert c.rejected["time_invalid"] == 1


def test_a_single_time_far_ahead_is_dropped_a_real_jump_is_kept():
    c = _conditioner()
    acc, gyr = np.tile([0.0, 0.0, 9.8], (6, 1)), np.zeros((6, 3))
    gt, _, _ = c.condition(np.array([0.0, 0.01, 1e9, 0.03, 0.04, 0.05]), [acc, gyr])
    assert np.allclose(gt, [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])  # the outlier's slot is filled
    assert c.rejected["time_outlier"] == 1
    # a jump at the end of a push waits for its successor: here it continues from it (a clock step)
    assert c.condition(np.array([7.0]), [acc[:1], gyr[:1]]) is None
    gt, _, brk = c.condition(np.array([7.01, 7.02]), [acc[:2], gyr[:2]])
    assert np.allclose(gt, [7.0, 7.01, 7.02]) and brk[0] == MARK_BREAK and not brk[1:].any()
    # ... and here the successor continues from before it: an outlier
    assert c.condition(np.array([30.0]), [acc[:1], gyr[:1]]) is None
    gt, _, _ = c.condition(np.array([7.03]), [acc[:1], gyr[:1]])
    assert np.allclose(gt, [7.03]) and c.rejected["time_outlier"] == 2


def test_corrupt_values_become_gaps_and_are_counted():
    c = _conditioner()
    t = np.arange(8) / 100.0
    acc, gyr = np.tile([0.0, 0.0, 9.8], (8, 1)), np.zeros((8, 3))
    acc[2, 0], gyr[4, 1], gyr[6, 2] = 1e30, np.inf, -5000.0
    gt, gv, _ = c.condition(t, [acc, gyr])
    assert np.allclose(gt, t) and np.abs(gv).max() < 10.0  # filled by interpolation
    assert c.rejected["out_of_range"] == 2 and c.rejected["non_finite"] == 1


def test_state_round_trip_keeps_counts_and_held_sample():
    c = _conditioner()
    acc, gyr = np.tile([0.0, 0.0, 9.8], (2, 1)), np.zeros((2, 3))
    c.condition(np.array([0.0, 0.01]), [acc, gyr])
    c.condition(np.array([0.02, 3.0]), [acc, gyr * np.nan])
    d = _conditioner()
    d.load_state(c.state())
    assert d.rejected == c.rejected and d.rejected["non_finite"] == 1  # 3.0 s waits for its successor
    c.condition(np.array([3.01]), [acc[:1], gyr[:1]])
    d.condition(np.array([3.01]), [acc[:1], gyr[:1]])
    assert d.state() == c.state() and d.rejected["non_finite"] == 2


def test_units_and_axes():
    c = _conditioner(axes="x=up,y=left,z=backward", acc_unit="g", gyr_unit="rads")
    _, gv, _ = c.condition(np.array([0.0]), [np.array([[1.0, 0, 0]]), np.array([[0, 0, np.pi]])])
    assert np.allclose(gv[0, :3], [0, 0, 9.80665]) and np.allclose(gv[0, 3:], [-180.0, 0, 0])


def test_shape_errors_are_explained():
    with pytest.raises(ValueError, match="shape"):
        _conditioner().condition(np.array([0.0, 0.01]), [np.zeros((3, 3)), np.zeros((2, 3))])
