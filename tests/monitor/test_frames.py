"""Frame validation: good frames become engine arrays, bad ones get a precise reason."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from gaitstream.monitor.frames import FrameError, concatenate_inputs, engine_input

START_US = 1_700_000_000_000_000


def frame(n: int = 4, trunk: bool = False) -> dict:
    def block(loc):
        return {
            "location": loc,
            **{
                k: [float(i) for i in range(n)]
                for k in ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
            },
        }

    sensors = [block("pelvis")] + ([block("trunk")] if trunk else [])
    return {
        "station_id": "s",
        "session_id": "x",
        "sequence": 0,
        "first_sample_time_us": START_US + 500_000,
        "sampling_rate_hz": 100.0,
        "sensors": sensors,
    }


def test_good_frame_gives_session_time_and_arrays() -> None:
    data = engine_input(frame(trunk=True), session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)
    np.testing.assert_allclose(data.time_s, [0.5, 0.51, 0.52, 0.53])
    assert data.acc_mps2.shape == (4, 3) and data.trunk_gyr_dps.shape == (4, 3)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda f: f["sensors"][0]["acc_y_mps2"].pop(), "pelvis.acc_y_mps2 has 3 samples, expected 4"),
        (lambda f: f.update(sampling_rate_hz=5000.0), "outside"),
        (lambda f: f.update(sampling_rate_hz=50.0), "differs from the session's 100.0"),
        (lambda f: f["sensors"].clear(), "no pelvis sensor block"),
        (lambda f: f["sensors"].append(copy.deepcopy(f["sensors"][0])), "appears twice"),
        (lambda f: f.update(first_sample_time_us=START_US - 1), "before the session start"),
    ],
)
def test_bad_frames_are_refused_with_reason(mutate, reason: str) -> None:
    f = frame()
    mutate(f)
    with pytest.raises(FrameError, match=reason):
        engine_input(f, session_start_us=START_US, sampling_rate_hz=100.0, trunk=False)


def test_declared_trunk_must_be_present() -> None:
    with pytest.raises(FrameError, match="no trunk block"):
        engine_input(frame(), session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)


def test_corrupt_samples_are_passed_to_the_engine_not_refused() -> None:
    """NaN, infinities and absurd values are the engine's corrupt samples (gaps, counted, alerted):
    refusing the frame would lose its good samples too."""
    f = frame()
    f["sensors"][0]["acc_x_mps2"][2] = float("nan")
    f["sensors"][0]["gyr_z_dps"][1] = float("inf")
    f["sensors"][0]["gyr_y_dps"][0] = 1e30
    data = engine_input(f, session_start_us=START_US, sampling_rate_hz=100.0, trunk=False)
    assert np.isnan(data.acc_mps2[2, 0]) and np.isinf(data.gyr_dps[1, 2]) and data.gyr_dps[0, 1] == 1e30


def packed(f: dict) -> dict:
    """The same frame in imu_frame v2's packed form."""
    for block in f["sensors"]:
        rows = np.column_stack(
            [block[k] for k in ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps")]
        )
        block["samples_f32le"] = rows.astype("<f4").tobytes()
        for k in ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps"):
            block[k] = []
    return f


def test_packed_frame_gives_the_same_arrays() -> None:
    plain = engine_input(frame(trunk=True), session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)
    fast = engine_input(packed(frame(trunk=True)), session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)
    for a, b in zip(
        (plain.time_s, plain.acc_mps2, plain.gyr_dps, plain.trunk_acc_mps2, plain.trunk_gyr_dps),
        (fast.time_s, fast.acc_mps2, fast.gyr_dps, fast.trunk_acc_mps2, fast.trunk_gyr_dps),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            lambda f: f["sensors"][0].update(samples_f32le=f["sensors"][0]["samples_f32le"][:-2]),
            "pelvis.samples_f32le has 94 bytes, not a multiple of 24",
        ),
        (lambda f: f["sensors"][0].update(acc_x_mps2=[1.0]), "both samples_f32le and sample arrays"),
        (
            lambda f: f["sensors"][1].update(samples_f32le=f["sensors"][1]["samples_f32le"][:24]),
            "trunk has 1 samples, expected 4",
        ),
    ],
)
def test_bad_packed_frames_are_refused_with_reason(mutate, reason: str) -> None:
    f = packed(frame(trunk=True))
    mutate(f)
    with pytest.raises(FrameError, match=reason):
        engine_input(f, session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)


def test_consecutive_frames_concatenate_in_order() -> None:
    first = engine_input(frame(trunk=True), session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)
    later = frame(n=3, trunk=True)
    later["first_sample_time_us"] += 40_000
    second = engine_input(later, session_start_us=START_US, sampling_rate_hz=100.0, trunk=True)
    both = concatenate_inputs([first, second])
    np.testing.assert_allclose(both.time_s, [0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56])
    assert both.pelvis_rows.shape == (7, 6) and both.trunk_rows.shape == (7, 6)
    np.testing.assert_array_equal(both.trunk_rows[4:], second.trunk_rows)
    assert concatenate_inputs([first]) is first
