"""A real sensor over Lab Streaming Layer as a station's frame source.

The pelvis stream is resolved by name, type or source id; its chunks (bursts, lost samples) go
through ``FrameAssembler``. Times: LSL stamps each sample on the sending device's clock; the inlet's
``time_correction()`` maps it to this host's LSL clock, and ``time.time() - local_clock()`` maps that
to the host's (NTP-synchronised) epoch clock; both are measured again every
``CLOCK_REFRESH_S``, and the device-to-host drift is reported. A sensor that goes silent is said so,
and said again when it is back (the inlet reconnects by itself).

An optional trunk stream is a second device on a clock of its own: its samples are joined onto the
pelvis frames by ``TrunkJoiner`` (its lag against the pelvis measured as the data comes), and what
was measured of both clocks and of the link goes into the session's stop event
(``session_metadata``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from gaitstream.logging import kv
from gaitstream.services.station.lsl_frames import ChannelMap, FrameAssembler
from gaitstream.services.station.trunk_join import TrunkJoiner

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


class _Stream:
    """One resolved LSL stream: its inlet and the device-to-host clock offset."""

    def __init__(self, pylsl, query: LslStreamQuery, mapping: ChannelMap, role: str) -> None:
        found = pylsl.resolve_byprop(query.prop, query.value, timeout=query.resolve_timeout_s)
        if not found:
            raise LookupError(
                f"no LSL {role} stream with {query.prop}={query.value!r} within {query.resolve_timeout_s:.0f} s"
            )
        info = found[0]
        needed = max(mapping.channels) + 1
        if info.channel_count() < needed:
            raise ValueError(f"LSL stream {info.name()!r} has {info.channel_count()} channels; {needed} are needed")
        self.sampling_rate_hz = float(info.nominal_srate())
        if self.sampling_rate_hz <= 0:
            raise ValueError(f"LSL stream {info.name()!r} has no nominal rate; the contract needs one")
        self.pylsl, self.role, self.mapping = pylsl, role, mapping
        self.name, self.source_id = info.name(), info.source_id()
        self.inlet = pylsl.StreamInlet(info, max_buflen=60, recover=True)
        self.inlet.open_stream(timeout=query.resolve_timeout_s)
        self.first_correction_s: float | None = None
        self.drift_ppm: float | None = None
        self.offset_s = 0.0
        self.last_data = time.monotonic()
        self.silent = False
        log.info(
            kv("sensor_connected", role=role, stream=self.name, source_id=self.source_id, rate_hz=self.sampling_rate_hz)
        )

    def refresh_offset(self, started: float) -> float:
        """Device clock -> host epoch (s); the drift of the device against the host, in ppm."""
        correction_s = self.inlet.time_correction(timeout=2.0)
        host_s = time.time() - self.pylsl.local_clock()
        elapsed_s = time.monotonic() - started
        if self.first_correction_s is None:
            self.first_correction_s = correction_s
        elif elapsed_s > 1.0:
            self.drift_ppm = (correction_s - self.first_correction_s) / elapsed_s * 1e6
        self.offset_s = correction_s + host_s
        return self.offset_s

    def pull(self, timeout_s: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The next chunk (samples, device stamps), or None; says when the sensor goes silent or comes back."""
        samples, stamps = self.inlet.pull_chunk(timeout=timeout_s, max_samples=1024)
        now = time.monotonic()
        if stamps:
            if self.silent:
                log.info(kv("sensor_back", role=self.role, stream=self.name, silent_s=round(now - self.last_data, 1)))
                self.silent = False
            self.last_data = now
            return np.asarray(samples), np.asarray(stamps)
        if not self.silent and now - self.last_data > SILENT_AFTER_S:
            self.silent = True
            log.warning(kv("sensor_silent", role=self.role, stream=self.name, after_s=SILENT_AFTER_S))
        return None

    def close(self) -> None:
        self.inlet.close_stream()


