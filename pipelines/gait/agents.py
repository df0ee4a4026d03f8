"""track_gait: station frames -> one gait engine per station -> steps, live trace, rolling
status (last 20 steps per side, 10 s tumbling windows) and the alert rules over those steps.

The rolling status runs here, beside the engine that produces the steps, rather than in a
second agent downstream: same key, same partition, same order, and its window travels in the
station's checkpoint. That saves a Faust event, a decode and a table write per step (the load
benchmark's per-step cost), and a restore leaves engine and window consistent by construction.

Batches: the agent takes what is waiting (at most ``frame_batch_max`` events, after at most
``frame_batch_within_s``), groups it by station and pushes each station's consecutive frames to its
engine at once; each frame is still validated, checked by the sensor rules and acknowledged on
its own.

Delivery: a station's events are acknowledged (their offsets become committable) only once
the engine state covering them is checkpointed in the ``station-state`` table and that
checkpoint's changelog record is on the broker (:func:`_ack_confirmed`). After a crash or a rebalance the new
owner restores the checkpoint and skips frames whose sequence it already holds, so no step is
lost; steps produced between the checkpoint and the crash are produced again with the same
index and timestamps, which the status agent drops and InfluxDB overwrites. A batch that a
partition revocation interrupts neither checkpoints nor acknowledges any more (``_ack``): during
the rebalance Faust resets the table to its changelog, and a checkpoint written then could be
lost while the offsets it covered were committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from contextlib import contextmanager

from faust.streams import _current_event
from faust.types import TP, EventT, StreamT

from gaitstream.logging import kv
from gaitstream.monitor import lookup
from gaitstream.pipelines.app import (alert_settings_table, alerts_topic, app, pipeline_settings, session_history_table,
                           session_history_topic, station_state, stations_topic, status_topic, steps_per_window,
                           steps_topic, topic_settings, trace_topic)
from gaitstream.pipelines.deadletter import send_dead_letter
from gaitstream.monitor.frames import EngineInput, FrameError, concatenate_inputs, engine_input
from gaitstream.gait.engine import StepMetrics
from gaitstream.monitor.station import TRACE_RATE_HZ, StationState
from gaitstream.pipelines.produce import default_partition, produce
from gaitstream.schemas.codec import WireError, decode, encode

log = logging.getLogger(__name__)

STEPS, STATUS, ALERTS, TRACE = (topic.get_topic_name() for topic in (steps_topic, status_topic, alerts_topic,
                                                                     trace_topic))

# Live engines of the stations this worker owns now (rebuilt from the table after a rebalance).
_live: dict[str, StationState] = {}
# Events of each station processed since its last checkpoint, not yet acknowledged.
_held: dict[str, list[EventT]] = defaultdict(list)
_held_samples: dict[str, int] = defaultdict(int)
# Checkpointed events waiting for their checkpoint's changelog write, in order: (write, events,
# revocations seen when it was written).
_unconfirmed: list[tuple[asyncio.Future, list[EventT], int]] = []
# How often the station-silence rule looks at this worker's open sessions (its delay is 10 s).
SILENCE_CHECK_INTERVAL_S = 2.0
# Partition revocations seen, and the count when the batch in progress was taken. A batch that a
# revocation interrupts (at any await) must neither checkpoint nor acknowledge: table recovery then
# resets the stored checkpoints to the changelog, so a checkpoint written meanwhile could be
# replaced by an older one while the offsets it covers got committed (frames lost, e2e restart
# test: a surviving worker's own station continued from 0.1-0.5 s back). Its events are replayed.
_revocations = 0
_batch_revocations = 0


def _interrupted() -> bool:
    """Whether partitions were revoked since the batch in progress was taken."""
    return _batch_revocations != _revocations


async def _ack(stream: StreamT, event: EventT) -> None:
    """Acknowledge ``event`` unless a revocation interrupted its batch (it is then replayed)."""
    if not _interrupted():
        await stream.ack(event)


def _now_us() -> int:
    """The worker's wall clock: station silence is judged on arrival, never on sample times
    (replays and catching-up stations send faster than real time)."""
    return time.time_ns() // 1000


@app.on_partitions_revoked.connect
async def forget_live_state(app, revoked, **kwargs) -> None:
    """Another worker may own these stations next: drop our copies; the table is the truth."""
    global _revocations
    _revocations += 1
    _live.clear()
    _held.clear()
    _held_samples.clear()
    _unconfirmed.clear()  # not acknowledged: their partitions' next owner replays them


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
    """Publish the steps, move the rolling window, publish each status that falls due (about one
    per second of data, also when one push carries several seconds) and any alerts."""
    rolling = state.rolling
    for step in steps:
        record = state.step_record(step)
        await _publish(station_id, "step_metrics", record)
        state.steps_not_windowed += 1
        if not rolling.add(record):
            continue  # after the session's stop
        candidate = rolling.record(record["end_time_us"], lean_reference=state.engine.lean_reference)
        if rolling.due(candidate):
            await _publish_status(station_id, state, candidate)
        await _publish_alerts(station_id, rolling.evaluate_alerts(record))


async def _publish_status(station_id: str, state: StationState, status: dict) -> None:
    # The windowed table is written when a status goes out (about once a second), not on every
    # step: each write is a changelog record.
    steps_per_window[station_id] += state.steps_not_windowed
    state.steps_not_windowed = 0
    status["steps_last_10s"] = int(steps_per_window[station_id].now())
    await produce(STATUS, station_id.encode(), encode("gait_status", status))


async def _flush_trace(station_id: str, state: StationState) -> None:
    t_s, phi, lean = state.take_trace()
    if t_s:
        await produce(TRACE, station_id.encode(), encode("obliquity_trace", state.trace_record(t_s, phi, lean)))


async def _checkpoint(station_id: str, state: StationState, stream: StreamT, *, closed: bool = False) -> None:
    """Flush the trace, store the state; the events it covers are acknowledged once the broker
    has the stored state (:func:`_ack_confirmed`)."""
    await _flush_trace(station_id, state)
    if _interrupted():
        return  # the table is being recovered: leave the state to the replay
    if closed:
        station_state[station_id] = {"session": state.session, "last_sequence": state.last_sequence, "closed": True}
        _live.pop(station_id, None)
    else:
        station_state[station_id] = state.checkpoint()
    write = station_state.last_write
    _unconfirmed.append((write, _held.pop(station_id, []), _revocations))
    _held_samples.pop(station_id, None)
    # Acknowledged as soon as the write completes, also when no further message comes (a quiet
    # station's offsets must still be committed).
    asyncio.ensure_future(_ack_when_written(write, stream))


async def _ack_when_written(write: asyncio.Future, stream: StreamT) -> None:
    await asyncio.wait([write])
    await _ack_confirmed(stream)


async def _ack_confirmed(stream: StreamT) -> None:
    """Acknowledge the events of every checkpoint whose changelog write has completed, in order
    (an offset must never be committed ahead of the state that covers it)."""
    while _unconfirmed and _unconfirmed[0][0].done():
        write, events, revocations = _unconfirmed.pop(0)
        if write.cancelled() or write.exception() is not None:
            # Not stored: leave the events unacknowledged, so that they are replayed after a restart.
            log.error(kv("checkpoint_write_failed", events=len(events),
                         error="cancelled" if write.cancelled() else repr(write.exception())))
            continue
        for event in events:
            if revocations != _revocations:
                break  # revoked meanwhile: the partitions' next owner replays them
            await stream.ack(event)


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
            await _ack(stream, event)  # a replayed start: this session already runs (or ran)
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
        await _ack(stream, event)  # a replayed stop, or the stop of a session never started


def _accept(station_id: str, state: StationState | None, event: EventT, frame: dict,
            last_sequence: int) -> tuple[str, EngineInput | str | None]:
    """Judge one frame: ("push", engine input), ("dead", reason) or ("skip", None) (a replay)."""
    if state is None or state.session["session_id"] != frame["session_id"]:
        stored = station_state.get(station_id)
        replay = (stored and stored["closed"] and stored["session"]["session_id"] == frame["session_id"]
                  and frame["sequence"] <= stored["last_sequence"])
        return ("skip", None) if replay else ("dead", f"no active session {frame['session_id']} on station {station_id}")
    if frame["sequence"] <= last_sequence:
        return "skip", None  # already inside the restored checkpoint
    try:
        return "push", engine_input(frame, session_start_us=state.session["time_us"],
                                    sampling_rate_hz=state.engine.sampling_rate_hz, trunk=state.session["trunk_present"])
    except FrameError as exc:
        return "dead", exc.reason


async def _push(state: StationState, accepted: list[tuple[EventT, dict, EngineInput]],
                stream: StreamT) -> tuple[list[StepMetrics], list[tuple[EventT, dict, EngineInput]]]:
    """Push the accepted frames in one call; when the engine refuses that (a ValueError: input it
    cannot take at all), push them one by one so that only the offending frames go to the
    dead-letter topic (a refused push leaves the engine as it was)."""
    try:
        return state.push(concatenate_inputs([data for _, _, data in accepted])), accepted
    except ValueError:
        if len(accepted) == 1:
            raise
    steps, pushed = [], []
    for item in accepted:
        try:
            steps += state.push(item[2])
            pushed.append(item)
        except ValueError as exc:
            await send_dead_letter(item[0], str(exc))
            await _ack(stream, item[0])
    return steps, pushed


def _checkpoint_samples(state: StationState) -> float:
    """Samples of a station's data after which its state is checkpointed."""
    return pipeline_settings.checkpoint_interval_s * state.engine.sampling_rate_hz


