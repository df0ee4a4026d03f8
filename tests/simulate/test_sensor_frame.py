"""Mounting, axes mapping and configuration validation."""

from __future__ import annotations

import numpy as np
import pytest

from gaitstream.simulate import SimulationConfig, pattern_config
from gaitstream.simulate.imu import mounting_rotation, parse_axes, to_body_frame, to_sensor_frame
from gaitstream.simulate.render import SessionModel


def _columns(model: SessionModel, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    cols = model.render(0, model.config.n_samples)
    acc = np.column_stack([cols[f"{prefix}acc_{a}"] for a in "xyz"])
    gyr = np.column_stack([cols[f"{prefix}gyr_{a}"] for a in "xyz"])
    return acc, gyr


@pytest.mark.parametrize(
    "axes", ["x=forward,y=left,z=up", "x=up,y=right,z=forward", "x=left,y=backward,z=up", "x=down,y=left,z=forward"]
)
def test_rerotating_with_known_mounting_recovers_body_signals(axes):
    common = dict(duration_s=15.0, standing_s=2.0, acc_noise_mps2=0.0, gyr_noise_dps=0.0, seed=9)
    plain = SessionModel(pattern_config("trendelenburg_right", **common))
    mounted = SessionModel(
        pattern_config(
            "trendelenburg_right",
            mounting_deg=(-12.0, 38.0, 17.0),
            trunk_mounting_deg=(3.0, -10.0, 5.0),
            axes=axes,
            **common,
        )
    )
    for prefix, mounting in (("", mounted.mounting), ("trunk_", mounted.trunk_mounting)):
        acc_body, gyr_body = _columns(plain, prefix)
        acc, gyr = _columns(mounted, prefix)
        np.testing.assert_allclose(to_body_frame(acc, mounting, mounted.axes_matrix), acc_body, atol=1e-9)
        np.testing.assert_allclose(to_body_frame(gyr, mounting, mounted.axes_matrix), gyr_body, atol=1e-9)


def test_axes_mapping_relabels_components():
    m = parse_axes("x=up,y=right,z=forward")
    body = np.array([[1.0, 2.0, 3.0]])  # forward, left, up
    sensor = to_sensor_frame(body, mounting_rotation(0.0, 0.0, 0.0), m)
    np.testing.assert_allclose(sensor, [[3.0, -2.0, 1.0]])


@pytest.mark.parametrize(
    "axes",
    ["x=forward,y=left", "x=forward,y=forward,z=up", "x=forward,y=right,z=up", "x=fwd,y=left,z=up", "forward,left,up"],
)
def test_bad_axes_rejected(axes):
    with pytest.raises(ValueError, match="axes"):
        parse_axes(axes)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sampling_rate_hz", 50.0, "sampling_rate_hz"),
        ("sampling_rate_hz", 250.0, "sampling_rate_hz"),
        ("mounting_deg", (0.0, 45.0, 0.0), "pitch"),
        ("mounting_deg", (25.0, 0.0, 0.0), "roll"),
        ("cadence_spm", 20.0, "cadence_spm"),
        ("first_side", "middle", "first_side"),
        ("trunk_lean_left_deg", None, "trunk_lean"),
        ("standing_s", 100.0, "standing_s"),
    ],
)
def test_config_validation_names_the_argument(field, value, message):
    with pytest.raises(ValueError, match=message):
        SimulationConfig(**{field: value})


def test_config_is_keyword_only():
    with pytest.raises(TypeError):
        SimulationConfig(60.0)  # type: ignore[misc]


def test_gyro_bias_is_constant_and_bounded():
    common = dict(duration_s=10.0, standing_s=8.0, acc_noise_mps2=0.0, gyr_noise_dps=0.0, sway_deg=0.0)
    model = SessionModel(pattern_config("normal", gyr_bias_dps=2.0, **common))
    _, gyr = _columns(model)
    rest = gyr[: int(7 * model.config.sampling_rate_hz)]
    np.testing.assert_allclose(rest, np.broadcast_to(model.gyr_bias_dps[0], rest.shape), atol=1e-9)
    assert np.all(np.abs(model.gyr_bias_dps) <= 2.0) and np.any(model.gyr_bias_dps != 0.0)


def test_noise_level_and_clipping():
    model = SessionModel(
        pattern_config(
            "normal",
            duration_s=20.0,
            standing_s=19.0,
            acc_noise_mps2=0.1,
            gyr_noise_dps=0.5,
            acc_range_mps2=10.0,
            sway_deg=0.0,
        )
    )
    acc, gyr = _columns(model)
    rest = slice(0, int(18 * model.config.sampling_rate_hz))
    assert np.std(acc[rest, 0]) == pytest.approx(0.1, rel=0.1)
    assert np.std(gyr[rest, 2]) == pytest.approx(0.5, rel=0.1)
    assert acc.max() <= 10.0
