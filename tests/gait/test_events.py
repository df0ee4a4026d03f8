import numpy as np
import pytest

from gaitstream.gait.events import IcdVerticalPeak, StreamingIcDetector, gaussian_derivative_kernel


def _heel_strikes(fs, ic_times_s, duration_s):
    """Vertical acceleration with a smooth dip before and a sharp rise at each IC."""
    t = np.arange(int(duration_s * fs)) / fs
    acc = np.zeros_like(t)
    for ic in ic_times_s:
        acc += 3.0 * np.tanh((t - ic) / 0.02) * np.exp(-(((t - ic) / 0.12) ** 2))
    return acc


def test_kernel_is_a_derivative():
    fs = 100.0
    kernel = gaussian_derivative_kernel(0.03, fs)
    ramp = np.arange(200) / fs * 5.0  # 5 m/s² per s
    assert np.allclose(np.convolve(ramp, kernel, mode="valid"), 5.0, atol=1e-6)


@pytest.mark.parametrize("fs", [60.0, 100.0, 200.0])
def test_detects_regular_heel_strikes(fs):
    ics = np.arange(1.0, 9.0, 0.55)
    found = IcdVerticalPeak().detect(_heel_strikes(fs, ics, 10.0), sampling_rate_hz=fs).ic_list_ / fs
    assert len(found) == len(ics)
    assert np.abs(found - ics).max() <= 1.5 / fs + 0.005


def test_all_zero_gives_empty_int_array():
    out = IcdVerticalPeak().detect(np.zeros(1000), sampling_rate_hz=100.0).ic_list_
    assert out.dtype.kind == "i" and len(out) == 0


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_streaming_equals_offline(chunk):
    fs = 100.0
    acc = _heel_strikes(fs, np.arange(1.0, 19.0, 0.6), 20.0) + np.random.default_rng(0).normal(0, 0.1, 2000)
    offline = IcdVerticalPeak().detect(acc, sampling_rate_hz=fs).ic_list_.tolist()
    det = StreamingIcDetector(sampling_rate_hz=fs)
    live = []
    for lo in range(0, len(acc), chunk):
        live += det.process(acc[lo : lo + chunk])
    assert live == offline and len(offline) == 30


def test_state_round_trip():
    fs = 100.0
    acc = _heel_strikes(fs, np.arange(1.0, 19.0, 0.6), 20.0)
    a = StreamingIcDetector(sampling_rate_hz=fs)
    first = a.process(acc[:1003])
    b = StreamingIcDetector(sampling_rate_hz=fs)
    b.load_state(a.state())
    assert first + b.process(acc[1003:]) == IcdVerticalPeak().detect(acc, sampling_rate_hz=fs).ic_list_.tolist()


def test_decision_latency_is_bounded():
    fs = 100.0
    det = StreamingIcDetector(sampling_rate_hz=fs)
    acc = _heel_strikes(fs, [2.0, 2.6, 3.2], 5.0)
    for n in range(len(acc)):
        for ic in det.process(acc[n : n + 1]):
            assert n - ic <= det.look_ahead_samples


def _scaled_heel_strikes(fs, ics_and_scales, duration_s):
    t = np.arange(int(duration_s * fs)) / fs
    acc = np.zeros_like(t)
    for ic, scale in ics_and_scales:
        acc += scale * np.tanh((t - ic) / 0.02) * np.exp(-(((t - ic) / 0.12) ** 2))
    return acc


def test_weak_step_accepted_when_due():
    """A weak heel strike one step time after the last IC is a step."""
    fs = 100.0
    ics = np.arange(1.0, 9.0, 0.55)
    scales = [3.0] * len(ics)
    scales[-3] = 0.8  # a cautious step: peak 0.27 of the others, under the normal 0.3
    found = (
        IcdVerticalPeak()
        .detect(_scaled_heel_strikes(fs, zip(ics, scales, strict=True), 10.0), sampling_rate_hz=fs)
        .ic_list_
        / fs
    )
    assert len(found) == len(ics)
    assert abs(found[-3] - ics[-3]) <= 0.02


def test_weak_peak_not_due_is_ignored():
    """The same weak bump midway between two steps (not due) is no IC."""
    fs = 100.0
    ics = np.arange(1.0, 9.0, 0.55)
    bumps = [(x, 3.0) for x in ics] + [(ics[-4] + 0.3, 0.8)]
    found = IcdVerticalPeak().detect(_scaled_heel_strikes(fs, bumps, 10.0), sampling_rate_hz=fs).ic_list_
    assert len(found) == len(ics)
