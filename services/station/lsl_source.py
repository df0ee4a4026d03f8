"""A real sensor over Lab Streaming Layer as a station's frame source.

The pelvis stream is resolved by name, type or source id; its chunks (bursts, lost samples) go
through ``FrameAssembler``. Times: LSL stamps each sample on the sending device's clock; the inlet's
``time_correction()`` maps it to this host's LSL clock, and ``time.time() - local_clock()`` maps that
to the host's (NTP-synchronised) epoch clock; both are measured again every
``CLOCK_REFRESH_S``, and the device-to-host drift is reported. A sensor that goes silent is said so,
and said again when it is back (the inlet reconnects by itself).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from gaitstream.logging import kv
from gaitstream.services.station.lsl_frames import ChannelMap, FrameAssembler

log = logging.getLogger(__name__)

CLOCK_REFRESH_S = 5.0
SILENT_AFTER_S = 2.0
PULL_TIMEOUT_S = 0.2


@dataclass(frozen=True)
class LslStreamQuery:
    """How to find the stream: one of name, type or source id (LSL's stream properties)."""

    prop: str = "name"
    value: str = "gaitstream-pelvis"
    resolve_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.prop not in ("name", "type", "source_id"):
            raise ValueError("prop must be name, type or source_id")


class LslSource:
    """Frames from one live LSL stream (``FrameSource``: times in s from ``session_start_s``)."""

    trunk_present = False

    def __init__(
        self,
        query: LslStreamQuery,
        *,
        mapping: ChannelMap | None = None,
        session_start_s: float | None = None,
        duration_s: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        import pylsl

        self._pylsl = pylsl
        found = pylsl.resolve_byprop(query.prop, query.value, timeout=query.resolve_timeout_s)
        if not found:
            raise LookupError(f"no LSL stream with {query.prop}={query.value!r} within {query.resolve_timeout_s:.0f} s")
        info = found[0]
        if info.channel_count() < 6:
            raise ValueError(f"LSL stream {info.name()!r} has {info.channel_count()} channels; 6 are needed")
        self.sampling_rate_hz = float(info.nominal_srate())
        if self.sampling_rate_hz <= 0:
            raise ValueError(f"LSL stream {info.name()!r} has no nominal rate; the contract needs one")
        self.stream_name, self.source_id = info.name(), info.source_id()
        self.mapping = mapping or ChannelMap()
        self._inlet = pylsl.StreamInlet(info, max_buflen=60, recover=True)
        self._inlet.open_stream(timeout=query.resolve_timeout_s)
        self.session_start_s = time.time() if session_start_s is None else session_start_s
        self.duration_s, self.should_stop = duration_s, should_stop
        self._first_correction_s: float | None = None
        self.drift_ppm: float | None = None
        log.info(
            kv("sensor_connected", stream=self.stream_name, source_id=self.source_id, rate_hz=self.sampling_rate_hz)
        )

    def _offset_s(self, started: float) -> float:
        """Device clock -> host epoch (s); the drift of the device against the host, in ppm."""
        correction_s = self._inlet.time_correction(timeout=2.0)
        host_s = time.time() - self._pylsl.local_clock()
        elapsed_s = time.monotonic() - started
        if self._first_correction_s is None:
            self._first_correction_s = correction_s
        elif elapsed_s > 1.0:
            self.drift_ppm = (correction_s - self._first_correction_s) / elapsed_s * 1e6
        return correction_s + host_s

    def frames(self, frame_samples: int) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        assembler = FrameAssembler(self.sampling_rate_hz, frame_samples, self.mapping)
        started = time.monotonic()
        offset_s, refreshed = self._offset_s(started), time.monotonic()
        last_data, silent = time.monotonic(), False
        while not self.should_stop():
            if self.duration_s is not None and time.monotonic() - started >= self.duration_s:
                break
            samples, stamps = self._inlet.pull_chunk(timeout=PULL_TIMEOUT_S, max_samples=1024)
            now = time.monotonic()
            if stamps:
                if silent:
                    log.info(kv("sensor_back", stream=self.stream_name, silent_s=round(now - last_data, 1)))
                    silent = False
                last_data = now
                assembler.push(np.asarray(samples), np.asarray(stamps), offset_s)
            elif not silent and now - last_data > SILENT_AFTER_S:
                silent = True
                assembler.flush()
                log.warning(kv("sensor_silent", stream=self.stream_name, after_s=SILENT_AFTER_S))
            if now - refreshed > CLOCK_REFRESH_S:
                offset_s, refreshed = self._offset_s(started), now
            for first_epoch_s, block in assembler.take():
                block = {**block, "time_s": block["time_s"] - self.session_start_s}
                yield first_epoch_s - self.session_start_s, block
        assembler.flush()
        for first_epoch_s, block in assembler.take():
            yield first_epoch_s - self.session_start_s, {**block, "time_s": block["time_s"] - self.session_start_s}
        self.dropped, self.gaps, self.restarts = assembler.dropped, assembler.gaps, assembler.restarts
        log.info(
            kv(
                "sensor_done",
                stream=self.stream_name,
                dropped=assembler.dropped,
                gaps=assembler.gaps,
                restarts=assembler.restarts,
                drift_ppm=None if self.drift_ppm is None else round(self.drift_ppm, 1),
            )
        )

    def close(self) -> None:
        self._inlet.close_stream()
