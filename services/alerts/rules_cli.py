"""``gaitstream alerts settings``: the pipeline's alert-rule settings, per clinic and per patient.

``set`` changes only the fields given (``--unset`` returns one to "inherit") and publishes the
whole record to the compacted settings topic; the workers' GlobalTable picks it up, and it
applies from each patient's next session start. ``show`` prints the records, or the settings a
patient's sessions get and where each value comes from.
"""

from __future__ import annotations

import inspect
import json
import time
from typing import Annotated

import typer

from gaitstream.logging import emit
from gaitstream.monitor.alert_settings import (
    OVERRIDABLE,
    AlertSettings,
    resolve_settings,
    settings_key,
    settings_record,
)

_HELP = {name: f"{name.replace('_', ' ')} (default {getattr(AlertSettings(), name)!r})" for name in OVERRIDABLE}
_TYPES = {f: t for f, t in AlertSettings.__annotations__.items() if f in OVERRIDABLE}
_PY = {"int": int, "float": float, "str | None": str}


def _clients():
    from gaitstream.settings import KafkaSettings, TopicSettings
    from gaitstream.topics import ensure_alert_topics

    kafka, topics = KafkaSettings(), TopicSettings()
    ensure_alert_topics(kafka, topics)
    return kafka, topics


def _records(kafka, topics) -> dict[str, dict]:
    from gaitstream.schemas.codec import WireError, decode
    from gaitstream.topics import read_latest

    out = {}
    for key, value in read_latest(kafka, topics.alert_settings).items():
        try:
            out[key] = decode(value, expect=("alert_settings",))[1]
        except WireError as exc:
            emit("alert_settings_unreadable", key=key, reason=exc.reason)
    return out


def _set(clinic: str, patient: str | None, severity: list[str], unset: list[str], **values) -> None:
    from gaitstream.schemas.codec import encode
    from gaitstream.topics import write

    kafka, topics = _clients()
    key = settings_key(clinic, patient)
    records = _records(kafka, topics)
    current = records.get(key) or {}
    merged = {name: current.get(name) for name in OVERRIDABLE}
    merged.update({name: value for name, value in values.items() if value is not None})
    severities = dict(current.get("severities") or {})
    for item in severity:
        kind, sep, level = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--severity takes KIND=LEVEL, got {item!r}")
        severities[kind.strip()] = level.strip()
    for name in unset:
        if name == "severities":
            severities = {}
        elif name not in OVERRIDABLE:
            raise typer.BadParameter(f"--unset {name!r}: valid are {', '.join(OVERRIDABLE)}, severities")
        else:
            merged[name] = None
    try:
        record = settings_record(
            clinic, patient, updated_us=time.time_ns() // 1000, severities=severities or None, **merged
        )
        clinic_record = record if patient is None else records.get(settings_key(clinic))
        effective = resolve_settings(clinic_record, record if patient is not None else None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    write(kafka, topics.alert_settings, key, encode("alert_settings", record))
    emit(
        "alert_settings_published",
        key=key,
        topic=topics.alert_settings,
        set=",".join(n for n in OVERRIDABLE if record[n] is not None) or "-",
    )
    typer.echo(json.dumps({"key": key, "record": record, "effective": effective.to_json()}, indent=2))


def _set_command():
    """Build ``set`` with one option per setting (their names and defaults live in AlertSettings)."""
    params = [
        inspect.Parameter(
            "clinic", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, typer.Option(help="Clinic id")]
        ),
        inspect.Parameter(
            "patient",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[str | None, typer.Option(help="Patient pseudonym (else clinic-wide)")],
        ),
        inspect.Parameter(
            "severity",
            inspect.Parameter.KEYWORD_ONLY,
            default=[],
            annotation=Annotated[list[str], typer.Option(help="KIND=info|warning|critical")],
        ),
        inspect.Parameter(
            "unset",
            inspect.Parameter.KEYWORD_ONLY,
            default=[],
            annotation=Annotated[list[str], typer.Option(help="Field to return to inherit")],
        ),
    ]
    for name in OVERRIDABLE:
        py = _PY[str(_TYPES[name]) if not isinstance(_TYPES[name], type) else _TYPES[name].__name__]
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[py | None, typer.Option(help=_HELP[name])],
            )
        )

    def set_(**kwargs) -> None:
        _set(kwargs.pop("clinic"), kwargs.pop("patient"), kwargs.pop("severity"), kwargs.pop("unset"), **kwargs)

    set_.__signature__ = inspect.Signature(params)
    set_.__doc__ = "Set a clinic's alert-rule settings, or one patient's overrides (only the fields given)."
    return set_


def show(
    clinic: Annotated[
        str | None, typer.Option(help="Clinic id: print its (or its patient's) effective settings")
    ] = None,
    patient: Annotated[str | None, typer.Option(help="Patient pseudonym (with --clinic)")] = None,
) -> None:
    """Print the settings records, or the effective settings of a clinic or patient and their sources."""
    kafka, topics = _clients()
    records = _records(kafka, topics)
    if clinic is None:
        typer.echo(
            json.dumps(
                {key: {k: v for k, v in rec.items() if v is not None} for key, rec in sorted(records.items())}, indent=2
            )
        )
        return
    clinic_rec = records.get(settings_key(clinic))
    patient_rec = records.get(settings_key(clinic, patient)) if patient else None
    effective = resolve_settings(clinic_rec, patient_rec)
    sources = {}
    for name in OVERRIDABLE:
        sources[name] = (
            "patient"
            if patient_rec and patient_rec.get(name) is not None
            else "clinic"
            if clinic_rec and clinic_rec.get(name) is not None
            else "default"
        )
    typer.echo(json.dumps({"effective": effective.to_json(), "source": sources}, indent=2))


def register(app: typer.Typer) -> None:
    """Add ``settings set`` and ``settings show`` to the ``alerts`` command group."""
    settings = typer.Typer(
        help="Alert-rule settings of the pipeline: clinic defaults, per-patient overrides.", no_args_is_help=True
    )
    settings.command("set")(_set_command())
    settings.command("show")(show)
    app.add_typer(settings, name="settings")
