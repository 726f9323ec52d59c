"""What a reader sees carries no reconstruction scaffolding: the built figures (SVG, as placed in the PDFs) have
no hatch pattern and no 'not determined' wording, and the text of both PDFs has none of that wording and none
of the discrepancy register's ids. Read back from the built outputs."""

from __future__ import annotations

import csv
import html
import re
import subprocess
import unicodedata

import pytest

LANGS = ["ja", "en"]

# Wording that describes gaps in the reconstruction instead of the subject (either language).
GAP_WORDING = [
    r"not determined",
    r"not available",
    r"unallocated",
    r"no sourced",
    r"not itemi[sz]ed",
    r"split not",
    r"未確定",
    r"確定しない",
    r"内訳不明",  # (不明 alone is kept: "unknown" is a finding, e.g. the Mg recycling risk)
    r"値の記載なし",
    r"記載なし",
    r"報告書原本",
    r"original report",
]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).replace("\u2060", "").replace("\u00ad", ""))


@pytest.fixture(scope="module")
def pdf_texts(built) -> dict[str, str]:
    report = built / "results" / "report"
    return {
        lang: _norm(
            subprocess.run(
                ["pdftotext", str(report / f"executive_summary_{lang}.pdf"), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for lang in LANGS
    }


def _svg_text(svg: str) -> str:
    """The words an SVG shows: its <text> elements (the charts keep text as text, svg.fonttype none)."""
    runs = re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)
    return _norm(" ".join(html.unescape(re.sub(r"<[^>]+>", "", r)) for r in runs))


def test_no_figure_has_a_hatch_or_gap_wording(built):
    figures = built / "results" / "figures"
    svgs = sorted(p for lang in LANGS for p in (figures / lang).glob("*.svg"))
    assert len(svgs) >= 60, len(svgs)  # every chart of both languages
    hatched, worded = [], []
    for path in svgs:
        svg = path.read_text(encoding="utf-8")
        if "<pattern" in svg or "hatch" in svg.lower():  # matplotlib draws a hatch as an SVG <pattern>
            hatched.append(path.name)
        shown = _svg_text(svg)
        worded += [(path.parent.name, path.name, w) for w in GAP_WORDING if re.search(w, shown, re.I)]
    assert not hatched, hatched
    assert not worded, worded


def test_the_svg_text_reader_sees_chart_words(built):
    """The check above reads what it means to: the words of a chart are found in its SVG."""
    svg = (built / "results" / "figures" / "en" / "tech_trends_us.svg").read_text(encoding="utf-8")
    shown = _svg_text(svg)
    assert "Number of projects" in shown and "estimate" in shown


def test_pdfs_have_no_gap_wording_and_no_register_ids(built, pdf_texts):
    with open(built / "data" / "raw" / "discrepancy_register.csv", encoding="utf-8") as fh:
        ids = [row["id"] for row in csv.DictReader(fh)]
    assert len(ids) > 20
    for lang in LANGS:
        text = pdf_texts[lang]
        assert len(text) > 5000  # the whole deck was read
        found = [w for w in GAP_WORDING if re.search(w, text, re.I)]
        found += [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)]
        assert not found, (lang, found)


def test_an_empty_share_is_refused_naming_file_line_and_column(tmp_path):
    """A stage share left empty (the old 'not determined' cell) is now a validation error, not a hatched bar."""
    import shutil
    from pathlib import Path

    from critmet.validate import RawDataError, load_codes, validate_table

    raw = Path(__file__).resolve().parents[1] / "data" / "raw"
    shutil.copy(raw / "tech_stage_shares.meta.yaml", tmp_path / "tech_stage_shares.meta.yaml")
    lines = (raw / "tech_stage_shares.csv").read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("US,REE,ST_MANUFACTURING,"))
    lines[n] = "US,REE,ST_MANUFACTURING,,12,estimated"
    (tmp_path / "tech_stage_shares.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RawDataError) as err:
        validate_table(tmp_path / "tech_stage_shares.csv", load_codes(raw / "codes"))
    assert err.value.line == n + 1 and err.value.column == "share_pct"
    assert "tech_stage_shares.csv" in str(err.value)


def test_a_stack_remainder_is_an_error_not_a_drawing():
    from critmet.figures.common import no_remainder

    no_remainder([0.0, 1e-9, -1e-9], "a complete stack")  # rounding noise passes
    with pytest.raises(ValueError, match="has no category"):
        no_remainder([0.0, 3.0], "the split of demand by use")