async def on_frames(station_id: str, frames: list[tuple[EventT, dict]], stream: StreamT) -> None:
    """Consecutive frames of one station: validated one by one, pushed to its engine at once."""
    state = _active(station_id)
    accepted: list[tuple[EventT, dict, EngineInput]] = []
    last_sequence = -1 if state is None else state.last_sequence
    last_time_s = None if state is None else state.engine.last_time_s
    for event, frame in frames:
        verdict, data = _accept(station_id, state, event, frame, last_sequence)
        if verdict == "push" and last_time_s is not None and data.time_s[0] <= last_time_s:
            # the engine would drop these samples one by one; the frame is wrong as a whole
            verdict, data = "dead", (f"time goes backwards: first sample at {data.time_s[0]:.3f} s of the session, "
                                     f"not after the previous frame's last ({last_time_s:.3f} s)")
        if verdict == "push":
            accepted.append((event, frame, data))
            last_sequence = frame["sequence"]
            last_time_s = float(data.time_s[-1])
            continue
        if verdict == "dead":
            await send_dead_letter(event, data)
        await _ack(stream, event)
    if not accepted:
        return
    # Pushed in runs that end where a checkpoint falls due, so that checkpoints come after every
    # checkpoint_interval_s of a station's data whatever the batching (the same frames are
    # acknowledged together as frame by frame).
    threshold = _checkpoint_samples(state)
    run: list[tuple[EventT, dict, EngineInput]] = []
    held = _held_samples[station_id]
    for item in accepted:
        run.append(item)
        held += len(item[2].time_s)
        if held >= threshold:
            await _push_run(station_id, state, run, stream)
            run, held = [], 0
    if run:
        await _push_run(station_id, state, run, stream)


