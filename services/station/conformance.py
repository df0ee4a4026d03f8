"""Does a station speak the wire contract? Rules over a station's decoded messages, each reported
as met or not with what was seen (pure: messages in, results out). For vendors who implement the
contract themselves (``schemas/README.md``): the mistakes that decode fine and measure nonsense.

Rules: schema (every message decodes, kinds and versions), session (a start with a plausible rate
before the frames; frames at the session's rate), clock unit (µs since the epoch, not ms or s),
rate (the frames' clock advances as the declared rate says, within 2 %), monotonic clock and
contiguous sequence, frame sizes, acceleration unit (|a| about 9.81 m/s² at rest, not 1 g),
angular-rate unit (deg/s: walking turns the pelvis by tens of deg/s, rad/s reads
as under 6), axes (gravity on +z with the session's ``x=forward,y=left,z=up``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRAVITY_MPS2 = 9.81
# A first_sample_time_us between these is µs since the epoch (2001-09 .. 2286): ms since the
# epoch are about 1e12, seconds about 1e9.
EPOCH_US_RANGE = (1e15, 1e16)
# Walking: the pelvis turns at tens of deg/s (p99 of |gyr| well above 20); in rad/s the same
# motion reads under 6.
WALKING_GYR_P99_MIN_DPS = 20.0
# The rate the frames' clock shows may differ from the declared one by this much (crystal
# tolerances are tens of ppm; a wrong declared rate is off by far more).
RATE_TOLERANCE = 0.02


@dataclass(frozen=True)
class RuleResult:
    rule: str
    ok: bool
    detail: str


def _matrix(frame: dict) -> np.ndarray:
    from gaitstream.monitor.frames import sensor_matrix

    return sensor_matrix(frame["sensors"][0])


def check_messages(messages: list[tuple[str, int, dict | None, str | None]]) -> list[RuleResult]:
    """``messages``: (kind, version, record, decode error) in the order the station sent them.

    1. Schema: every message decodes. 2. Session: a start before the frames, at one plausible
    rate (without a start and frames the other rules cannot be judged). 3. Clock: µs since the
    epoch, advancing with the declared rate, never backwards. 4. Sequence and frame sizes.
    5. Units and axes of the samples.
    """
    results = [_schema_rule(messages)]
    decoded = [(k, r) for k, _v, r, e in messages if not e]
    starts = [r for k, r in decoded if k == "session_event" and r["event"] == "start"]
    frames = [r for k, r in decoded if k == "imu_frame"]
    if not starts or not frames:
        results.append(RuleResult("session", False, f"{len(starts)} session starts and {len(frames)} frames"))
        return results
    rate_hz = float(starts[0]["sampling_rate_hz"])
    sizes = [len(_matrix(f)) for f in frames]
    results.append(_session_rule(decoded, frames, rate_hz))
    results += _clock_rules(frames, sizes, rate_hz)
    results += _sequence_rules(frames, sizes)
    results += _sample_rules(np.vstack([_matrix(f) for f in frames]))
    return results


def _schema_rule(messages: list[tuple[str, int, dict | None, str | None]]) -> RuleResult:
    """1. Every message decodes; which kinds and versions were seen."""
    errors = [e for *_, e in messages if e]
    versions = sorted({f"{k} v{v}" for k, v, r, e in messages if not e})
    return RuleResult(
        "schema",
        not errors,
        f"{len(messages)} messages, versions {', '.join(versions) or 'none'}"
        + (f"; {len(errors)} do not decode, first: {errors[0]}" if errors else ""),
    )


def _session_rule(decoded: list[tuple[str, dict]], frames: list[dict], rate_hz: float) -> RuleResult:
    """2. The start comes before the first frame; its rate is plausible and every frame's."""
    first_frame_at = next(i for i, (k, _) in enumerate(decoded) if k == "imu_frame")
    start_at = next(i for i, (k, r) in enumerate(decoded) if k == "session_event" and r["event"] == "start")
    other_rates = sorted({float(f["sampling_rate_hz"]) for f in frames} - {rate_hz})
    return RuleResult(
        "session",
        start_at < first_frame_at and 20 <= rate_hz <= 1000 and not other_rates,
        f"start before the frames: {start_at < first_frame_at}; rate {rate_hz:g} Hz"
        + (f"; frames at {other_rates} Hz" if other_rates else ""),
    )


