"""track_status: steps -> rolling status per patient session (last 20 steps per side, 10 s windows).

The steps topic is keyed by station like the stations topic, so each station's steps arrive
here in order on the partition this worker owns; replayed steps (same index) are dropped.
"""

from __future__ import annotations

import logging

from gaitstream.logging import kv
from pipelines.app import app, rolling_status, status_topic, steps_per_window, steps_topic
from pipelines.deadletter import send_dead_letter
from pipelines.status.rolling import RollingStatus
from schemas.codec import WireError, decode, encode

log = logging.getLogger(__name__)


# The live RollingStatus per station (the table holds its JSON for recovery): rebuilding it,
# and its GaitConfig, from JSON on every step cost more than the status itself.
_live: dict[str, RollingStatus] = {}


def _cached(station_id: str, stored: dict) -> RollingStatus:
    rolling = _live.get(station_id)
    if rolling is None or rolling.session["session_id"] != stored["session"]["session_id"] \
            or rolling.last_step_index != stored["last_step_index"]:
        rolling = _live[station_id] = RollingStatus.from_json(stored)
    return rolling


@app.on_partitions_revoked.connect
async def forget_rolling(app, revoked, **kwargs) -> None:
    _live.clear()


@app.agent(steps_topic, concurrency=1)
async def track_status(stream):
    async for event in stream.events():
        try:
            kind, record = decode(event.message.value, expect=("step_metrics", "session_event"))
        except WireError as exc:
            await send_dead_letter(event, exc.reason)
            continue
        station_id = record["station_id"]
        if kind == "session_event":
            if record["event"] == "start":
                current = rolling_status.get(station_id)
                if not current or current["session"]["session_id"] != record["session_id"]:
                    rolling_status[station_id] = RollingStatus(session=record).to_json()
            continue
        stored = rolling_status.get(station_id)
        if not stored or stored["session"]["session_id"] != record["session_id"]:
            log.warning(kv("step_without_session", station=station_id, session=record["session_id"]))
            continue
        rolling = _cached(station_id, stored)
        if not rolling.add(record):
            continue  # replayed step
        steps_per_window[station_id] += 1
        status = rolling.record(record["end_time_us"])
        publish = rolling.due(status)
        rolling_status[station_id] = rolling.to_json()
        if publish:
            status["steps_last_10s"] = int(steps_per_window[station_id].now())
            await status_topic.send(key=station_id.encode(), value=encode("gait_status", status))
