"""The report's HTML and PDF say the figures (PDF text read back with pypdf), its plots render
(pages rasterised with pdfium, not blank), text from data is escaped, output is deterministic."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pypdf
import pypdfium2
import pytest

from gaitstream.services.programme.suggest import Suggestion
from gaitstream.services.report.content import fmt, summary_rows
from gaitstream.services.report.figures import session_figures
from gaitstream.services.report.render import ReportContext, render_html, safe_name, write_report
from tests.report.crafted import T0_US, crafted_record, without_side

SUGGESTION = Suggestion(
    "fade-the-cues",
    {"feedback_plan": "none:2m,faded:10m,none:2m"},
    "In the probes the pelvis stayed near the target.",
    [{"session": "s-0", "side": "left", "metric": "probe_median_deg", "value": 3.25, "at_most": 4.0}],
)


def _context(record=None, **changes) -> ReportContext:
    record = record or crafted_record()
    figures = session_figures(record)
    earlier = session_figures(crafted_record(session_id="s-0", seed=2, start_us=T0_US - 86_400_000_000))
    context = ReportContext(
        figures=figures,
        record=record,
        history=(earlier, figures),
        programme_phase="retraining",
        suggestion=SUGGESTION,
        generated_at=datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        links={"dashboard": "https://grafana.clinic.example/d/session?var-session=s-1"},
    )
    return replace(context, **changes)


def _cell(html: str, metric: str, side: str | None = None) -> str:
    side_attr = f' data-side="{side}"' if side else ""
    match = re.search(rf'<td data-metric="{metric}"{side_attr}>([^<]*)</td>', html)
    assert match, (metric, side)
    return match.group(1)


def test_the_html_cells_hold_the_figures() -> None:
    context = _context()
    html = render_html(context)
    f = context.figures
    for side in ("left", "right"):
        assert _cell(html, "pelvic_drop_deg_median", side) == fmt(f.sides[side].pelvic_drop_deg_median)
        assert _cell(html, "pelvic_drop_deg_p90", side) == fmt(f.sides[side].pelvic_drop_deg_p90)
        assert _cell(html, "trunk_lean_deg_median", side) == "no trunk sensor"
    assert _cell(html, "cadence_spm") == "120.0" and _cell(html, "step_time_asymmetry_pct") == "8.0"
    assert _cell(html, "dose") == fmt(100 * f.dose) and _cell(html, "classification") == "trendelenburg_left"
    assert _cell(html, "programme_phase") == "retraining" and _cell(html, "patient_id") == "P-0042"
    assert html.count("<svg") == 2 and "<script" not in html
    assert 'href="https://grafana.clinic.example/d/session?var-session=s-1"' in html


def test_text_from_data_is_escaped() -> None:
    record = replace(crafted_record(), session_id='s"><script>alert(1)</script>', feedback_plan="<b>none:2m</b>")
    html = render_html(_context(record))
    assert "<script>alert" not in html and "<b>none" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert safe_name(record.session_id) == "s___script_alert_1___script_"
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"


def test_the_pdf_says_every_figure_next_to_its_label_and_its_plots_render(tmp_path: Path) -> None:
    context = _context(record=crafted_record(trunk=True))
    files = write_report(context, tmp_path)
    assert files.html.name == "s-1.html" and files.pdf.name == "s-1.pdf"
    reader = pypdf.PdfReader(files.pdf)
    assert len(reader.pages) == 3
    text = reader.pages[0].extract_text()
    lines = set(text.splitlines())
    for row in summary_rows(context):
        assert f"{row.label} {row.text}" in lines, (row.label, row.text)
    drops = [s.pelvic_drop_deg for s in context.record.steps if s.side == "left"]
    assert f"Pelvic drop median left (deg) {np.median(drops):.1f}" in lines  # the figure, independently
    assert "Rule: fade-the-cues" in lines and "  s-0 left probe_median_deg = 3.2 (at most 4.0)" in text
    assert reader.metadata.title == "Session report s-1"
    pdf = pypdfium2.PdfDocument(files.pdf)
    for index in (1, 2):
        pixels = np.asarray(pdf[index].render(scale=0.5).to_pil().convert("L"))
        assert (pixels < 250).mean() > 0.02, f"page {index + 1} looks blank"


def test_one_sided_trunkless_screenless_single_session_reports_render(tmp_path: Path) -> None:
    record = without_side(crafted_record(screen=False), "left")
    figures = session_figures(record)
    context = _context(record, history=(figures,), programme_phase=None, suggestion=None, links={})
    files = write_report(context, tmp_path)
    text = pypdf.PdfReader(files.pdf).pages[0].extract_text()
    assert "Pelvic drop median left (deg) –" in text and "no feedback screen in this session" in text
    assert "Programme phase not available" in text and "No suggestion pending." in text


def test_the_same_context_renders_the_same_html() -> None:
    assert render_html(_context()) == render_html(_context())


@pytest.mark.parametrize("share", [None, 0.0, 0.5333])
def test_dose_reads_as_a_percentage(share) -> None:
    from gaitstream.services.report.content import fmt_pct

    assert fmt_pct(share) == {None: "–", 0.0: "0.0", 0.5333: "53.3"}[share]