class LslSource:
    """Frames from a live pelvis LSL stream, and optionally a trunk stream (``FrameSource``: times
    in s from ``session_start_s``)."""

    def __init__(
        self,
        query: LslStreamQuery,
        *,
        mapping: ChannelMap | None = None,
        trunk_query: LslStreamQuery | None = None,
        trunk_mapping: ChannelMap | None = None,
        session_start_s: float | None = None,
        duration_s: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        trunk_required: bool = True,
    ) -> None:
        import pylsl

        self._pelvis = _Stream(pylsl, query, mapping or ChannelMap(), "pelvis")
        self._trunk = None
        if trunk_query is not None:
            try:
                self._trunk = _Stream(pylsl, trunk_query, trunk_mapping or ChannelMap(), "trunk")
            except LookupError as exc:
                if trunk_required:
                    raise
                log.warning(kv("sensor_absent", role="trunk", reason=str(exc), then="pelvis only"))
        self.sampling_rate_hz = self._pelvis.sampling_rate_hz
        self.trunk_present = self._trunk is not None
        self.stream_name, self.source_id = self._pelvis.name, self._pelvis.source_id
        self.mapping = self._pelvis.mapping
        self.session_start_s = time.time() if session_start_s is None else session_start_s
        self.duration_s, self.should_stop = duration_s, should_stop
        self.dropped = self.gaps = self.restarts = 0
        self._joiner: TrunkJoiner | None = None
        self._assembler: FrameAssembler | None = None

    @property
    def drift_ppm(self) -> float | None:
        return self._pelvis.drift_ppm

    @property
    def pelvis_silent(self) -> bool:
        return self._pelvis.silent

    @property
    def trunk_delivering(self) -> bool:
        return self._trunk is not None and not self._trunk.silent

    def counters(self) -> dict:
        """The link's counts so far (a long-running station takes differences per session)."""
        assembler, joiner = self._assembler, self._joiner
        return {
            "dropped_samples": assembler.dropped if assembler else self.dropped,
            "sample_gaps": assembler.gaps if assembler else self.gaps,
            "sensor_restarts": assembler.restarts if assembler else self.restarts,
            "trunk_missing_samples": joiner.trunk_missing if joiner else 0,
        }

    def resize_frames(self, frame_samples: int) -> None:
        """Frames of ``frame_samples`` from now on (a session with a screen starts or ends): the frame
        being filled ends at the new size, or with its next sample if it already holds more."""
        if self._assembler is not None:
            self._assembler.frame_samples = frame_samples

    def frames(self, frame_samples: int) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        assembler = self._assembler = FrameAssembler(self.sampling_rate_hz, frame_samples, self.mapping)
        joiner = self._joiner = TrunkJoiner(self.sampling_rate_hz) if self._trunk is not None else None
        streams = [self._pelvis] + ([self._trunk] if self._trunk is not None else [])
        started = time.monotonic()
        for stream in streams:
            stream.refresh_offset(started)
        refreshed = time.monotonic()

        def ready(finished: list) -> list:
            if joiner is None:
                return finished
            for first_s, block in finished:
                joiner.push_pelvis(first_s, block)
            return joiner.take()

        while not self.should_stop():
            if self.duration_s is not None and time.monotonic() - started >= self.duration_s:
                break
            chunk = self._pelvis.pull(PULL_TIMEOUT_S)
            if chunk is not None:
                assembler.push(chunk[0], chunk[1], self._pelvis.offset_s)
            elif self._pelvis.silent:
                assembler.flush()
            if self._trunk is not None:
                while (trunk := self._trunk.pull(0.0)) is not None:
                    rows = self._trunk.mapping.columns(trunk[0])
                    joiner.push_trunk(trunk[1] + self._trunk.offset_s, np.column_stack([rows[c] for c in rows]))
            if time.monotonic() - refreshed > CLOCK_REFRESH_S:
                for stream in streams:
                    stream.refresh_offset(started)
                refreshed = time.monotonic()
            for first_epoch_s, block in ready(assembler.take()):
                yield first_epoch_s - self.session_start_s, _from_session_start(block, self.session_start_s)
        assembler.flush()
        finished = ready(assembler.take()) + (joiner.flush() if joiner is not None else [])
        for first_epoch_s, block in finished:
            yield first_epoch_s - self.session_start_s, _from_session_start(block, self.session_start_s)
        self.dropped, self.gaps, self.restarts = assembler.dropped, assembler.gaps, assembler.restarts
        log.info(kv("sensor_done", stream=self.stream_name, **self.session_metadata()))

    def session_metadata(self, since: dict | None = None) -> dict:
        """What the station measured of its sensors (session_event v2, stop): the clocks as now
        estimated, the link's counts since ``since`` (an earlier ``counters()``; all when None)."""
        fit = self._joiner.fit if self._joiner is not None else None
        drift = self._pelvis.drift_ppm
        counts = {name: value - (since or {}).get(name, 0) for name, value in self.counters().items()}
        if self._trunk is None:
            counts["trunk_missing_samples"] = None
        return {
            "device_clock_drift_ppm": None if drift is None else round(drift, 2),
            "trunk_clock_offset_ms": None if fit is None else round(float(fit.lag_s(fit.t0_s)) * 1e3, 2),
            "trunk_clock_drift_ppm": None if fit is None else round(fit.drift_ppm, 2),
            **counts,
        }

    def close(self) -> None:
        self._pelvis.close()
        if self._trunk is not None:
            self._trunk.close()


def _from_session_start(block: dict[str, np.ndarray], session_start_s: float) -> dict[str, np.ndarray]:
    return {**block, "time_s": block["time_s"] - session_start_s}
