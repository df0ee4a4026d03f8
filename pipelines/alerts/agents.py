"""raise_alerts: steps -> alert rules per session -> alerts topic (and, via the sink, InfluxDB).

Rule state lives in the ``alert-state`` table (station id -> session, last step index, rule
windows), so a restarted worker neither repeats nor forgets an open alert; replayed steps (same
index) are ignored.
"""

from __future__ import annotations

import logging

from gaitstream.logging import kv
from pipelines.alerts.rules import AlertSettings, SustainedDeviation
from pipelines.app import alert_state, alerts_topic, app, steps_topic
from pipelines.deadletter import send_dead_letter
from schemas.codec import WireError, decode, encode

log = logging.getLogger(__name__)

METRICS = ("pelvic_drop_deg", "trunk_lean_deg")


def _rules(value: dict, settings: AlertSettings) -> dict[str, SustainedDeviation]:
    return {metric: SustainedDeviation.from_json(value["rules"][metric], session=value["session"], metric=metric,
                                                 settings=settings) for metric in METRICS}


def _store(station_id: str, session: dict, last_index: int, rules: dict[str, SustainedDeviation], *,
           closed: bool = False) -> None:
    alert_state[station_id] = {"session": session, "last_step_index": last_index, "closed": closed,
                               "rules": {metric: rule.to_json() for metric, rule in rules.items()}}


async def _publish(station_id: str, records: list[dict]) -> None:
    for record in records:
        await alerts_topic.send(key=station_id.encode(), value=encode("alert", record))
        log.info(kv("alert", id=record["alert_id"], state=record["state"], kind=record["kind"],
                    station=station_id, side=record["side"]))


@app.agent(steps_topic, concurrency=1)
async def raise_alerts(stream):
    settings = AlertSettings()
    async for event in stream.events():
        try:
            kind, record = decode(event.message.value, expect=("step_metrics", "session_event"))
        except WireError as exc:
            await send_dead_letter(event, exc.reason)
            continue
        station_id = record["station_id"]
        stored = alert_state.get(station_id)
        same_session = bool(stored) and stored["session"]["session_id"] == record["session_id"]
        if kind == "session_event":
            if record["event"] == "start" and not same_session:
                empty = {m: SustainedDeviation(session=record, metric=m, settings=settings) for m in METRICS}
                _store(station_id, record, -1, empty)
            elif record["event"] == "stop" and same_session and not stored["closed"]:
                rules = _rules(stored, settings)
                await _publish(station_id, [a for rule in rules.values() for a in rule.close(record["time_us"])])
                _store(station_id, stored["session"], stored["last_step_index"], rules, closed=True)
            continue
        if not same_session or stored["closed"] or record["step_index"] <= stored["last_step_index"]:
            continue  # no session seen, or a replayed step
        rules = _rules(stored, settings)
        alerts = [a for rule in rules.values() for a in rule.add_step(record)]
        _store(station_id, stored["session"], record["step_index"], rules)
        await _publish(station_id, alerts)
