"""track_gait: station frames -> one gait engine per station -> steps, live trace, rolling
status (last 20 steps per side, 10 s tumbling windows) and the alert rules over those steps.

The rolling status runs here, beside the engine that produces the steps, rather than in a
second agent downstream: same key, same partition, same order, and its window travels in the
station's checkpoint. That saves a Faust event, a decode and a table write per step (the load
benchmark's per-step cost), and a restore leaves engine and window consistent by construction.

Delivery: a station's events are acknowledged (their offsets become committable) only once
the engine state covering them is checkpointed in the ``station-state`` table, and Faust
flushes the table's changelog before it commits offsets. After a crash or a rebalance the new
owner restores the checkpoint and skips frames whose sequence it already holds, so no step is
lost; steps produced between the checkpoint and the crash are produced again with the same
index and timestamps, which the status agent drops and InfluxDB overwrites.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from faust.types import TP, EventT, StreamT
from kafka.partitioner.default import murmur2

from gaitstream.logging import kv
from pipelines.alerts import lookup
from pipelines.app import (alert_settings_table, alerts_topic, app, pipeline_settings, session_history_table,
                           session_history_topic, station_state, stations_topic, status_topic, steps_per_window,
                           steps_topic, topic_settings, trace_topic)
from pipelines.deadletter import send_dead_letter
from pipelines.gait.frames import FrameError, engine_input
from gaitstream.gait.engine import StepMetrics
from pipelines.gait.state import TRACE_RATE_HZ, StationState
from pipelines.produce import produce
from schemas.codec import WireError, decode, encode

log = logging.getLogger(__name__)

STEPS, STATUS, ALERTS, TRACE = (topic.get_topic_name() for topic in (steps_topic, status_topic, alerts_topic,
                                                                     trace_topic))

# Live engines of the stations this worker owns now (rebuilt from the table after a rebalance).
_live: dict[str, StationState] = {}
# Events of each station processed since its last checkpoint, not yet acknowledged.
_held: dict[str, list[EventT]] = defaultdict(list)
_held_samples: dict[str, int] = defaultdict(int)
# How often the station-silence rule looks at this worker's open sessions (its delay is 10 s).
SILENCE_CHECK_INTERVAL_S = 2.0


def _now_us() -> int:
    """The worker's wall clock: station silence is judged on arrival, never on sample times
    (replays and catching-up stations send faster than real time)."""
    return time.time_ns() // 1000


@app.on_partitions_revoked.connect
async def forget_live_state(app, revoked, **kwargs) -> None:
    """Another worker may own these stations next: drop our copies; the table is the truth."""
    _live.clear()
    _held.clear()
    _held_samples.clear()


def _active(station_id: str) -> StationState | None:
    """The station's running session: live copy, else restored from its checkpoint."""
    if station_id not in _live:
        value = station_state.get(station_id)
        if not value or value["closed"]:
            return None
        try:
            _live[station_id] = StationState.restore(value)
            _live[station_id].watch.resume(_now_us())  # the checkpoint's arrival time may be another worker's
        except (KeyError, TypeError, ValueError) as exc:
            # A checkpoint from an incompatible engine version: that session cannot continue,
            # but the station must not be stuck; its next session starts afresh.
            log.error(kv("checkpoint_unreadable", station=station_id, session=value["session"]["session_id"],
                         error=f"{type(exc).__name__}: {exc}"))
            return None
    return _live[station_id]


async def _publish(station_id: str, schema: str, record: dict) -> None:
    await produce(STEPS, station_id.encode(), encode(schema, record))


async def _publish_alerts(station_id: str, alerts: list[dict]) -> None:
    for alert in alerts:
        await produce(ALERTS, station_id.encode(), encode("alert", alert))
        log.info(kv("alert", id=alert["alert_id"], state=alert["state"], kind=alert["kind"], station=station_id,
                    side=alert["side"], fault=alert.get("fault"), value=alert["value"]))


