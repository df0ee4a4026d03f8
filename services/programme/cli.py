"""``gaitstream programme``: a therapist's client of the programme API.

- ``set CLINIC PATIENT``: save a patient's programme (a new revision; the history keeps the old).
- ``show CLINIC PATIENT``: the current programme; ``history CLINIC PATIENT``: every revision,
  oldest first; ``list CLINIC``: the clinic's patients with their current programme.

Like ``gaitstream alerts``: ``--url`` / ``GAITSTREAM_ALERTS_API_URL``, ``--api-key`` /
``GAITSTREAM_ALERTS_API_KEY``; ``--json`` prints the API's JSON; an API refusal prints its status
and detail and exits 1.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from gaitstream.clinic_api.cli_support import JsonOpt, KeyOpt, UrlOpt
from gaitstream.clinic_api.cli_support import call as _call
from gaitstream.clinic_api.cli_support import connect as _client
from gaitstream.clinic_api.cli_support import print_rows as _print_rows
from gaitstream.logging import emit

PHASES = ("activation", "strengthening", "retraining", "none")
SIDES = ("left", "right")
# The dosage fields ``--exercise ID:key=value,…`` may set (``library.Dosage``); feedback_plan
# comes last, since its own text has commas and colons.
DOSAGE_FIELDS = ("sets", "reps", "hold_s", "rest_s", "times_per_day", "days_per_week", "session_min")
PLAN_FIELD = "feedback_plan"

app = typer.Typer(help="Patients' therapy programmes: phase, exercises, feedback plan, target.")

ClinicArg = Annotated[str, typer.Argument(help="Clinic id (must be in your key's scope)")]
PatientArg = Annotated[str, typer.Argument(help="The patient's pseudonym")]


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def parse_exercise(text: str) -> dict[str, Any]:
    """``clams`` or ``clams:sets=3,reps=15`` (``…,feedback_plan=none:2m,faded:10m`` last) -> an
    exercise of the request body; what is left out is the library's dosage."""
    exercise_id, _, rest = text.strip().partition(":")
    item: dict[str, Any] = {"exercise_id": exercise_id}
    if not exercise_id:
        raise typer.BadParameter(f"expected ID[:key=value,…], got {text!r}", param_hint="--exercise")
    dosage: dict[str, Any] = {}
    while rest:
        if rest.startswith(f"{PLAN_FIELD}="):
            dosage[PLAN_FIELD] = rest.removeprefix(f"{PLAN_FIELD}=")
            break
        pair, _, rest = rest.partition(",")
        key, sep, value = pair.partition("=")
        key = key.strip()
        number = _number(value.strip())
        if not sep or key not in DOSAGE_FIELDS or number is None:
            raise typer.BadParameter(
                f"{exercise_id}: {pair!r} is not key=number with key one of {', '.join(DOSAGE_FIELDS)} "
                f"(or {PLAN_FIELD}=PLAN last)",
                param_hint="--exercise",
            )
        dosage[key] = number
    if dosage:
        item["dosage"] = dosage
    return item


def _dosage_text(dosage: dict[str, Any]) -> str:
    text = (
        f"{dosage['sets']}x{dosage['reps']}, hold {dosage['hold_s']:g} s, rest {dosage['rest_s']:g} s, "
        f"{dosage['times_per_day']}/day, {dosage['days_per_week']} days/week"
    )
    if dosage.get("session_min") is not None:
        text += f", {dosage['session_min']:g} min"
    if dosage.get("feedback_plan"):
        text += f", feedback {dosage['feedback_plan']}"
    return text


def _print_programme(programme: dict[str, Any]) -> None:
    typer.echo(
        f"{programme['clinic_id']}/{programme['patient_id']} revision {programme['revision']} "
        f"({programme['created_at']}, {programme['source']}, key {programme['author']})"
    )
    typer.echo(f"  phase: {programme['phase']}")
    typer.echo(f"  sides: {', '.join(programme['sides']) or '-'}")
    typer.echo(f"  target pelvic drop: {programme['target_pelvic_drop_deg']:g} deg")
    typer.echo(f"  feedback plan: {programme['feedback_plan'] or '-'}")
    typer.echo(f"  exercises: {len(programme['exercises']) or '-'}")
    for exercise in programme["exercises"]:
        typer.echo(f"    {exercise['exercise_id']}: {_dosage_text(exercise['dosage'])}")
    if programme.get("note"):
        typer.echo(f"  note: {programme['note']}")


