"""track_gait: station frames -> one gait engine per station -> steps, live trace, rolling
status (last 20 steps per side, 10 s tumbling windows) and the alert rules over those steps.

The rolling status runs here, beside the engine that produces the steps, rather than in a
second agent downstream: same key, same partition, same order, and its window travels in the
station's checkpoint. That saves a Faust event, a decode and a table write per step (the load
benchmark's per-step cost), and a restore leaves engine and window consistent by construction.
The per-station logic itself is pure (``gaitstream.monitor``); this module is the Faust glue.

Batches: the agent takes what is waiting (at most ``frame_batch_max`` events, after at most
``frame_batch_within_s``), groups it by station and pushes each station's consecutive frames to its
engine at once; each frame is still validated and checked by the sensor rules on its own.

Delivery: the :class:`GaitTracker` owns the live station states and a
:class:`~gaitstream.pipelines.ledger.CheckpointLedger`. An input is acknowledged (its offset
becomes committable) only once the checkpoint of its station's state that covers it is stored in
the ``station-state`` table's changelog and the records it caused (steps, status, trace, alerts,
dead letters) are on the broker, in offset order per partition. After a crash or a rebalance the
new owner restores the checkpoint and skips frames whose sequence it already holds, so no step is
lost; steps produced between the checkpoint and the crash are produced again with the same index
and timestamps, which InfluxDB overwrites and the alert dispatcher deduplicates. A batch that a
partition revocation interrupts writes no checkpoint and acknowledges nothing (during the
rebalance Faust resets the table to its changelog; the partitions' owner replays the events).
"""

from __future__ import annotations

import asyncio
import logging
import time

from faust.types import EventT, StreamT

from gaitstream.access.signing import SignatureError, SignatureVerifier
from gaitstream.gait.engine import StepMetrics
from gaitstream.logging import kv
from gaitstream.monitor import lookup
from gaitstream.monitor.door import StationClockFaults, check_message_size, check_session_rate, clock_problem
from gaitstream.monitor.frames import EngineInput, FrameError, concatenate_inputs, engine_input
from gaitstream.monitor.station import TRACE_RATE_HZ, StationState
from gaitstream.monitor.watch import worker_was_paused
from gaitstream.pipelines.app import (
    alert_settings_table,
    alerts_topic,
    app,
    pipeline_settings,
    session_history_table,
    session_history_topic,
    station_state,
    stations_topic,
    status_topic,
    steps_per_window,
    steps_topic,
    topic_settings,
    trace_topic,
)
from gaitstream.pipelines.checkpoints import checkpoint_samples
from gaitstream.pipelines.deadletter import send_dead_letter
from gaitstream.pipelines.faust_adapter import (
    committed_offset,
    current_event,
    end_offset,
    forget_gaps,
    is_stale,
    owns_partition,
    rewind,
    tables_settled,
)
from gaitstream.pipelines.fence import PauseFence
from gaitstream.pipelines.ledger import CheckpointLedger, contiguous_run, stalled
from gaitstream.pipelines.produce import default_partition, produce
from gaitstream.schemas.codec import WireError, decode, encode
from gaitstream.settings import SigningSettings

log = logging.getLogger(__name__)

STEPS, STATUS, ALERTS, TRACE = (
    topic.get_topic_name() for topic in (steps_topic, status_topic, alerts_topic, trace_topic)
)
# How often the station-silence rule looks at this worker's open sessions (its delay is 10 s).
SILENCE_CHECK_INTERVAL_S = 2.0
# How often the pause fence sees the event loop run (fence.PauseFence).
FENCE_TICK_S = 0.5
# A partition whose records keep arriving past a hole is read again from the hole this often
# (faust_adapter, item 10: a seek can be overtaken by records its consumer thread fetched before).
REWIND_RETRY_S = 5.0
# An owned partition that delivered nothing for this long is checked against the broker's end
# offset, and read again from the next offset the agent needs if records wait past it.
STALL_CHECK_S = 10.0

Frame = tuple[EventT, dict, EngineInput]


