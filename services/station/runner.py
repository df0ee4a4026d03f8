"""Run one or many stations in one process, paced in real time (or as fast as possible)."""

from __future__ import annotations

import heapq
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from gaitstream.logging import kv
from gaitstream.services.station.frames import SessionInfo, frame_record, frame_samples_for
from gaitstream.services.station.publisher import StationPublisher
from gaitstream.services.station.sources import FrameSource

log = logging.getLogger(__name__)


@dataclass
class StationRun:
    """One station's session in progress."""

    session: SessionInfo
    source: FrameSource
    frames_sent: int = 0
    samples_sent: int = 0
    end_s: float = 0.0  # just after the last sample sent, s from the session start
    done: bool = False
    _frames: Iterator[tuple[float, dict[str, np.ndarray]]] | None = field(default=None, repr=False)
    _next: tuple[float, dict[str, np.ndarray]] | None = field(default=None, repr=False)


def new_session(
    *,
    clinic_id: str,
    station_id: str,
    patient_id: str,
    source: FrameSource,
    start_time_us: int | None = None,
    **overrides,
) -> SessionInfo:
    return SessionInfo(
        clinic_id=clinic_id,
        station_id=station_id,
        session_id=uuid.uuid4().hex,
        patient_id=patient_id,
        sampling_rate_hz=source.sampling_rate_hz,
        start_time_us=start_time_us if start_time_us is not None else time.time_ns() // 1000,
        trunk_present=source.trunk_present,
        **overrides,
    )


def run_stations(
    runs: list[StationRun],
    publisher: StationPublisher,
    *,
    frame_samples: int,
    feedback_frame_samples: int | None = None,
    speed: float = 1.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_frame: Callable[[StationRun], None] | None = None,
    origin_unix_s: float | None = None,
) -> None:
    """Send every run's session: start event, frames, stop event.

    ``speed`` 1.0 paces frames at the wall-clock rate they were sampled (a frame leaves when its
    last sample exists); 0 sends as fast as the broker takes them. Stations are interleaved by
    due time, so one process can play hundreds at once. ``origin_unix_s``: the wall-clock time of
    the sessions' first sample (default: now), so that the time spent getting here is not a lag
    carried through every frame. ``feedback_frame_samples``: the frame of sessions with a patient
    screen (default: ``frame_samples`` for all).
    """
    wall0 = time.monotonic()
    if origin_unix_s is not None:
        wall0 -= time.time() - origin_unix_s
    due: list[tuple[float, int]] = []
    for i, run in enumerate(runs):
        publisher.send(run.session.station_id, "session_event", run.session.event("start", run.session.start_time_us))
        samples = frame_samples_for(
            run.session,
            frame_samples=frame_samples,
            feedback_frame_samples=frame_samples if feedback_frame_samples is None else feedback_frame_samples,
        )
        run._frames = iter(run.source.frames(samples))
        _queue_next(run, i, due, 0.0)
    while due and not should_stop():
        due_s, i = heapq.heappop(due)
        if speed > 0:
            delay_s = wall0 + due_s / speed - time.monotonic()
            if delay_s > 0:
                time.sleep(delay_s)
        run = runs[i]
        if run._next is None:
            _finish(run, publisher)
            continue
        first_s, block = run._next
        publisher.send(
            run.session.station_id,
            "imu_frame",
            frame_record(run.session, sequence=run.frames_sent, first_sample_s=first_s, block=block),
        )
        run.frames_sent += 1
        run.samples_sent += len(block["time_s"])
        run.end_s = first_s + len(block["time_s"]) / run.source.sampling_rate_hz
        if on_frame is not None:
            on_frame(run)
        _queue_next(run, i, due, due_s)
    for run in runs:
        if not run.done:
            _finish(run, publisher)
    publisher.flush()


def _queue_next(run: StationRun, i: int, due: list[tuple[float, int]], now_s: float) -> None:
    """Take the run's next frame and queue it for when its last sample exists (session time);
    the stop event follows the last frame at once."""
    run._next = next(run._frames, None)
    if run._next is None:
        heapq.heappush(due, (now_s, i))
        return
    first_s, block = run._next
    heapq.heappush(due, (first_s + len(block["time_s"]) / run.source.sampling_rate_hz, i))


def _finish(run: StationRun, publisher: StationPublisher) -> None:
    end_us = run.session.start_time_us + round(run.end_s * 1_000_000)
    stop = run.session.event("stop", end_us)
    metadata = getattr(run.source, "session_metadata", None)
    if metadata is not None:  # a real sensor: what was measured of its link and clocks
        stop.update(metadata())
    publisher.send(run.session.station_id, "session_event", stop)
    run.done = True
    log.info(
        kv(
            "station_session_done",
            station=run.session.station_id,
            session=run.session.session_id,
            frames=run.frames_sent,
            samples=run.samples_sent,
        )
    )