def _summary_rows(programmes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**p, "exercises": [e["exercise_id"] for e in p["exercises"]], "target_deg": p["target_pelvic_drop_deg"]}
        for p in programmes
    ]


SUMMARY_COLUMNS = ["revision", "phase", "sides", "target_deg", "feedback_plan", "exercises", "source", "author"]


@app.command("set")
def set_(
    clinic: ClinicArg,
    patient: PatientArg,
    phase: Annotated[str, typer.Option(help=f"One of {', '.join(PHASES)}")],
    target_deg: Annotated[float, typer.Option("--target-deg", help="Target pelvic drop, deg (0 < x <= 15)")],
    side: Annotated[list[str] | None, typer.Option("--side", help="left or right (repeat for both)")] = None,
    plan: Annotated[
        str | None, typer.Option("--plan", help="Treadmill feedback plan, e.g. none:2m,faded:10m:from=1:to=0")
    ] = None,
    exercise: Annotated[
        list[str] | None,
        typer.Option("--exercise", help="ID or ID:sets=3,reps=15,… (the rest of the dosage: the library's); repeat"),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note with the revision (no names)")] = None,
    source: Annotated[str | None, typer.Option(help="therapist (default) or suggestion:<rule id>")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a patient's programme (the whole of it): a new revision; the old stay in the history."""
    body: dict[str, Any] = {
        "phase": phase,
        "sides": side or [],
        "target_pelvic_drop_deg": target_deg,
        "exercises": [parse_exercise(e) for e in exercise or []],
    }
    for name, value in (("feedback_plan", plan), ("note", note), ("source", source)):
        if value is not None:
            body[name] = value
    with _client(url, api_key) as client:
        saved = _call(client.set_programme, clinic, patient, body)
    if as_json:
        typer.echo(json.dumps(saved, indent=2))
        return
    emit("programme_saved", clinic=saved["clinic_id"], patient=saved["patient_id"], revision=saved["revision"])


@app.command()
def show(
    clinic: ClinicArg, patient: PatientArg, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    """The patient's current programme."""
    with _client(url, api_key) as client:
        programme = _call(client.programme, clinic, patient)
    if as_json:
        typer.echo(json.dumps(programme, indent=2))
        return
    _print_programme(programme)


@app.command()
def history(
    clinic: ClinicArg, patient: PatientArg, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    """Every revision of the patient's programme, oldest first."""
    with _client(url, api_key) as client:
        revisions = _call(client.programme_history, clinic, patient)
    if as_json:
        typer.echo(json.dumps(revisions, indent=2))
        return
    _print_rows(_summary_rows(revisions), ["created_at", *SUMMARY_COLUMNS], f"programme of {patient}", False)


@app.command("list")
def list_(clinic: ClinicArg, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """The clinic's patients with a programme, and their current revision."""
    with _client(url, api_key) as client:
        programmes = _call(client.programmes, clinic)
    if as_json:
        typer.echo(json.dumps(programmes, indent=2))
        return
    _print_rows(_summary_rows(programmes), ["patient_id", *SUMMARY_COLUMNS], f"programmes of {clinic}", False)


@app.command()
def suggestion(
    clinic: ClinicArg, patient: PatientArg, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    """What the rules propose after the patient's latest session, and the measurements behind it."""
    with _client(url, api_key) as client:
        pending = _call(client.suggestion, clinic, patient)
    if as_json:
        typer.echo(json.dumps(pending, indent=2))
        return
    proposal = pending["suggestion"]
    typer.echo(f"session {pending['session_id']}: rule {proposal['rule']}")
    typer.echo(f"proposes: {json.dumps(proposal['propose'])}")
    typer.echo(f"because: {proposal['because']}")
    for measured in proposal["measurements"]:
        typer.echo("  " + ", ".join(f"{k}={v}" for k, v in measured.items()))
    typer.echo(f"accept: gaitstream programme accept {clinic} {patient} --session {pending['session_id']}")


@app.command()
def accept(
    clinic: ClinicArg,
    patient: PatientArg,
    session: Annotated[str, typer.Option("--session", help="The session whose suggestion you read")],
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept the pending suggestion: a new revision of the programme with it applied."""
    with _client(url, api_key) as client:
        saved = _call(client.accept_suggestion, clinic, patient, session)
    if as_json:
        typer.echo(json.dumps(saved, indent=2))
        return
    emit(
        "programme_saved",
        clinic=saved["clinic_id"],
        patient=saved["patient_id"],
        revision=saved["revision"],
        source=saved["source"],
    )