async def _push_run(station_id: str, state: StationState, run: list[tuple[EventT, dict, EngineInput]],
                    stream: StreamT) -> None:
    try:
        steps, run = await _push(state, run, stream)
    except ValueError as exc:
        await send_dead_letter(run[0][0], str(exc))
        await _ack(stream, run[0][0])
        return
    await _emit_steps(station_id, state, steps)
    now_us = _now_us()
    for event, frame, data in run:
        await _publish_alerts(station_id, state.watch.on_frame(
            data.by_location(), sequence=frame["sequence"], first_sample_time_us=frame["first_sample_time_us"],
            sampling_rate_hz=frame["sampling_rate_hz"], now_us=now_us))
        state.last_sequence = frame["sequence"]
        _held[station_id].append(event)
        _held_samples[station_id] += len(data.time_s)
    if _held_samples[station_id] >= _checkpoint_samples(state):
        await _checkpoint(station_id, state, stream)
    elif len(state.trace_t_s) >= TRACE_RATE_HZ * pipeline_settings.trace_interval_s:
        # The drill-down trace goes out more often than checkpoints; a replay after a crash
        # produces the same points again (same timestamps), which InfluxDB overwrites.
        await _flush_trace(station_id, state)


def _owns(station_id: str) -> bool:
    """Whether this worker owns the station's partition now (stations are keyed by id and placed
    by the Kafka clients' default partitioner, murmur2 of the key)."""
    partition = default_partition(station_id.encode(), list(range(topic_settings.partitions)))
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


