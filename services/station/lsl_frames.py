"""Samples of a sensor stream (device timestamps, in bursts, some lost) -> frames on the station's
clock (pure: no LSL, no clock read here).

1. Device timestamps are mapped to host epoch seconds by ``offset_s`` (LSL's time correction plus
   the host's LSL-clock-to-epoch offset), so frame times come from the device, not from arrival.
2. A timestamp further than ``GAP_PERIODS`` sample periods after the previous one is a gap: the
   current frame ends there, the samples lost are counted (``dropped``), the next frame starts at
   the next sample's own time.
3. Units become the contract's (m/s², deg/s) and the channels its columns.
4. A timestamp that goes backwards (a sensor restarted with a new clock) ends the frame and is
   reported as a restart; samples before the last one kept are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitstream.services.station.frames import PELVIS_COLUMNS

GAP_PERIODS = 1.5
STANDARD_GRAVITY_MPS2 = 9.80665
UNIT_SCALE = {"mps2": 1.0, "g": STANDARD_GRAVITY_MPS2, "dps": 1.0, "rads": 180.0 / np.pi}


@dataclass
class ChannelMap:
    """Which stream channel holds which contract column, and the stream's units."""

    channels: tuple[int, ...] = (0, 1, 2, 3, 4, 5)  # acc x, y, z, gyr x, y, z
    acc_unit: str = "mps2"
    gyr_unit: str = "dps"

    def __post_init__(self) -> None:
        if len(self.channels) != 6:
            raise ValueError("channels must name 6 stream channels: acc x, y, z, gyr x, y, z")
        if self.acc_unit not in ("mps2", "g") or self.gyr_unit not in ("dps", "rads"):
            raise ValueError("acc_unit must be mps2 or g, gyr_unit dps or rads")

    def columns(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for i, name in enumerate(PELVIS_COLUMNS):
            scale = UNIT_SCALE[self.acc_unit if i < 3 else self.gyr_unit]
            out[name] = samples[:, self.channels[i]].astype(float) * scale
        return out


@dataclass
class FrameAssembler:
    """Collects samples into frames of ``frame_samples``; ``take()`` returns the finished ones as
    ``(first sample epoch s, columns with time_s)``."""

    sampling_rate_hz: float
    frame_samples: int
    mapping: ChannelMap = field(default_factory=ChannelMap)
    dropped: int = 0
    gaps: int = 0
    restarts: int = 0
    _times: list[float] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)
    _done: list[tuple[float, dict[str, np.ndarray]]] = field(default_factory=list)
    _last_s: float | None = None

    def push(self, samples: np.ndarray, device_times_s: np.ndarray, offset_s: float) -> None:
        """One chunk as the inlet gave it (any size, possibly empty)."""
        period_s = 1.0 / self.sampling_rate_hz
        for row, device_s in zip(
            np.asarray(samples, dtype=float), np.asarray(device_times_s, dtype=float), strict=True
        ):
            t_s = float(device_s) + offset_s
            if self._last_s is not None:
                step_s = t_s - self._last_s
                if step_s <= 0:
                    self.restarts += 1
                    self._close()
                    self._last_s = None
                elif step_s > GAP_PERIODS * period_s:
                    self.gaps += 1
                    self.dropped += max(0, round(step_s / period_s) - 1)
                    self._close()
            self._times.append(t_s)
            self._rows.append(row)
            self._last_s = t_s
            if len(self._times) >= self.frame_samples:  # the size may change between frames
                self._close()

    def _close(self) -> None:
        if not self._times:
            return
        columns = self.mapping.columns(np.vstack(self._rows))
        times = np.asarray(self._times)
        self._done.append((float(times[0]), {"time_s": times, **columns}))
        self._times, self._rows = [], []

    def flush(self) -> None:
        """End the frame being filled (the stream stopped)."""
        self._close()

    def take(self) -> list[tuple[float, dict[str, np.ndarray]]]:
        done, self._done = self._done, []
        return done
