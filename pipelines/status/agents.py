"""track_status: steps -> rolling status per patient session (last 20 steps per side, 10 s windows)
and the alert rules that watch the same steps (pipelines.alerts.rules).

The steps topic is keyed by station like the stations topic, so each station's steps arrive
here in order on the partition this worker owns; replayed steps (same index) are dropped. The
alert rules' state is part of the rolling-status value: one table write per step serves both.
"""

from __future__ import annotations

import logging

from gaitstream.logging import kv
from pipelines.app import alerts_topic, app, rolling_status, status_topic, steps_per_window, steps_topic
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
            or rolling.last_step_index != stored["last_step_index"] or rolling.closed != stored.get("closed", False):
        rolling = _live[station_id] = RollingStatus.from_json(stored)
    return rolling


@app.on_partitions_revoked.connect
async def forget_rolling(app, revoked, **kwargs) -> None:
    _live.clear()


async def _publish_alerts(station_id: str, alerts: list[dict]) -> None:
    for alert in alerts:
        await alerts_topic.send(key=station_id.encode(), value=encode("alert", alert))
        log.info(kv("alert", id=alert["alert_id"], state=alert["state"], kind=alert["kind"], station=station_id,
                    side=alert["side"]))


@app.agent(steps_topic, concurrency=1)
async def track_status(stream):
    async for event in stream.events():
        try:
            kind, record = decode(event.message.value, expect=("step_metrics", "session_event"))
        except WireError as exc:
            await send_dead_letter(event, exc.reason)
            continue
        station_id = record["station_id"]
        stored = rolling_status.get(station_id)
        same_session = bool(stored) and stored["session"]["session_id"] == record["session_id"]
        if kind == "session_event":
            if record["event"] == "start" and not same_session:
                rolling_status[station_id] = RollingStatus(session=record).to_json()
            elif record["event"] == "stop" and same_session and not stored.get("closed"):
                rolling = _cached(station_id, stored)
                alerts = rolling.close(record["time_us"])
                rolling_status[station_id] = rolling.to_json()
                await _publish_alerts(station_id, alerts)
            continue
        if not same_session:
            log.warning(kv("step_without_session", station=station_id, session=record["session_id"]))
            continue
        rolling = _cached(station_id, stored)
        if not rolling.add(record):
            continue  # replayed step, or a step after the stop
        steps_per_window[station_id] += 1
        status = rolling.record(record["end_time_us"])
        publish = rolling.due(status)
        alerts = rolling.evaluate_alerts(record)
        rolling_status[station_id] = rolling.to_json()
        await _publish_alerts(station_id, alerts)
        if publish:
            status["steps_last_10s"] = int(steps_per_window[station_id].now())
            await status_topic.send(key=station_id.encode(), value=encode("gait_status", status))