def _log_alert(station_id: str, alert: dict) -> None:
    log.info(
        kv(
            "alert",
            id=alert["alert_id"],
            state=alert["state"],
            kind=alert["kind"],
            station=station_id,
            side=alert["side"],
            fault=alert.get("fault"),
            value=alert["value"],
        )
    )


def _trace_interval_s(state: StationState) -> float:
    """How much trace a station collects before it goes out: little when a screen shows it live."""
    if state.session.get("feedback_plan"):
        return pipeline_settings.feedback_trace_interval_s
    return pipeline_settings.trace_interval_s


def _now_us() -> int:
    """The worker's wall clock: station silence is judged on arrival, never on sample times
    (replays and catching-up stations send faster than real time)."""
    return time.time_ns() // 1000


class GaitTracker:
    """The worker's stations: their live states and the ledger of what may be acknowledged.

    One instance per worker; ``track_gait`` (concurrency 1) feeds it batches, the silence timer
    and the revocation handler call it between them.
    """

    def __init__(self) -> None:
        self.live: dict[str, StationState] = {}
        # Stations whose messages are refused for their clock (the station_clock alerts).
        self.clock_faults = StationClockFaults()
        self.ledger = CheckpointLedger()
        self.stream: StreamT | None = None
        self.batch = self.ledger.begin_batch()
        # partition -> (the offset it is being read again from, when: monotonic s) (faust_adapter, item 10)
        self._rewinding: dict[tuple[str, int], tuple[int, float]] = {}
        # partition -> when it last delivered a record, or was last checked for a stall (monotonic s)
        self._last_delivery_s: dict[tuple[str, int], float] = {}
        self._last_silence_check_s: float | None = None
        # Past the session timeout the group moves a paused worker's partitions: a worker that
        # was paused for half of it writes no checkpoint until it knows (see fence.py).
        self.fence = PauseFence(
            pause_s=pipeline_settings.session_timeout_s / 2, hold_s=2 * pipeline_settings.heartbeat_interval_s
        )
        self._verifier: SignatureVerifier | None = None

    @property
    def verifier(self) -> SignatureVerifier:
        """Checks each station's signature (built at the first batch: the worker checked the
        secret at start, gaitstream.pipelines.app.check_secrets)."""
        if self._verifier is None:
            self._verifier = SignatureVerifier(SigningSettings().secret())
        return self._verifier

    # ------------------------------------------------------------ acknowledgement
    def _hold(self, station_id: str, event: EventT, samples: int = 0) -> None:
        msg = event.message
        self.ledger.hold(self.batch, station_id, event, (msg.topic, msg.partition), msg.offset, samples)

    def _release(self, event: EventT, *deliveries: asyncio.Future) -> None:
        msg = event.message
        self.ledger.release(self.batch, event, (msg.topic, msg.partition), msg.offset, deliveries)

    async def _dead(self, event: EventT, reason: str) -> None:
        self._release(event, await send_dead_letter(event, reason))

    def _watch(self, delivery: asyncio.Future) -> None:
        delivery.add_done_callback(lambda _: asyncio.ensure_future(self.acknowledge()))

    async def acknowledge(self) -> None:
        """Acknowledge what the ledger allows now (offset order per partition)."""
        if self.stream is None:
            return
        events = self.ledger.take_ackable()
        for topic, partition in {(event.message.topic, event.message.partition) for event in events}:
            forget_gaps(app, topic, partition)  # faust_adapter, item 11
        for event in events:
            await self.stream.ack(event)
        while self.ledger.failures:
            station, error = self.ledger.failures.pop(0)
            # Not stored: those events stay unacknowledged and are replayed after a restart.
            log.error(kv("checkpoint_delivery_failed", station=station, error=error))

    def revoked(self) -> None:
        """Another worker may own these stations next: drop our copies; the table is the truth."""
        self.live.clear()
        self.ledger.revoke()
        self._rewinding.clear()

    async def settled(self) -> None:
        """Wait while Faust recovers the tables after an assignment: records it delivers meanwhile
        (fetched before their partitions were paused for the recovery) would meet a checkpoint
        half replayed from the changelog. Seen in the fault campaign: a station restored at an
        older checkpoint than the committed offset's, 100 frames skipped."""
        while not tables_settled(app):
            await asyncio.sleep(0.05)

    async def fenced(self) -> None:
        """Wait while the pause fence holds writes (a revocation meanwhile interrupts the batch)."""
        if self.fence.observe(time.monotonic()):
            log.warning(kv("pause_fence", stations=len(self.live), hold_s=self.fence.hold_s))
        while self.fence.held(time.monotonic()):
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ outputs
    async def _produce(self, topic: str, station_id: str, value: bytes) -> None:
        self.ledger.output(self.batch, station_id, await produce(topic, station_id.encode(), value))

    async def _publish_alerts(self, station_id: str, alerts: list[dict]) -> None:
        for alert in alerts:
            await self._produce(ALERTS, station_id, encode("alert", alert))
            _log_alert(station_id, alert)

    async def _emit_steps(self, station_id: str, state: StationState, steps: list[StepMetrics]) -> None:
        """Publish the steps, move the rolling window, publish each status that falls due (about one
        per second of data, also when one push carries several seconds) and any alerts."""
        rolling = state.rolling
        for step in steps:
            record = state.step_record(step)
            await self._produce(STEPS, station_id, encode("step_metrics", record))
            state.steps_not_windowed += 1
            if not rolling.add(record):
                continue  # after the session's stop
            candidate = rolling.record(record["end_time_us"], lean_reference=state.engine.lean_reference)
            if rolling.due(candidate):
                await self._publish_status(station_id, state, candidate)
            await self._publish_alerts(station_id, rolling.evaluate_alerts(record))

    async def _publish_status(self, station_id: str, state: StationState, status: dict) -> None:
        # The windowed table is written when a status goes out (about once a second), not on every
        # step: each write is a changelog record.
        steps_per_window[station_id] += state.steps_not_windowed
        state.steps_not_windowed = 0
        status["steps_last_10s"] = int(steps_per_window[station_id].now())
        await self._produce(STATUS, station_id, encode("gait_status", status))

    async def _flush_trace(self, station_id: str, state: StationState) -> None:
        t_s, phi, lean = state.take_trace()
        if t_s:
            await self._produce(TRACE, station_id, encode("obliquity_trace", state.trace_record(t_s, phi, lean)))

    # ------------------------------------------------------------------ checkpoints
    def active(self, station_id: str) -> StationState | None:
        """The station's running session: live copy, else restored from its checkpoint."""
        if station_id not in self.live:
            value = station_state.get(station_id)
            if not value or value["closed"]:
                return None
            try:
                state = StationState.restore(value)
            except (KeyError, TypeError, ValueError) as exc:
                # A checkpoint from an incompatible engine version: that session cannot continue,
                # but the station must not be stuck; its next session starts afresh.
                log.error(
                    kv(
                        "checkpoint_unreadable",
                        station=station_id,
                        session=value["session"]["session_id"],
                        error=f"{type(exc).__name__}: {exc}",
                    )
                )
                return None
            state.watch.resume(_now_us())  # the checkpoint's arrival time may be another worker's
            self.live[station_id] = state
            log.info(
                kv(
                    "checkpoint_restored",
                    station=station_id,
                    session=value["session"]["session_id"],
                    last_sequence=state.last_sequence,
                    data_until_s=state.engine.last_time_s,
                )
            )
        return self.live[station_id]

    async def _checkpoint(self, station_id: str, state: StationState, *, closed: bool = False) -> None:
        """Flush the trace, store the state; the ledger acknowledges what it covers once stored."""
        await self._flush_trace(station_id, state)
        await self.fenced()
        if self.ledger.interrupted(self.batch):
            return  # the table is being recovered: leave the state to the replay
        if closed:
            station_state[station_id] = {"session": state.session, "last_sequence": state.last_sequence, "closed": True}
            self.live.pop(station_id, None)
        else:
            station_state[station_id] = state.checkpoint()
        write = station_state.last_write
        if self.ledger.checkpoint(self.batch, station_id, write):
            # acknowledged as soon as everything is stored, also when no further message comes
            # (a quiet station's offsets must still be committed)
            self._watch(write)

    def _checkpoint_samples(self, state: StationState) -> float:
        """Samples of a station's data after which its state is checkpointed (pipelines.checkpoints)."""
        return checkpoint_samples(
            state.session["session_id"],
            interval_s=pipeline_settings.checkpoint_interval_s,
            spread=pipeline_settings.checkpoint_spread,
            sampling_rate_hz=state.engine.sampling_rate_hz,
        )

    # ------------------------------------------------------------------ sessions
    async def _close(self, station_id: str, state: StationState, stop: dict) -> None:
        await self._emit_steps(station_id, state, state.finish())
        await self._publish_alerts(
            station_id, state.rolling.close(stop["time_us"]) + state.watch.close(stop["time_us"])
        )
        # The session's summary joins the patient's history (baseline of the worsening rule).
        history = lookup.next_history(
            session_history_table.get, state.session, state.rolling.summary(stop["time_us"]), state.rolling.settings
        )
        if history is not None:
            self.ledger.output(
                self.batch, station_id, await session_history_topic.send(key=history[0], value=history[1])
            )
        await self._produce(STEPS, station_id, encode("session_event", stop))
        await self._checkpoint(station_id, state, closed=True)
        log.info(kv("session_stop", station=station_id, session=state.session["session_id"]))

    async def on_session_event(self, event: EventT, record: dict) -> None:
        station_id = record["station_id"]
        stored = station_state.get(station_id)
        state = self.active(station_id)
        if record["event"] == "start":
            if stored and stored["session"]["session_id"] == record["session_id"]:
                self._release(event)  # a replayed start: this session already runs (or ran)
                return
            if state is not None:  # a new session without a stop: end the old one first
                await self._close(station_id, state, {**state.session, "event": "stop", "time_us": record["time_us"]})
            settings = lookup.session_settings(alert_settings_table.get, record)
            state = self.live[station_id] = StationState.start(
                record,
                settings=settings,
                baseline=lookup.session_baseline(session_history_table.get, record, settings),
                now_us=_now_us(),
            )
            await self._produce(STEPS, station_id, encode("session_event", record))
            self._hold(station_id, event)
            await self._checkpoint(station_id, state)
            log.info(
                kv(
                    "session_start",
                    station=station_id,
                    session=record["session_id"],
                    clinic=record["clinic_id"],
                    patient=record["patient_id"],
                    trunk=record["trunk_present"],
                )
            )
        elif state is not None and state.session["session_id"] == record["session_id"]:
            self._hold(station_id, event)
            await self._close(station_id, state, record)
        else:
            self._release(event)  # a replayed stop, or the stop of a session never started

    # ------------------------------------------------------------------ frames
    @staticmethod
    def _accept(
        station_id: str, state: StationState | None, frame: dict, last_sequence: int
    ) -> tuple[str, EngineInput | str | None]:
        """Judge one frame: ("push", engine input), ("dead", reason) or ("skip", None) (a replay)."""
        if state is None or state.session["session_id"] != frame["session_id"]:
            stored = station_state.get(station_id)
            replay = (
                stored
                and stored["closed"]
                and stored["session"]["session_id"] == frame["session_id"]
                and frame["sequence"] <= stored["last_sequence"]
            )
            return (
                ("skip", None)
                if replay
                else ("dead", f"no active session {frame['session_id']} on station {station_id}")
            )
        if frame["sequence"] <= last_sequence:
            return "skip", None  # already inside the restored checkpoint
        try:
            return "push", engine_input(
                frame,
                session_start_us=state.session["time_us"],
                sampling_rate_hz=state.engine.sampling_rate_hz,
                trunk=state.session["trunk_present"],
            )
        except FrameError as exc:
            return "dead", exc.reason

    async def on_frames(self, station_id: str, frames: list[tuple[EventT, dict]]) -> None:
        """Consecutive frames of one station: validated one by one, pushed to its engine at once."""
        state = self.active(station_id)
        accepted: list[Frame] = []
        last_sequence = -1 if state is None else state.last_sequence
        last_time_s = None if state is None else state.engine.last_time_s
        for event, frame in frames:
            verdict, data = self._accept(station_id, state, frame, last_sequence)
            if verdict == "push" and last_time_s is not None and data.time_s[0] <= last_time_s:
                # the engine would drop these samples one by one; the frame is wrong as a whole
                verdict, data = (
                    "dead",
                    (
                        f"time goes backwards: first sample at {data.time_s[0]:.3f} s of the "
                        f"session, not after the previous frame's last ({last_time_s:.3f} s)"
                    ),
                )
            if verdict == "push":
                accepted.append((event, frame, data))
                last_sequence = frame["sequence"]
                last_time_s = float(data.time_s[-1])
            elif verdict == "dead":
                await self._dead(event, data)
            else:
                self._release(event)
        if not accepted:
            return
        # Pushed in runs that end where a checkpoint falls due, so that checkpoints come after every
        # checkpoint_interval_s of a station's data whatever the batching (the same frames are
        # acknowledged together as frame by frame).
        threshold = self._checkpoint_samples(state)
        run: list[Frame] = []
        held = self.ledger.held_samples(station_id)
        for item in accepted:
            run.append(item)
            held += len(item[2].time_s)
            if held >= threshold:
                await self._push_run(station_id, state, run)
                run, held = [], 0
        if run:
            await self._push_run(station_id, state, run)

    async def _push(self, state: StationState, accepted: list[Frame]) -> tuple[list[StepMetrics], list[Frame]]:
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
                await self._dead(item[0], str(exc))
        return steps, pushed

    async def _push_run(self, station_id: str, state: StationState, run: list[Frame]) -> None:
        try:
            steps, run = await self._push(state, run)
        except ValueError as exc:
            await self._dead(run[0][0], str(exc))
            return
        await self._emit_steps(station_id, state, steps)
        now_us = _now_us()
        for event, frame, data in run:
            await self._publish_alerts(
                station_id,
                state.watch.on_frame(
                    data.by_location(),
                    sequence=frame["sequence"],
                    first_sample_time_us=frame["first_sample_time_us"],
                    sampling_rate_hz=frame["sampling_rate_hz"],
                    now_us=now_us,
                ),
            )
            state.last_sequence = frame["sequence"]
            self._hold(station_id, event, len(data.time_s))
        if self.ledger.held_samples(station_id) >= self._checkpoint_samples(state):
            await self._checkpoint(station_id, state)
        elif state.trace_t_s and len(state.trace_t_s) >= TRACE_RATE_HZ * _trace_interval_s(state):
            # The drill-down trace goes out more often than checkpoints; a replay after a crash
            # produces the same points again (same timestamps), which InfluxDB overwrites.
            await self._flush_trace(station_id, state)

    # ------------------------------------------------------------------ batches
    async def _contiguous(self, events: list[EventT]) -> list[EventT]:
        """The events that continue each partition without a hole, in offset order.

        Per partition the next offset is one past the last recorded, or after a rebalance the
        committed offset. Events below it were already seen (delivered again: dropped). An event
        above it means Faust dropped the one expected (faust_adapter, item 10): nothing past the
        hole is processed, and the partition is read again from the hole.
        """
        by_partition: dict[tuple[str, int], list[EventT]] = {}
        for event in events:
            if not is_stale(app, event):  # taken before a rebalance: the partition's owner replays it
                by_partition.setdefault((event.message.topic, event.message.partition), []).append(event)
        now_s = time.monotonic()
        for key in by_partition:
            self._last_delivery_s[key] = now_s
        out = []
        for (topic, partition), items in by_partition.items():
            expected = self.ledger.next_offset((topic, partition))
            if expected is None:
                expected = committed_offset(app, topic, partition)
            by_offset = {event.message.offset: event for event in items}
            run, missing = contiguous_run(list(by_offset), expected)
            out += [by_offset[offset] for offset in run]
            now_s = time.monotonic()
            last = self._rewinding.get((topic, partition))
            if missing is None:
                self._rewinding.pop((topic, partition), None)
            elif last is None or last[0] != missing or now_s - last[1] > REWIND_RETRY_S:
                self._rewinding[(topic, partition)] = (missing, now_s)
                log.warning(
                    kv(
                        "partition_rewound",
                        topic=topic,
                        partition=partition,
                        missing=missing,
                        received=min(o for o in by_offset if o > missing),
                    )
                )
                await rewind(app, topic, partition, missing)
        return out

    async def on_batch(self, events: list[EventT]) -> None:
        """One batch: decoded, grouped by station, each station's events in order."""
        await self.fenced()
        await self.settled()
        self.batch = self.ledger.begin_batch()
        by_station: dict[str, list[tuple[EventT, str, dict]]] = {}
        for event in await self._contiguous(events):
            try:
                check_message_size(len(event.message.value or b""))
                self.verifier.verify(event.message.key, event.message.value, event.message.headers)
                kind, record = decode(event.message.value, expect=("imu_frame", "session_event"))
                if (event.message.key or b"").decode(errors="replace") != record["station_id"]:
                    raise WireError("message key must equal station_id")
                if kind == "session_event" and record["event"] == "start":
                    check_session_rate(record["sampling_rate_hz"])
            except (WireError, FrameError, SignatureError) as exc:
                with current_event(event):
                    await self._dead(event, exc.reason)
                continue
            if not await self._clock_right(event, kind, record):
                continue
            by_station.setdefault(record["station_id"], []).append((event, kind, record))
        for station_id, items in by_station.items():
            if self.ledger.interrupted(self.batch):
                break  # revoked: the rest of the batch is replayed by the partitions' owners
            with current_event(items[0][0]):  # one key, one partition
                await self._on_station(station_id, items)
        if self.ledger.interrupted(self.batch):
            # What the batch left after the revocation (live states) is stale: the recovered
            # table is the truth again. Sessions adopted meanwhile are kept.
            for station_id in by_station:
                self.live.pop(station_id, None)
        await self.acknowledge()

    async def _clock_right(self, event: EventT, kind: str, record: dict) -> bool:
        """Whether the station's clock agrees with Kafka's record time; a message whose does not
        is dead-lettered with the reason and the station's ``station_clock`` alert opens."""
        sample_time_us = record["first_sample_time_us"] if kind == "imu_frame" else record["time_us"]
        record_time_us = round(event.message.timestamp * 1e6)
        problem = clock_problem(sample_time_us, record_time_us, pipeline_settings.station_clock_tolerance_s)
        station_id = record["station_id"]
        alerts = (
            self.clock_faults.accepted(station_id, time_us=_now_us())
            if problem is None
            else self.clock_faults.refused(record, problem, time_us=_now_us(), sequence=record.get("sequence"))
        )
        deliveries = []
        for alert in alerts:
            deliveries.append(await produce(ALERTS, station_id.encode(), encode("alert", alert)))
            _log_alert(station_id, alert)
        if problem is None:
            for delivery in deliveries:  # acknowledged with the station's next checkpoint
                self.ledger.output(self.batch, station_id, delivery)
            return True
        with current_event(event):
            self._release(event, await send_dead_letter(event, problem), *deliveries)
        return False

    async def _on_station(self, station_id: str, items: list[tuple[EventT, str, dict]]) -> None:
        """One station's events of a batch, in order: runs of frames between session events."""
        run: list[tuple[EventT, dict]] = []
        for event, kind, record in [*items, (None, "end", None)]:
            if kind == "imu_frame":
                run.append((event, record))
                continue
            if run:
                await self._guarded(self.on_frames(station_id, run), [e for e, _ in run], "imu_frame", station_id)
                run = []
            if kind == "session_event":
                await self._guarded(self.on_session_event(event, record), [event], kind, station_id)

    async def _guarded(self, work, events: list[EventT], kind: str, station_id: str) -> None:
        """A bug must cost these messages, never the agent (it would crash-loop): those not yet
        processed go to the dead-letter topic (the processed ones are acknowledged with the
        station's next checkpoint)."""
        try:
            await work
        except Exception as exc:
            log.exception(kv("frame_failed", station=station_id, kind=kind, messages=len(events)))
            for event in events:
                msg = event.message
                if not self.ledger.knows((msg.topic, msg.partition), msg.offset):
                    await self._dead(event, f"internal error: {type(exc).__name__}: {exc}")

    async def check_stalls(self) -> None:
        """Read again an owned partition that delivered nothing for STALL_CHECK_S while the broker
        holds records past the next offset the agent needs (faust_adapter, item 13)."""
        if not tables_settled(app):
            return
        now_s = time.monotonic()
        topic = topic_settings.stations
        for partition in range(topic_settings.partitions):
            key = (topic, partition)
            if not owns_partition(app, topic, partition):
                self._last_delivery_s.pop(key, None)
                continue
            if now_s - self._last_delivery_s.setdefault(key, now_s) < STALL_CHECK_S:
                continue
            self._last_delivery_s[key] = now_s
            expected = self.ledger.next_offset(key)
            if expected is None:
                expected = committed_offset(app, topic, partition)
            try:
                end = await end_offset(app, topic, partition)
            except Exception as exc:  # the broker is unreachable: the next check asks again
                log.warning(kv("end_offset_failed", topic=topic, partition=partition, error=repr(exc)))
                return
            if stalled(expected, end):
                log.warning(kv("partition_stalled", topic=topic, partition=partition, expected=expected, end=end))
                await rewind(app, topic, partition, expected)

    # ------------------------------------------------------------------ silence
    def adopt_open_sessions(self) -> None:
        """Load the open sessions of owned stations that sent nothing since this worker got them (a
        restart or a rebalance while the station was quiet), so that their silence is noticed.

        Only between rebalances and once the tables are recovered: the table value is then the one
        the agent itself would load at the station's next frame.
        """
        if not tables_settled(app):
            return
        partitions = list(range(topic_settings.partitions))
        for station_id, value in list(station_state.items()):
            if (
                value
                and not value["closed"]
                and station_id not in self.live
                and owns_partition(app, topic_settings.stations, default_partition(station_id.encode(), partitions))
            ):
                if self.active(station_id) is not None:
                    log.info(kv("session_adopted", station=station_id, session=value["session"]["session_id"]))

    async def check_silence(self) -> None:
        """Station silence over the open sessions this worker owns (the rule's state is checkpointed
        with the station's next frame; a repeated open after a crash carries the same id). These
        alerts answer no input: nothing waits for them."""
        now_s = time.monotonic()
        paused = worker_was_paused(
            self._last_silence_check_s,
            now_s,
            interval_s=SILENCE_CHECK_INTERVAL_S,
            grace_s=pipeline_settings.session_timeout_s / 2,
        )
        self._last_silence_check_s = now_s
        now_us = _now_us()
        if paused:
            # This worker was stopped, not the stations: count their silence from now. If the
            # pause outlasted the session timeout, their partitions are being moved and the
            # revocation drops them here; no alert is raised for them meanwhile.
            log.warning(kv("worker_paused", stations=len(self.live)))
            for state in self.live.values():
                state.watch.resume(now_us)
            return
        self.adopt_open_sessions()
        for station_id, state in list(self.live.items()):
            for alert in state.watch.check_silence(now_us):
                await produce(ALERTS, station_id.encode(), encode("alert", alert))
                _log_alert(station_id, alert)


