"""What a session must produce: its exact frames through the pipeline's own per-station code, in
one process, with no broker (the yardstick for loss and duplication).

Steps, and the alerts the step and frame rules raise (open and resolve records). Alerts judged on
the worker's wall clock (station silence) are not part of it: they answer how the data arrived,
not what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaitstream.monitor.frames import engine_input
from gaitstream.monitor.station import StationState
from gaitstream.schemas.codec import decode, encode
from gaitstream.services.station.frames import frame_record
from gaitstream.services.station.runner import StationRun


@dataclass
class Reference:
    steps: list[dict]
    alerts: list[dict]


def reference_run(run: StationRun, source_factory, frame_samples: int) -> Reference:
    """The session of ``run`` (its source rebuilt by ``source_factory``), start to stop, as the
    gait agent processes it: steps, the rolling window's alerts per step, the frame rules' alerts
    per frame, the closing alerts at the stop."""
    session = run.session.event("start", run.session.start_time_us)
    _, session = decode(encode("session_event", session))
    state = StationState.start(session, now_us=session["time_us"])
    steps: list[dict] = []
    alerts: list[dict] = []

    def emit(new_steps) -> None:
        for step in new_steps:
            record = state.step_record(step)
            steps.append(record)
            if state.rolling.add(record):
                alerts.extend(state.rolling.evaluate_alerts(record))

    samples = 0
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
        emit(state.push(data))
        samples += len(block["time_s"])
        alerts.extend(
            state.watch.on_frame(
                data.by_location(),
                sequence=frame["sequence"],
                first_sample_time_us=frame["first_sample_time_us"],
                sampling_rate_hz=frame["sampling_rate_hz"],
                now_us=frame["first_sample_time_us"],
            )
        )
    emit(state.finish())
    # The station's stop event (services.station.runner): start + the samples sent.
    stop_us = session["time_us"] + round(samples * 1_000_000 / session["sampling_rate_hz"])
    alerts += state.rolling.close(stop_us) + state.watch.close(stop_us)
    return Reference(steps=steps, alerts=alerts)


def reference_steps(run: StationRun, source_factory, frame_samples: int) -> list[dict]:
    return reference_run(run, source_factory, frame_samples).steps
