"""Where a station's samples come from: the simulator (with truth) or a recording CSV."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from gaitstream.services.station.frames import PELVIS_COLUMNS

# The simulator renders this much at a time; frames are slices of it (rendering per 10-sample
# frame costs more than the frame is worth when one process runs hundreds of stations).
RENDER_CHUNK_S = 1.0
# Replay splits frames at time gaps longer than this many sample periods (lost packets).
REPLAY_GAP_PERIODS = 1.5


class FrameSource(Protocol):
    sampling_rate_hz: float
    trunk_present: bool

    def frames(self, frame_samples: int) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        """Yield (time of the first sample in s from the session start, block of columns)."""


class SimulatedSource:
    """A simulated patient (gaitstream.simulate) with ground truth of every step."""

    def __init__(self, config) -> None:
        from gaitstream.simulate import iter_session_blocks

        self.config = config
        self.sampling_rate_hz = float(config.sampling_rate_hz)
        self.trunk_present = bool(config.has_trunk)
        render_samples = max(1, round(RENDER_CHUNK_S * self.sampling_rate_hz))
        self._blocks = iter_session_blocks(config, render_samples, keep_truth=True)

    def frames(self, frame_samples: int) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        """Frames of exactly ``frame_samples`` (the last may be shorter), whatever the render chunks."""
        pending: dict[str, np.ndarray] | None = None
        emitted = 0
        for chunk in self._blocks:
            pending = chunk if pending is None else {k: np.concatenate([pending[k], v]) for k, v in chunk.items()}
            n_full = len(pending["time_s"]) // frame_samples * frame_samples
            for start in range(0, n_full, frame_samples):
                yield (
                    (emitted + start) / self.sampling_rate_hz,
                    {k: v[start : start + frame_samples] for k, v in pending.items()},
                )
            emitted += n_full
            pending = {k: v[n_full:] for k, v in pending.items()}
        if pending is not None and len(pending["time_s"]):
            yield emitted / self.sampling_rate_hz, pending

    def truth(self) -> dict:
        """Truth of the samples emitted so far (steps, ICs, summary with classification)."""
        return self._blocks.truth()


class ReplaySource:
    """A recording CSV (GAIT_SPEC contract) replayed as recorded: sensor axes and units as in the file."""

    def __init__(self, path: str | Path, *, acc_unit: str = "mps2", gyr_unit: str = "dps") -> None:
        from gaitstream.gait.recording import load_recording_csv

        # Default axes = identity, so columns stay in the sensor's axes; the session event
        # tells the pipeline the real axes.
        rec = load_recording_csv(path, acc_unit=acc_unit, gyr_unit=gyr_unit)
        self.path = Path(path)
        self.sampling_rate_hz = float(rec.sampling_rate_hz)
        self.trunk_present = rec.trunk_acc_mps2 is not None
        time_s = np.asarray(rec.time_s, dtype=float)
        self._time_s = time_s - time_s[0]
        cols = {"time_s": self._time_s}
        for i, name in enumerate(PELVIS_COLUMNS):
            cols[name] = (rec.acc_mps2 if i < 3 else rec.gyr_dps)[:, i % 3]
            if self.trunk_present:
                cols["trunk_" + name] = (rec.trunk_acc_mps2 if i < 3 else rec.trunk_gyr_dps)[:, i % 3]
        self._columns = cols

    def frames(self, frame_samples: int) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        period_s = 1.0 / self.sampling_rate_hz
        gaps = np.flatnonzero(np.diff(self._time_s) > REPLAY_GAP_PERIODS * period_s) + 1
        bounds = [0, *gaps.tolist(), len(self._time_s)]
        for seg_start, seg_stop in zip(bounds[:-1], bounds[1:], strict=True):
            for start in range(seg_start, seg_stop, frame_samples):
                stop = min(start + frame_samples, seg_stop)
                yield float(self._time_s[start]), {k: v[start:stop] for k, v in self._columns.items()}


class PrerenderedSource:
    """A simulated session rendered once up front, then only sliced: for load tests, where the
    station process must not spend the CPU the pipeline is being measured on."""

    def __init__(self, columns: dict[str, np.ndarray], sampling_rate_hz: float, trunk_present: bool) -> None:
        self.columns = columns
        self.sampling_rate_hz = sampling_rate_hz
        self.trunk_present = trunk_present

    @classmethod
    def from_config(cls, config) -> PrerenderedSource:
        from gaitstream.simulate import simulate_session

        session = simulate_session(config)
        return cls(session.recording_columns, float(config.sampling_rate_hz), bool(config.has_trunk))

    def frames(self, frame_samples: int) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        n = len(self.columns["time_s"])
        for start in range(0, n, frame_samples):
            stop = min(start + frame_samples, n)
            yield start / self.sampling_rate_hz, {k: v[start:stop] for k, v in self.columns.items()}
