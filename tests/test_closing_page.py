"""The closing page of a first edition, read back from the PDFs: the edition's facts and, for every page of
the supply-chain and recommendation chapters that draws on data, its source lines and data years, as the
tables' metadata (data/raw/*.meta.yaml) and the pages' footnotes give them."""

from __future__ import annotations

import re
import subprocess
import unicodedata

import pytest

from conftest import project_inputs

LANGS = ["ja", "en"]


def norm(text: str) -> str:
    """Text without layout: no white space, no word joiners, and no hyphens (English cells hyphenate at line
    ends), on both sides of a comparison."""
    text = unicodedata.normalize("NFKC", text).replace("\u2060", "").replace("\u00ad", "")
    return re.sub(r"[\s\-\u2010]+", "", text)


def page_text(pdf, number: int) -> str:
    out = subprocess.run(
        ["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.mark.parametrize("lang", LANGS)
def test_closing_page_lists_where_the_ga_and_mg_figures_come_from(built, lang):
    from critmet.io import read_json
    from critmet.report.render import Report, figure_context

    report_dir = built / "results" / "report"
    assert read_json(report_dir / "changes.json")["first"]  # the built deck is a first edition
    inputs = project_inputs(built)
    report = Report(inputs, [lang])
    figs = figure_context(inputs.figures_dir, report.pages, lang, report_dir)
    view = report.data.for_lang(lang, report.texts[lang]["common"]["labels"])
    closing = norm(page_text(report_dir / f"executive_summary_{lang}.pdf", len(report.pages)))
    years, used = set(), set()
    for page in report.pages:
        if page["kind"] != "content" or page.get("section") not in ("s2", "s3"):
            continue
        tables = view.page_tables(page, figs)
        if not tables:
            continue
        used.update(tables)
        for source in view.sources(tables):  # the same source line as the page's own footnote
            assert norm(source) in closing, (page["number"], source)
        title = report.texts[lang][page["id"]]["title"]  # its words (the cell's lines may interleave with others)
        assert all(norm(w) in closing for w in re.split(r"[\s():（）]+", title) if len(w) >= 3), (page["id"], title)
        years.update(int(report.data.meta(t)["reference_year"]) for t in tables)
    assert len(used) >= 10
    assert f"{min(years)}–{max(years)}" in closing  # the span of the data years in the facts band
    assert norm(str(len(used))) in closing
    assert norm(view.document_date) in closing