async def _emit_steps(station_id: str, state: StationState, steps: list[StepMetrics]) -> None:
    """Publish the steps, move the rolling window, publish the status when due and any alerts."""
    if not steps:
        return
    rolling = state.rolling
    status = None
    for step in steps:
        record = state.step_record(step)
        await _publish(station_id, "step_metrics", record)
        if not rolling.add(record):
            continue  # after the session's stop
        candidate = rolling.record(record["end_time_us"])
        if rolling.due(candidate):
            status = candidate
        await _publish_alerts(station_id, rolling.evaluate_alerts(record))
    state.steps_not_windowed += len(steps)
    if status is not None:
        # The windowed table is written when a status goes out (about once a second), not on
        # every step: each write is a changelog record.
        steps_per_window[station_id] += state.steps_not_windowed
        state.steps_not_windowed = 0
        status["steps_last_10s"] = int(steps_per_window[station_id].now())
        await produce(STATUS, station_id.encode(), encode("gait_status", status))


async def _flush_trace(station_id: str, state: StationState) -> None:
    t_s, phi, lean = state.take_trace()
    if t_s:
        await produce(TRACE, station_id.encode(), encode("obliquity_trace", state.trace_record(t_s, phi, lean)))


async def _checkpoint(station_id: str, state: StationState, stream: StreamT, *, closed: bool = False) -> None:
    """Flush the trace, store the state, then acknowledge the events it covers."""
    await _flush_trace(station_id, state)
    if closed:
        station_state[station_id] = {"session": state.session, "last_sequence": state.last_sequence, "closed": True}
        _live.pop(station_id, None)
    else:
        station_state[station_id] = state.checkpoint()
    for held in _held.pop(station_id, []):
        await stream.ack(held)
    _held_samples.pop(station_id, None)


async def _close(station_id: str, state: StationState, stream: StreamT, stop: dict) -> None:
    await _emit_steps(station_id, state, state.finish())
    await _publish_alerts(station_id, state.rolling.close(stop["time_us"]) + state.watch.close(stop["time_us"]))
    # The session's summary joins the patient's history (baseline of the worsening rule).
    history = lookup.next_history(session_history_table.get, state.session, state.rolling.summary(stop["time_us"]),
                                  state.rolling.settings)
    if history is not None:
        await session_history_topic.send(key=history[0], value=history[1])
    await _publish(station_id, "session_event", stop)
    await _checkpoint(station_id, state, stream, closed=True)
    log.info(kv("session_stop", station=station_id, session=state.session["session_id"]))


async def on_session_event(event: EventT, record: dict, stream: StreamT) -> None:
    station_id = record["station_id"]
    stored = station_state.get(station_id)
    state = _active(station_id)
    if record["event"] == "start":
        if stored and stored["session"]["session_id"] == record["session_id"]:
            await stream.ack(event)  # a replayed start: this session already runs (or ran)
            return
        if state is not None:  # a new session without a stop: end the old one first
            await _close(station_id, state, stream, {**state.session, "event": "stop", "time_us": record["time_us"]})
        settings = lookup.session_settings(alert_settings_table.get, record)
        state = _live[station_id] = StationState.start(
            record, settings=settings, baseline=lookup.session_baseline(session_history_table.get, record, settings),
            now_us=_now_us())
        await _publish(station_id, "session_event", record)
        _held[station_id].append(event)
        await _checkpoint(station_id, state, stream)
        log.info(kv("session_start", station=station_id, session=record["session_id"], clinic=record["clinic_id"],
                    patient=record["patient_id"], trunk=record["trunk_present"]))
    elif state is not None and state.session["session_id"] == record["session_id"]:
        _held[station_id].append(event)
        await _close(station_id, state, stream, record)
    else:
        await stream.ack(event)  # a replayed stop, or the stop of a session never started


