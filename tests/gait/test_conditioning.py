import numpy as np
import pytest

from gaitstream.gait.conditioning import InputConditioner, regrid


def test_regrid_fills_short_gaps_linearly():
    t = np.array([0.03, 0.06, 0.07])                 # 0.01 -> 0.03 misses 0.02; 0.03 -> 0.06 misses two
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
    args = dict(sampling_rate_hz=100.0, trunk=False, axes="x=forward,y=left,z=up", acc_unit="mps2",
                gyr_unit="dps", max_fill_gap_s=0.5)
    args.update(kw)
    return InputConditioner(**args)


def test_nan_rows_dropped_then_filled():
    c = _conditioner()
    t = np.arange(5) / 100.0
    acc = np.tile([0.0, 0.0, 9.8], (5, 1))
    acc[2, 1] = np.nan
    gt, gv, _ = c.condition(t, [acc, np.zeros((5, 3))])
    assert np.allclose(gt, t) and np.isfinite(gv).all()


def test_repeated_time_keeps_first_and_decreasing_time_raises():
    c = _conditioner()
    gt, gv, _ = c.condition(np.array([0.0, 0.01, 0.01, 0.02]), [np.arange(12.0).reshape(4, 3), np.zeros((4, 3))])
    assert len(gt) == 3 and gv[1, 0] == 3.0
    with pytest.raises(ValueError, match="decrease"):
        c.condition(np.array([0.015]), [np.zeros((1, 3)), np.zeros((1, 3))])


def test_units_and_axes():
    c = _conditioner(axes="x=up,y=left,z=backward", acc_unit="g", gyr_unit="rads")
    _, gv, _ = c.condition(np.array([0.0]), [np.array([[1.0, 0, 0]]), np.array([[0, 0, np.pi]])])
    assert np.allclose(gv[0, :3], [0, 0, 9.80665]) and np.allclose(gv[0, 3:], [-180.0, 0, 0])


def test_shape_errors_are_explained():
    with pytest.raises(ValueError, match="shape"):
        _conditioner().condition(np.array([0.0, 0.01]), [np.zeros((3, 3)), np.zeros((2, 3))])