@contextmanager
def _in_event(event: EventT):
    """Make ``event`` Faust's current event while its station's batch is processed: Faust writes a
    table's changelog to the partition of the current event (faust.streams' context variable,
    which the stream itself sets per event; a batch holds many partitions)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def _stale(event: EventT) -> bool:
    """Taken before a rebalance (the stream's own rule): the partition's owner now replays it."""
    return not app.flow_control.is_active() or event.message.generation_id != app.consumer_generation_id


async def _on_station(station_id: str, items: list[tuple[EventT, str, dict]], stream: StreamT) -> None:
    """One station's events of a batch, in order: runs of frames between session events."""
    run: list[tuple[EventT, dict]] = []
    for event, kind, record in [*items, (None, "end", None)]:
        if kind == "imu_frame":
            run.append((event, record))
            continue
        if run:
            await _guarded(on_frames(station_id, run, stream), [e for e, _ in run], "imu_frame", station_id, stream)
            run = []
        if kind == "session_event":
            await _guarded(on_session_event(event, record, stream), [event], kind, station_id, stream)


async def _guarded(work, events: list[EventT], kind: str, station_id: str, stream: StreamT) -> None:
    """A bug must cost these messages, never the agent (it would crash-loop)."""
    try:
        await work
    except Exception as exc:
        log.exception(kv("frame_failed", station=station_id, kind=kind, messages=len(events)))
        for event in events:
            await send_dead_letter(event, f"internal error: {type(exc).__name__}: {exc}")
            await _ack(stream, event)


@app.agent(stations_topic, concurrency=1)
async def track_gait(stream):
    """Frames and session events of every station (key = station id), in order per station.

    Taken in batches (``frame_batch_max`` / ``frame_batch_within_s``) and grouped by station, so
    that a station's consecutive frames make one engine push; stations are independent.
    """
    manual = stream.noack()
    global _batch_revocations
    async for events in manual.noack_take(pipeline_settings.frame_batch_max,
                                          within=pipeline_settings.frame_batch_within_s):
        _batch_revocations = _revocations
        by_station: dict[str, list[tuple[EventT, str, dict]]] = {}
        for event in events:
            if _stale(event):
                continue
            try:
                kind, record = decode(event.message.value, expect=("imu_frame", "session_event"))
                if (event.message.key or b"").decode(errors="replace") != record["station_id"]:
                    raise WireError("message key must equal station_id")
            except WireError as exc:
                with _in_event(event):
                    await send_dead_letter(event, exc.reason)
                    await _ack(manual, event)
                continue
            by_station.setdefault(record["station_id"], []).append((event, kind, record))
        for station_id, items in by_station.items():
            if _interrupted():
                break  # revoked: the rest of the batch is replayed by the partitions' owners
            with _in_event(items[0][0]):  # one key, one partition
                await _on_station(station_id, items, manual)
        if _interrupted():
            # What the batch left after the revocation (engines, held events) is stale: the
            # recovered table is the truth again. Sessions adopted meanwhile are kept.
            for station_id in by_station:
                _live.pop(station_id, None)
                _held.pop(station_id, None)
                _held_samples.pop(station_id, None)
