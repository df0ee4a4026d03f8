"""Station sources: replayed recordings keep their gaps; simulated ones carry their truth."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gaitstream.schemas.codec import decode, encode
from gaitstream.services.station.frames import frame_record
from gaitstream.services.station.runner import new_session
from gaitstream.services.station.sources import PrerenderedSource, ReplaySource, SimulatedSource

SHARED = Path(os.environ.get("GAITSTREAM_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))


def test_replay_frames_never_span_a_lost_packet_gap_and_cover_every_sample() -> None:
    path = SHARED / "ipol-L5" / "1-1.csv"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    source = ReplaySource(path)
    times = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0)
    frames = list(source.frames(10))
    assert sum(len(b["time_s"]) for _, b in frames) == len(times)
    period_s = 1 / source.sampling_rate_hz
    for first_s, block in frames:
        assert block["time_s"][0] == pytest.approx(first_s)
        assert np.all(np.diff(block["time_s"]) < 1.5 * period_s)
    assert len(frames) > len(times) / 10, "the recording's gaps should start extra frames"


def test_simulated_source_frames_equal_the_prerendered_session() -> None:
    from gaitstream.simulate import pattern_config

    config = pattern_config("trendelenburg_left", duration_s=12.0, seed=3)
    live = list(SimulatedSource(config).frames(7))
    pre = list(PrerenderedSource.from_config(config).frames(7))
    assert len(live) == len(pre)
    for (t1, b1), (t2, b2) in zip(live, pre, strict=True):
        assert t1 == pytest.approx(t2)
        np.testing.assert_allclose(b1["acc_z"], b2["acc_z"], atol=1e-9)


@pytest.mark.parametrize("packed", [True, False], ids=["packed-v2", "arrays-v1-form"])
def test_frame_record_round_trips_through_the_wire_as_float32(packed: bool) -> None:
    from gaitstream.monitor.frames import engine_input
    from gaitstream.simulate import pattern_config

    source = PrerenderedSource.from_config(pattern_config("normal", duration_s=6.0))
    session = new_session(clinic_id="c", station_id="s-1", patient_id="p-1", source=source, start_time_us=10**15)
    first_s, block = next(iter(source.frames(10)))
    record = frame_record(session, sequence=0, first_sample_s=first_s, block=block, packed=packed)
    kind, frame = decode(encode("imu_frame", record))
    assert kind == "imu_frame" and frame["first_sample_time_us"] == 10**15
    assert [s["location"] for s in frame["sensors"]] == ["pelvis", "trunk"]
    assert (frame["sensors"][0]["samples_f32le"] is not None) == packed
    data = engine_input(frame, session_start_us=10**15, sampling_rate_hz=session.sampling_rate_hz, trunk=True)
    np.testing.assert_allclose(data.acc_mps2[:, 2], block["acc_z"], rtol=1e-6)
    np.testing.assert_allclose(data.gyr_dps[:, 0], block["gyr_x"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(data.trunk_gyr_dps[:, 1], block["trunk_gyr_y"], rtol=1e-6, atol=1e-6)
