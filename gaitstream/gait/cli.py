"""``gaitstream analyze``: the offline analyzer command (GAIT_SPEC.md "Analyzer output").

JSON goes to stdout only; progress and ``key=value`` logs go to stderr. A file
that cannot be analysed gets one message naming the file and the problem, and
exit code 2.

Importing this module stays cheap (typer, rich, pydantic): the ``gaitstream``
CLI imports it at start-up, so the analysis stack (numpy, scipy, imufusion via
``offline``/``recording``) is imported inside :func:`analyze` only; scipy's
signal package alone costs ~1 s.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gaitstream.gait.config import DEFAULT_AXES, AccUnit, GaitConfig, GyrUnit
from gaitstream.gait.exceptions import GaitError
from gaitstream.logging import kv

EXIT_BAD_INPUT = 2


def _cell(value) -> str:
    return "-" if value is None else str(value)


def _print_table(result: dict, console: Console) -> None:
    rec, cal, summary = result["recording"], result["calibration"], result["summary"]
    console.print(
        f"recording: {rec['duration_s']} s at {rec['sampling_rate_hz']} Hz, trunk sensor: {rec['trunk']}, "
        f"corrupt samples removed: {rec['rejected_samples']} {rec['rejected_by_reason'] or ''}"
    )
    console.print(
        f"calibration: {cal['method']}, mounting (deg) {cal['mounting_deg']}; obliquity relative to the "
        f"{_cell(cal.get('obliquity_reference'))}, trunk lean to the {_cell(cal.get('trunk_lean_reference'))}"
    )
    table = Table(title="per side (steady steps)")
    for column in ("side", "steps", "pelvic drop median (deg)", "pelvic drop p90 (deg)", "trunk lean median (deg)"):
        table.add_column(column)
    for side in ("left", "right"):
        s = summary[side]
        table.add_row(
            side,
            str(s["steps"]),
            _cell(s["pelvic_drop_deg_median"]),
            _cell(s["pelvic_drop_deg_p90"]),
            _cell(s["trunk_lean_deg_median"]),
        )
    console.print(table)
    for key in ("pelvic_drop_asymmetry_deg", "cadence_spm", "stride_time_s", "step_time_asymmetry_pct"):
        console.print(f"{key}: {_cell(summary[key])}")
    flags = summary.get("classification_flags") or []
    console.print(
        f"classification: [bold]{summary['classification']}[/bold]"
        + (f" (flagged: {', '.join(flags)})" if flags else "")
    )
    steps = Table(title="steps")
    for column in ("side", "start_s", "end_s", "duration_s", "pelvic_drop_deg", "trunk_lean_deg"):
        steps.add_column(column)
    for step in result["steps"]:
        steps.add_row(
            *(_cell(step[c]) for c in ("side", "start_s", "end_s", "duration_s", "pelvic_drop_deg", "trunk_lean_deg"))
        )
    console.print(steps)


def analyze(
    recording: Annotated[Path, typer.Argument(help="recording CSV (GAIT_SPEC.md 'Recording CSV')")],
    format: Annotated[str, typer.Option("--format", help="json (stdout) or table")] = "json",
    trace: Annotated[bool, typer.Option("--trace", help="include the obliquity/lean trace")] = False,
    axes: Annotated[str, typer.Option("--axes", help="sensor axes, e.g. x=up,y=right,z=forward")] = DEFAULT_AXES,
    acc_unit: Annotated[str, typer.Option("--acc-unit", help="mps2 or g")] = "mps2",
    gyr_unit: Annotated[str, typer.Option("--gyr-unit", help="dps or rads")] = "dps",
) -> None:
    """Analyse a recording: gait events, per-step pelvic drop and trunk lean, classification."""
    # heavy imports here, not at module level (see the module docstring)
    from gaitstream.gait.offline import analyze_recording
    from gaitstream.gait.recording import load_recording_csv

    err = Console(stderr=True, soft_wrap=True, highlight=False)
    if format not in ("json", "table"):
        err.print(f"--format must be one of json, table; got {format!r}")
        raise typer.Exit(EXIT_BAD_INPUT)
    if acc_unit not in AccUnit.__args__ or gyr_unit not in GyrUnit.__args__:
        err.print(f"--acc-unit must be one of {AccUnit.__args__}, --gyr-unit one of {GyrUnit.__args__}")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        config = GaitConfig(axes=axes)
    except ValueError as exc:
        err.print(f"--axes {axes!r}: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rec = load_recording_csv(recording, axes=axes, acc_unit=acc_unit, gyr_unit=gyr_unit)
            err.print(
                kv(
                    "loaded",
                    file=recording,
                    samples=len(rec.time_s),
                    sampling_rate_hz=round(rec.sampling_rate_hz, 2),
                    trunk=rec.has_trunk,
                ),
                markup=False,
            )
            result = analyze_recording(rec, config, trace=trace)
    except GaitError as exc:
        err.print(kv("error", reason=str(exc)), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    finally:
        for warning in caught:
            err.print(kv("warning", file=recording, message=str(warning.message)), markup=False)
    rejected = result["recording"]["rejected_samples"]
    if rejected:
        err.print(
            kv(
                "warning",
                file=recording,
                message="corrupt samples removed (treated as missing)",
                rejected_samples=rejected,
                reasons=",".join(f"{k}:{v}" for k, v in result["recording"]["rejected_by_reason"].items()),
            ),
            markup=False,
        )
    err.print(
        kv(
            "analyzed",
            file=recording,
            steps=len(result["steps"]),
            classification=result["summary"]["classification"],
            flags=",".join(result["summary"]["classification_flags"]) or None,
            elapsed_s=round(time.perf_counter() - started, 3),
        ),
        markup=False,
    )
    if format == "json":
        typer.echo(json.dumps(result))
    else:
        _print_table(result, Console())


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` command to the gaitstream CLI."""
    app.command("analyze")(analyze)
