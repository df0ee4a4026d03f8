"""A session report as files: one self-contained HTML page (inline CSS and SVG, no script, every
text from data escaped) and a PDF (page 1 the figures, then the plots), both from
:mod:`content`'s rows. Elements of the HTML carry what they show (``data-metric``/``data-side``)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

from gaitstream.services.report.content import (
    BLOCK_HEADER,
    ReportContext,
    block_rows,
    suggestion_lines,
    summary_rows,
)
from gaitstream.services.report.names import safe_name
from gaitstream.services.report.plots import PAGE_IN, progress_figure, steps_figure, svg

__all__ = ["ReportContext", "ReportFiles", "render_html", "render_pdf", "write_report", "safe_name"]

CSS = """body{font-family:sans-serif;margin:2em;max-width:60em;color:#111}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}
th{background:#eee}h1{font-size:1.4em}pre{white-space:pre-wrap}svg{max-width:100%;height:auto}"""


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def _attrs(metric: str | None, side: str | None) -> str:
    out = f' data-metric="{escape(metric)}"' if metric else ""
    return out + (f' data-side="{escape(side)}"' if side else "")


def render_html(ctx: ReportContext) -> str:
    f = ctx.figures
    rows = "\n".join(
        f"<tr><th>{escape(row.label)}</th><td{_attrs(row.metric, row.side)}>{escape(row.text)}</td></tr>"
        for row in summary_rows(ctx)
    )
    blocks = "\n".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>" for cells in block_rows(ctx)
    )
    block_table = (
        '<table data-table="blocks"><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h in BLOCK_HEADER)
        + f"</tr>\n{blocks}</table>"
        if blocks
        else "<p>No feedback screen in this session.</p>"
    )
    links = "".join(f'<li><a href="{escape(url)}">{escape(name)}</a></li>' for name, url in sorted(ctx.links.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Session report {escape(f.session_id)}</title>
<style>{CSS}</style></head><body>
<h1>Treadmill session report</h1>
<p>Generated {escape(ctx.generated_at.strftime("%Y-%m-%d %H:%M UTC"))} by gaitstream.</p>
<table data-table="summary">{rows}</table>
<h2>Blocks and feedback dose</h2>{block_table}
<h2>Pending suggestion</h2><pre data-suggestion>{escape(chr(10).join(suggestion_lines(ctx)))}</pre>
<h2>Pelvic drop over the session</h2>{svg(steps_figure(ctx))}
<h2>Progress</h2>{svg(progress_figure(ctx))}
{f"<ul>{links}</ul>" if links else ""}
</body></html>
"""


def _page_one(ctx: ReportContext):
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE_IN)
    lines = [(row.label, row.text) for row in summary_rows(ctx)]
    y = 0.965
    fig.text(0.06, y, "Treadmill session report", fontsize=14, weight="bold")
    y -= 0.03
    for label, text in lines:
        fig.text(0.06, y, label, fontsize=8.5)
        fig.text(0.55, y, text, fontsize=8.5)
        y -= 0.0165
    y -= 0.01
    fig.text(0.06, y, "Blocks: " + " | ".join(BLOCK_HEADER), fontsize=8, weight="bold")
    for cells in block_rows(ctx) or [["no feedback screen in this session"]]:
        y -= 0.015
        fig.text(0.06, y, " | ".join(cells), fontsize=8)
    y -= 0.025
    fig.text(0.06, y, "Pending suggestion", fontsize=9, weight="bold")
    for line in suggestion_lines(ctx):
        y -= 0.015
        fig.text(0.06, y, line[:120], fontsize=7.5)
    fig.text(0.06, 0.02, f"Generated {ctx.generated_at.strftime('%Y-%m-%d %H:%M UTC')} by gaitstream", fontsize=7)
    return fig


def render_pdf(ctx: ReportContext, path: Path) -> None:
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    metadata = {
        "Title": f"Session report {ctx.figures.session_id}",
        "Creator": "gaitstream",
        "CreationDate": ctx.generated_at,
    }
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path, metadata=metadata) as pdf:
        for fig in (_page_one(ctx), steps_figure(ctx), progress_figure(ctx)):
            pdf.savefig(fig)


def _atomic(out_dir: Path, name: str, write) -> Path:
    target = out_dir / name
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_report(ctx: ReportContext, out_dir: Path) -> ReportFiles:
    """``<session>.html`` and ``<session>.pdf`` in ``out_dir``, each replaced whole or not at all."""
    name = safe_name(ctx.figures.session_id)
    html = _atomic(out_dir, f"{name}.html", lambda p: p.write_text(render_html(ctx), encoding="utf-8"))
    pdf = _atomic(out_dir, f"{name}.pdf", lambda p: render_pdf(ctx, p))
    return ReportFiles(html=html, pdf=pdf)
