"""The steps a session must produce: its exact frames through the pipeline's own per-station code,
in one process, with no broker (the yardstick for loss and duplication)."""

from __future__ import annotations

from gaitstream.monitor.frames import engine_input
from gaitstream.monitor.station import StationState
from gaitstream.schemas.codec import decode, encode
from gaitstream.services.station.frames import frame_record
from gaitstream.services.station.runner import StationRun


def reference_steps(run: StationRun, source_factory, frame_samples: int) -> list[dict]:
    session = run.session.event("start", run.session.start_time_us)
    _, session = decode(encode("session_event", session))
    state = StationState.start(session)
    steps = []
    for seq, (first_s, block) in enumerate(source_factory().frames(frame_samples)):
        _, frame = decode(
            encode("imu_frame", frame_record(run.session, sequence=seq, first_sample_s=first_s, block=block))
        )
        data = engine_input(
            frame,
            session_start_us=session["time_us"],
            sampling_rate_hz=session["sampling_rate_hz"],
            trunk=session["trunk_present"],
        )
        steps += [state.step_record(s) for s in state.push(data)]
    steps += [state.step_record(s) for s in state.finish()]
    return steps