tracker = GaitTracker()


@app.on_partitions_revoked.connect
async def forget_live_state(app, revoked, **kwargs) -> None:
    tracker.revoked()


@app.on_partitions_assigned.connect
async def release_fence(app, assigned, **kwargs) -> None:
    tracker.fence.release()


@app.timer(interval=SILENCE_CHECK_INTERVAL_S)
async def check_stalled_partitions() -> None:
    await tracker.check_stalls()


@app.timer(interval=FENCE_TICK_S)
async def tick_fence() -> None:
    if tracker.fence.observe(time.monotonic()):
        log.warning(kv("pause_fence", stations=len(tracker.live), hold_s=tracker.fence.hold_s))


@app.timer(interval=SILENCE_CHECK_INTERVAL_S)
async def check_silent_stations() -> None:
    await tracker.check_silence()


@app.agent(stations_topic, concurrency=1)
async def track_gait(stream):
    """Frames and session events of every station (key = station id), in order per station.

    Taken in batches (``frame_batch_max`` / ``frame_batch_within_s``) and grouped by station, so
    that a station's consecutive frames make one engine push; stations are independent.
    """
    manual = stream.noack()
    tracker.stream = manual
    async for events in manual.noack_take(
        pipeline_settings.frame_batch_max, within=pipeline_settings.frame_batch_within_s
    ):
        await tracker.on_batch(events)
