"""What the agent asks the global tables at a session's start and stop (no Faust here: the
tables are passed in as their ``get``; values are enveloped Avro bytes as on the topics).

A record that cannot be decoded is logged and treated as absent: a bad settings message must
not stop a patient's session; the rules then run on the next level's settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gaitstream.logging import kv
from gaitstream.monitor.alert_settings import AlertSettings, resolve_settings, settings_key
from gaitstream.monitor.worsening import append_history, baseline_from_history, history_key
from gaitstream.schemas.codec import WireError, decode, encode

log = logging.getLogger(__name__)

Get = Callable[[bytes], bytes | None]


def _record(get: Get, key: str, schema: str) -> dict | None:
    value = get(key.encode())
    if not value:
        return None
    try:
        return decode(value, expect=(schema,))[1]
    except WireError as exc:
        log.error(kv("unreadable_record", key=key, schema=schema, reason=exc.reason))
        return None


def session_settings(get: Get, session: dict) -> AlertSettings:
    """The resolved settings of ``session``'s patient (patient -> clinic -> default)."""
    clinic = _record(get, settings_key(session["clinic_id"]), "alert_settings")
    patient = _record(get, settings_key(session["clinic_id"], session["patient_id"]), "alert_settings")
    try:
        return resolve_settings(clinic, patient)
    except ValueError as exc:  # a combination that does not validate (e.g. patient open < clinic resolve)
        log.error(
            kv("alert_settings_invalid", clinic=session["clinic_id"], patient=session["patient_id"], error=str(exc))
        )
        try:
            return resolve_settings(clinic, None)
        except ValueError:
            return AlertSettings()


def session_baseline(get: Get, session: dict, settings: AlertSettings) -> dict[str, float]:
    """The patient's baseline per ``metric:side`` from their previous sessions."""
    history = _record(get, history_key(session["clinic_id"], session["patient_id"]), "session_history")
    return baseline_from_history(history, settings, before_session=session["session_id"])


def next_history(get: Get, session: dict, summary: dict, settings: AlertSettings) -> tuple[bytes, bytes] | None:
    """(key, value) of the patient's history with this session's ``summary`` appended; None for a
    session too short to be a baseline on either side (a test walk, an aborted start), which must
    not push a real session out of the last N."""
    if max(summary["steps_left"], summary["steps_right"]) < settings.worsening_min_steps:
        return None
    key = history_key(session["clinic_id"], session["patient_id"])
    history = append_history(_record(get, key, "session_history"), session, summary, keep=settings.baseline_sessions)
    return key.encode(), encode("session_history", history)
