"""``gaitstream simulate``: write a simulated recording CSV and its truth JSON."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from gaitstream.simulate.config import DEFAULT_AXES
from gaitstream.simulate.patterns import PATTERNS, pattern_config

#: Sessions at least this long (s) show a progress bar on stderr.
PROGRESS_MIN_DURATION_S = 120.0


def _parse_mounting(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise typer.BadParameter(f"--mounting must be roll,pitch,yaw in degrees (e.g. 0,30,-5), got {text!r}")
    return values  # type: ignore[return-value]


def simulate(
    out: Path = typer.Option(..., "--out", help="Recording CSV to write (GAIT_SPEC.md contract)."),
    truth: Path = typer.Option(..., "--truth", help="Truth JSON to write (analyzer JSON shape)."),
    pattern: str = typer.Option("normal", "--pattern", help="Preset: " + ", ".join(PATTERNS)),
    duration_s: float = typer.Option(60.0, "--duration-s", help="Session length (s)."),
    standing_s: float = typer.Option(5.0, "--standing-s", help="Quiet standing at the start (s)."),
    sampling_rate_hz: float = typer.Option(100.0, "--sampling-rate-hz", help="60-200 Hz."),
    cadence_spm: float = typer.Option(105.0, "--cadence-spm", help="Steps per minute."),
    cadence_cv_pct: float = typer.Option(1.5, "--cadence-cv-pct", help="Step-to-step time jitter (% SD)."),
    step_asymmetry_pct: float = typer.Option(0.0, "--step-asymmetry-pct", help="> 0: left steps longer."),
    drop_left_deg: Optional[float] = typer.Option(
        None, "--drop-left-deg", help="Pelvic drop of left steps (overrides the pattern)."
    ),
    drop_right_deg: Optional[float] = typer.Option(None, "--drop-right-deg", help="Pelvic drop of right steps."),
    lean_left_deg: Optional[float] = typer.Option(
        None, "--lean-left-deg", help="Trunk lean toward the left stance limb."
    ),
    lean_right_deg: Optional[float] = typer.Option(
        None, "--lean-right-deg", help="Trunk lean toward the right stance limb."
    ),
    no_trunk: bool = typer.Option(False, "--no-trunk", help="No trunk sensor."),
    mounting: str = typer.Option("0,0,0", "--mounting", help="Pelvis sensor residual mounting roll,pitch,yaw (deg)."),
    axes: str = typer.Option(DEFAULT_AXES, "--axes", help="Sensor axes in body directions."),
    acc_noise_mps2: float = typer.Option(0.05, "--acc-noise-mps2", help="Accelerometer white noise SD."),
    gyr_noise_dps: float = typer.Option(0.3, "--gyr-noise-dps", help="Gyroscope white noise SD."),
    gyr_bias_dps: float = typer.Option(0.0, "--gyr-bias-dps", help="Bound of the constant per-axis gyro bias."),
    heel_strike_acc_mps2: float = typer.Option(
        3.0, "--heel-strike-acc-mps2", help="Heel-strike transient peak (0 = none)."
    ),
    step_variability_pct: float = typer.Option(
        8.0, "--step-variability-pct", help="Step-to-step SD of acceleration size (%)."
    ),
    sway_deg: float = typer.Option(0.3, "--sway-deg", help="Slow orientation wander scale (deg; 0 = none)."),
    packet_loss_pct: float = typer.Option(
        0.0, "--packet-loss-pct", help="Share of samples lost in 1-5 sample bursts (gaps)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same files)."),
    truth_trace: bool = typer.Option(False, "--truth-trace", help="Add the per-sample true angles to the truth JSON."),
) -> None:
    """Simulate treadmill walking after quiet standing, with ground truth."""
    from rich.console import Console
    from rich.progress import Progress

    from gaitstream.logging import emit

    overrides: dict[str, object] = {}
    for name, value in (
        ("pelvic_drop_left_deg", drop_left_deg),
        ("pelvic_drop_right_deg", drop_right_deg),
        ("trunk_lean_left_deg", lean_left_deg),
        ("trunk_lean_right_deg", lean_right_deg),
    ):
        if value is not None:
            overrides[name] = value
    try:
        config = pattern_config(
            pattern,
            trunk=not no_trunk,
            duration_s=duration_s,
            standing_s=standing_s,
            sampling_rate_hz=sampling_rate_hz,
            cadence_spm=cadence_spm,
            cadence_cv_pct=cadence_cv_pct,
            step_time_asymmetry_pct=step_asymmetry_pct,
            mounting_deg=_parse_mounting(mounting),
            axes=axes,
            acc_noise_mps2=acc_noise_mps2,
            gyr_noise_dps=gyr_noise_dps,
            gyr_bias_dps=gyr_bias_dps,
            heel_strike_acc_mps2=heel_strike_acc_mps2,
            step_variability_pct=step_variability_pct,
            sway_deg=sway_deg,
            packet_loss_pct=packet_loss_pct,
            seed=seed,
            **overrides,
        )
        if no_trunk and (lean_left_deg is not None or lean_right_deg is not None):
            raise ValueError("--lean-left-deg/--lean-right-deg need a trunk sensor; drop --no-trunk")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    started = time.perf_counter()
    from gaitstream.simulate.session import simulate_session  # the rendering stack, only when used

    if duration_s >= PROGRESS_MIN_DURATION_S:
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("simulating", total=config.n_samples)
            session = simulate_session(config, on_progress=lambda done, total: progress.update(task, completed=done))
    else:
        session = simulate_session(config)
    session.write_recording_csv(out)
    session.write_truth_json(truth, include_trace=truth_trace)
    summary = session.truth["summary"]
    emit(
        "simulated",
        out=out,
        truth=truth,
        samples=config.n_samples,
        steps=len(session.truth["steps"]),
        classification=summary["classification"],
        elapsed_s=round(time.perf_counter() - started, 2),
    )


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to the ``gaitstream`` command tree."""
    app.command("simulate")(simulate)
