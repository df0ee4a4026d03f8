"""A real LSL outlet on loopback sending in bursts with lost samples, read by the station's source."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np

from gaitstream.services.station.lsl_source import LslSource, LslStreamQuery

RATE_HZ = 100.0
SAMPLES = 400
LOST = {57, 58, 59, 200}


def _outlet(name: str, ready: threading.Event, sent: list[int]) -> None:
    import pylsl

    info = pylsl.StreamInfo(name, "IMU", 6, RATE_HZ, "float32", f"src-{name}")
    outlet = pylsl.StreamOutlet(info)
    ready.set()
    while not outlet.have_consumers():
        time.sleep(0.01)
    start = pylsl.local_clock()
    i = 0
    while i < SAMPLES:
        burst = [k for k in range(i, min(i + 3, SAMPLES))]  # Bluetooth: 2-3 samples every ~30 ms
        for k in burst:
            if k not in LOST:
                outlet.push_sample([float(k), 0.0, 9.81, 0.0, 0.0, 0.0], start + k / RATE_HZ)
                sent.append(k)
        i += len(burst)
        time.sleep(0.03)


def test_bursts_and_lost_samples_arrive_as_frames_on_the_device_clock() -> None:
    name = f"gs-pelvis-{uuid.uuid4().hex[:6]}"
    ready, sent = threading.Event(), []
    thread = threading.Thread(target=_outlet, args=(name, ready, sent), daemon=True)
    thread.start()
    ready.wait(5)
    session_start_s = time.time()
    source = LslSource(LslStreamQuery("name", name), session_start_s=session_start_s, duration_s=6.0)
    frames = list(source.frames(10))
    thread.join(10)
    values = np.concatenate([b["acc_x"] for _, b in frames]).astype(int).tolist()
    assert values == sent == [k for k in range(SAMPLES) if k not in LOST]
    assert (source.dropped, source.gaps) == (4, 2)
    # Times from the device's stamps: exactly one period apart inside a frame, on the host's clock.
    for first_s, block in frames:
        assert np.allclose(np.diff(block["time_s"]), 1 / RATE_HZ, atol=1e-6)
        assert abs(first_s) < 10.0
    starts = [round((f[0] - frames[0][0]) * RATE_HZ) for f in frames]
    assert starts[:6] == [0, 10, 20, 30, 40, 50] and 60 in starts  # the frame after the gap starts at 60