def _clock_rules(frames: list[dict], sizes: list[int], rate_hz: float) -> list[RuleResult]:
    """3. Clock unit, monotonic clock (and time gaps), and the rate the frames' clock shows."""
    times = np.array([f["first_sample_time_us"] for f in frames], dtype=float)
    median_us = float(np.median(times))
    unit = "µs" if EPOCH_US_RANGE[0] <= median_us < EPOCH_US_RANGE[1] else "ms" if 1e12 <= median_us < 1e13 else "s?"
    results = [
        RuleResult(
            "clock unit", unit == "µs", f"first_sample_time_us about {median_us:.3g}: looks like {unit} since the epoch"
        )
    ]
    expected_step_us = np.array(sizes[:-1]) * 1e6 / rate_hz
    steps_us = np.diff(times)
    backwards = int((steps_us <= 0).sum())
    results.append(
        RuleResult(
            "monotonic clock",
            backwards == 0,
            f"{backwards} frames start at or before the previous one; "
            f"{int((np.abs(steps_us - expected_step_us) > 1.5e6 / rate_hz).sum())} time gaps",
        )
    )
    # The declared rate against the frames' own clock: samples per µs between consecutive frames.
    spacing = steps_us > 0
    if unit != "µs" or not spacing.any():
        results.append(RuleResult("rate", True, "not judged: the clock unit is not µs"))
    else:
        measured_hz = float(np.median(np.array(sizes[:-1])[spacing] * 1e6 / steps_us[spacing]))
        results.append(
            RuleResult(
                "rate",
                abs(measured_hz - rate_hz) <= RATE_TOLERANCE * rate_hz,
                f"declared {rate_hz:g} Hz, the frames' clock says {measured_hz:.1f} Hz",
            )
        )
    return results


def _sequence_rules(frames: list[dict], sizes: list[int]) -> list[RuleResult]:
    """4. Sequence numbers from 0 without jumps; frame sizes within 1-1000 samples."""
    sequences = [int(f["sequence"]) for f in frames]
    gaps = [(a, b) for a, b in zip(sequences, sequences[1:], strict=False) if b != a + 1]
    return [
        RuleResult(
            "sequence",
            not gaps and sequences[0] == 0,
            f"{len(sequences)} frames from {sequences[0]}" + (f"; jumps {gaps[:3]}" if gaps else ", contiguous"),
        ),
        RuleResult(
            "frame sizes", min(sizes) >= 1 and max(sizes) <= 1000, f"{min(sizes)}-{max(sizes)} samples per frame"
        ),
    ]


def _sample_rules(data: np.ndarray) -> list[RuleResult]:
    """5. Acceleration unit (m/s², not g), angular-rate unit (deg/s, not rad/s), gravity on +z."""
    acc, gyr = data[:, :3], data[:, 3:]
    magnitude = np.linalg.norm(acc, axis=1)
    median_g = float(np.median(magnitude))
    p99_dps = float(np.percentile(np.linalg.norm(gyr, axis=1), 99))
    # Walking shakes |a| by more than 5 % of its median, whatever its unit.
    walking = float(np.std(magnitude)) > 0.05 * max(median_g, 1e-9)
    rad_like = walking and p99_dps < WALKING_GYR_P99_MIN_DPS
    mean_acc = acc.mean(axis=0)
    axis = int(np.argmax(np.abs(mean_acc)))
    sign = "+" if mean_acc[axis] > 0 else "-"
    upright = axis == 2 and sign == "+"
    return [
        RuleResult(
            "acceleration unit",
            7.0 <= median_g <= 13.0,
            f"median |a| {median_g:.2f}" + (": g sent as m/s²" if 0.7 <= median_g <= 1.3 else " m/s²"),
        ),
        RuleResult(
            "angular-rate unit",
            not rad_like,
            f"p99 |ω| {p99_dps:.1f} while walking" + (": rad/s sent as deg/s" if rad_like else " deg/s"),
        ),
        RuleResult(
            "axes",
            upright,
            f"gravity on {sign}{'xyz'[axis]} (mean a = {np.round(mean_acc, 2).tolist()}); the contract's z is up"
            + ("" if upright else ": axes swapped or the sensor mounted otherwise than declared"),
        ),
    ]
