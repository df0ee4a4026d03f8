"""The report's plots (matplotlib's object API: no pyplot state, no display, safe in threads):
per-step pelvic drop over the session, its distribution per side, and the patient's progress.
Left and right differ by marker and line style as well as colour."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from matplotlib.figure import Figure

from gaitstream.services.report.content import ReportContext
from gaitstream.services.report.figures import SIDES

STYLE = {
    "left": {"color": "#1f77b4", "marker": "o", "linestyle": "-"},
    "right": {"color": "#d62728", "marker": "^", "linestyle": "--"},
}
# A4 portrait in inches
PAGE_IN = (8.27, 11.69)


# The line through the per-step dots: the running median of this many steps of a side.
RUNNING_MEDIAN_STEPS = 21


def _limits(ax, ctx: ReportContext, *, vertical: bool = False) -> None:
    f = ctx.figures
    line = ax.axvline if vertical else ax.axhline
    line(f.normal_pelvic_drop_deg, color="0.4", linestyle=":", linewidth=1, label="normal < 5°")
    if f.target_pelvic_drop_deg is not None:
        line(f.target_pelvic_drop_deg, color="#2ca02c", linestyle="-.", linewidth=1, label="target")


def running_median(values: list[float], window: int = RUNNING_MEDIAN_STEPS) -> list[float]:
    """Centred running median (shorter windows at the ends)."""
    import numpy as np

    half = window // 2
    arr = np.asarray(values, dtype=float)
    return [float(np.median(arr[max(0, i - half) : i + half + 1])) for i in range(len(arr))]


def steps_figure(ctx: ReportContext) -> Figure:
    """Per-step pelvic drop over the session (minutes from its start), blocks shaded and named."""
    fig = Figure(figsize=PAGE_IN)
    ax_steps, ax_hist = fig.subplots(2, 1)
    start_us = ctx.figures.started_us
    for i, block in enumerate(ctx.figures.blocks):
        x0, x1 = (block.start_us - start_us) / 60e6, (block.end_us - start_us) / 60e6
        ax_steps.axvspan(x0, x1, color="0.92" if i % 2 else "0.85", zorder=0)
        ax_steps.text((x0 + x1) / 2, 1.01, block.schedule, transform=ax_steps.get_xaxis_transform(), ha="center")
    for side in SIDES:
        steps = sorted((s for s in ctx.record.steps if s.side == side), key=lambda s: s.time_us)
        minutes = [(s.time_us - start_us) / 60e6 for s in steps]
        values = [s.pelvic_drop_deg for s in steps]
        style = STYLE[side]
        ax_steps.plot(
            minutes,
            values,
            linestyle="none",
            marker=style["marker"],
            markersize=2,
            alpha=0.45,
            color=style["color"],
            label=f"{side} ({len(steps)} steps)",
        )
        if steps:
            ax_steps.plot(
                minutes,
                running_median(values),
                linestyle=style["linestyle"],
                color=style["color"],
                linewidth=1.5,
                label=f"{side}, running median of {RUNNING_MEDIAN_STEPS}",
            )
    _limits(ax_steps, ctx)
    ax_steps.set_xlabel("minutes from the session's start")
    ax_steps.set_ylabel("pelvic drop (deg)")
    ax_steps.set_title("Pelvic drop of every step", pad=18)
    ax_steps.legend(loc="upper right", fontsize=8)
    for side in SIDES:
        values = [s.pelvic_drop_deg for s in ctx.record.steps if s.side == side]
        if values:
            ax_hist.hist(
                values,
                bins=30,
                histtype="step",
                linewidth=1.5,
                color=STYLE[side]["color"],
                linestyle=STYLE[side]["linestyle"],
                label=side,
            )
    _limits(ax_hist, ctx, vertical=True)
    ax_hist.set_xlabel("pelvic drop (deg)")
    ax_hist.set_ylabel("steps")
    ax_hist.set_title("Distribution per side")
    ax_hist.legend(fontsize=8)
    fig.tight_layout()
    return fig


def progress_figure(ctx: ReportContext) -> Figure:
    """Per session of the patient: median pelvic drop with feedback and in the no-feedback probes
    (all steps where the session had no screen), per side."""
    fig = Figure(figsize=PAGE_IN)
    ax = fig.subplots(1, 1)
    dates = [datetime.fromtimestamp(f.started_us / 1e6, UTC) for f in ctx.history]
    for side in SIDES:
        probes = [
            f.sides[side].probe_pelvic_drop_deg_median if f.blocks else f.sides[side].pelvic_drop_deg_median
            for f in ctx.history
        ]
        cued = [f.sides[side].feedback_pelvic_drop_deg_median for f in ctx.history]
        style = STYLE[side]
        ax.plot(
            dates,
            _nan(probes),
            marker=style["marker"],
            linestyle="-",
            color=style["color"],
            label=f"{side}, without feedback",
        )
        ax.plot(
            dates,
            _nan(cued),
            marker=style["marker"],
            linestyle=":",
            color=style["color"],
            fillstyle="none",
            label=f"{side}, with feedback",
        )
    _limits(ax, ctx)
    ax.set_ylabel("median pelvic drop (deg)")
    ax.set_title(f"Progress over {len(ctx.history)} session(s)")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _nan(values):
    return [float("nan") if v is None else v for v in values]


def svg(fig: Figure) -> str:
    """The figure as inline SVG (no XML prolog; ids fixed by a hash salt for identical output)."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "gaitstream", "svg.fonttype": "none"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]