async def on_frame(event: EventT, frame: dict, stream: StreamT) -> None:
    station_id = frame["station_id"]
    state = _active(station_id)
    if state is None or state.session["session_id"] != frame["session_id"]:
        stored = station_state.get(station_id)
        replay = (stored and stored["closed"] and stored["session"]["session_id"] == frame["session_id"]
                  and frame["sequence"] <= stored["last_sequence"])
        if not replay:
            await send_dead_letter(event, f"no active session {frame['session_id']} on station {station_id}")
        await stream.ack(event)
        return
    if frame["sequence"] <= state.last_sequence:
        await stream.ack(event)  # already inside the restored checkpoint
        return
    try:
        data = engine_input(frame, session_start_us=state.session["time_us"],
                            sampling_rate_hz=state.engine.sampling_rate_hz, trunk=state.session["trunk_present"])
        steps = state.push(data)
    except (FrameError, ValueError) as exc:
        await send_dead_letter(event, getattr(exc, "reason", str(exc)))
        await stream.ack(event)
        return
    await _emit_steps(station_id, state, steps)
    await _publish_alerts(station_id, state.watch.on_frame(
        data.by_location(), sequence=frame["sequence"], first_sample_time_us=frame["first_sample_time_us"],
        sampling_rate_hz=frame["sampling_rate_hz"], now_us=_now_us()))
    state.last_sequence = frame["sequence"]
    _held[station_id].append(event)
    _held_samples[station_id] += len(data.time_s)
    if _held_samples[station_id] >= pipeline_settings.checkpoint_interval_s * state.engine.sampling_rate_hz:
        await _checkpoint(station_id, state, stream)
    elif len(state.trace_t_s) >= TRACE_RATE_HZ * pipeline_settings.trace_interval_s:
        # The drill-down trace goes out more often than checkpoints; a replay after a crash
        # produces the same points again (same timestamps), which InfluxDB overwrites.
        await _flush_trace(station_id, state)


def _owns(station_id: str) -> bool:
    """Whether this worker owns the station's partition now (stations are keyed by id and placed
    by the Kafka clients' default partitioner, murmur2 of the key)."""
    partition = (murmur2(station_id.encode()) & 0x7FFFFFFF) % topic_settings.partitions
    return TP(topic_settings.stations, partition) in app.assignor.assigned_actives()


def _adopt_open_sessions() -> None:
    """Load the open sessions of owned stations that sent nothing since this worker got them (a
    restart or a rebalance while the station was quiet), so that their silence is noticed.

    Only between rebalances and once the tables are recovered: the table value is then the one
    the agent itself would load at the station's next frame.
    """
    if app.rebalancing or app.in_recovery or not app.tables.recovery.completed.is_set():
        return
    for station_id, value in list(station_state.items()):
        if value and not value["closed"] and station_id not in _live and _owns(station_id):
            if _active(station_id) is not None:
                log.info(kv("session_adopted", station=station_id, session=value["session"]["session_id"]))


@app.timer(interval=SILENCE_CHECK_INTERVAL_S)
async def check_silent_stations() -> None:
    """Station silence over the open sessions this worker owns (the rule's state is checkpointed
    with the station's next frame; a repeated open after a crash carries the same id)."""
    _adopt_open_sessions()
    now_us = _now_us()
    for station_id, state in list(_live.items()):
        await _publish_alerts(station_id, state.watch.check_silence(now_us))


@app.agent(stations_topic, concurrency=1)
async def track_gait(stream):
    """Frames and session events of every station (key = station id), in order per station."""
    manual = stream.noack()
    async for event in manual.events():
        try:
            kind, record = decode(event.message.value, expect=("imu_frame", "session_event"))
            if (event.message.key or b"").decode(errors="replace") != record["station_id"]:
                raise WireError("message key must equal station_id")
        except WireError as exc:
            await send_dead_letter(event, exc.reason)
            await manual.ack(event)
            continue
        try:
            if kind == "session_event":
                await on_session_event(event, record, manual)
            else:
                await on_frame(event, record, manual)
        except Exception as exc:  # a bug must cost one message, never the agent (it would crash-loop)
            log.exception(kv("frame_failed", station=record.get("station_id"), kind=kind))
            await send_dead_letter(event, f"internal error: {type(exc).__name__}: {exc}")
            await manual.ack(event)
