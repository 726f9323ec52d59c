"""The PDFs read back: page count, headlines and numbers in each language, fonts, bookmarks, metadata, tags,
alt text, Japanese line breaking, rendered pages that are not blank, and byte-identical rebuilds."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import unicodedata
from pathlib import Path

import matplotlib.image as mpimg
import pytest
import yaml
from pypdf import PdfReader

from conftest import run_snakemake
from critmet.report.text import NO_LINE_END, NO_LINE_START, load_text_file

LANGS = ["ja", "en"]


def norm(text: str) -> str:
    """Compare text without layout: NFKC, no white space, no invisible word joiners or soft hyphens."""
    text = unicodedata.normalize("NFKC", text).replace("\u2060", "").replace("\u00ad", "")
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdfs(built) -> dict[str, Path]:
    report = built / "results" / "report"
    return {
        "ja": report / "executive_summary_ja.pdf",
        "en": report / "executive_summary_en.pdf",
        "all": report / "executive_summary.pdf",
    }


@pytest.fixture(scope="module")
def pages_spec(built) -> list[dict]:
    return yaml.safe_load((built / "templates" / "pages.yaml").read_text(encoding="utf-8"))["pages"]


@pytest.fixture(scope="module")
def page_texts(pdfs) -> dict[str, list[str]]:
    return {lang: [page.extract_text() for page in PdfReader(pdfs[lang]).pages] for lang in LANGS}


def test_page_count_matches_the_structure(pdfs, pages_spec):
    assert len(pages_spec) == 42  # the report map's 41 pages and the closing "changes in this edition" page
    assert pages_spec[-1]["id"] == "p42_changes"
    for lang in LANGS:
        assert len(PdfReader(pdfs[lang]).pages) == len(pages_spec)
    assert len(PdfReader(pdfs["all"]).pages) == 2 * len(pages_spec)


def test_every_headline_is_on_its_page_in_each_language(built, page_texts, pages_spec):
    for lang in LANGS:
        for number, page in enumerate(pages_spec, start=1):
            text = load_text_file(built / "templates" / "text" / lang / f"{page['id']}.yaml")
            if "headline" not in text:
                continue
            got = norm(page_texts[lang][number - 1])
            for line in text["headline"]:
                literal = re.split(r"\{\{.*?\}\}", line)  # the words around any placeholder
                for part in literal:
                    assert norm(part) in got, f"{lang} page {number}: headline part {part!r} missing"


def test_key_numbers_equal_the_data(built, page_texts):
    variables = json.loads((built / "results" / "report" / "variables.json").read_text())
    v = {name: item["value"] for name, item in variables.items()}
    ja, en = (norm(" ".join(page_texts[lang])) for lang in LANGS)
    ga_total = f"{v['ga_supply_total_2020']:,.0f}"
    assert ga_total == "382"
    assert f"{v['ga_supply_total_2010']:,.0f}t" in ja and "382t" in ja
    assert f"{round(v['ga_primary_2022_share_cn'])}%" in en  # 98% of primary gallium
    assert "1,020" in en and "1,020" in ja  # primary magnesium, kt
    assert f"{v['mg_supply_total_2018']:,.1f}" in en  # 946.2 kt
    assert "205" in en and "8.5" in en
    # the summary table of page 26 is generated from the cleaned data
    page26 = norm(page_texts["en"][25])
    for cell in ("90.0", "360.0", "+270.0", "127.0", "382.0", "+255.0"):
        assert cell in page26


def test_fonts_are_embedded_and_japanese(pdfs):
    for lang in LANGS:
        fonts = set()
        for page in PdfReader(pdfs[lang]).pages:
            resources = page["/Resources"]
            for font in (resources.get("/Font") or {}).values():
                font = font.get_object()
                descendant = font.get("/DescendantFonts")
                descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
                if descriptor is not None:
                    descriptor = descriptor.get_object()
                    embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                    fonts.add((str(font["/BaseFont"]), embedded))
        assert fonts and all(embedded for _, embedded in fonts)
        names = {name.split("+")[-1] for name, _ in fonts}
        allowed = {"Noto-Sans-CJK-JP", "Noto-Sans-CJK-JP-Bold"}  # the Japanese face, no fallback to another
        if lang == "en":  # English: Latin text in Noto Sans (fonts-noto-core)
            allowed |= {"Noto-Sans", "Noto-Sans-Bold"}
            assert {"Noto-Sans", "Noto-Sans-Bold"} <= names, names
        assert names <= allowed, names


def outline_titles(outline) -> list:
    out = []
    for item in outline:
        out.append(outline_titles(item) if isinstance(item, list) else item.title)
    return out


def test_bilingual_pdf_has_one_bookmark_tree_per_language(built, pdfs):
    titles = outline_titles(PdfReader(pdfs["all"]).outline)
    tops = [t for t in titles if isinstance(t, str)]
    common = {
        lang: yaml.safe_load((built / "templates" / "text" / lang / "common.yaml").read_text(encoding="utf-8"))
        for lang in LANGS
    }
    assert tops == [common["ja"]["report"]["edition_bookmark"], common["en"]["report"]["edition_bookmark"]]
    children = [t for t in titles if isinstance(t, list)]
    assert len(children) == 2 and all(len(c) >= 30 for c in children)


def test_metadata_language_tags_and_alt_text(built, pdfs):
    config = yaml.safe_load((built / "config" / "config.yaml").read_text(encoding="utf-8"))
    for lang in LANGS:
        reader = PdfReader(pdfs[lang])
        meta = reader.metadata
        assert meta.author == config["organisation"][lang]
        assert meta.title and meta.subject and "\u2060" not in meta.title
        assert "/Keywords" in meta
        root = reader.trailer["/Root"]
        assert str(root["/Lang"]).startswith(lang)
        assert "/StructTreeRoot" in root  # tagged PDF
        alts = struct_alt_texts(root["/StructTreeRoot"])
        assert len(alts) >= 30  # every chart carries alt text
        assert any("382" in a for a in alts) if lang == "en" else any("中国" in a for a in alts)
        assert meta["/CreationDate"].startswith("D:" + config["document_date"].replace("-", ""))
    figure_meta = json.loads((built / "results" / "figures" / "meta" / "ga_supply_bars.json").read_text())
    assert "382" in figure_meta["alt"]["en"] and "360" in figure_meta["alt"]["en"]


def struct_alt_texts(node) -> list[str]:
    """The /Alt entries of a tagged PDF's structure tree."""
    found, stack, seen = [], [node], set()
    while stack:
        item = stack.pop()
        if hasattr(item, "get_object"):
            if id(item.get_object()) in seen:
                continue
            item = item.get_object()
            seen.add(id(item))
        if isinstance(item, dict):
            if "/Alt" in item:
                found.append(str(item["/Alt"]))
            kids = item.get("/K")
            if kids is not None:
                stack.extend(kids if isinstance(kids, list) else [kids])
        elif isinstance(item, list):
            stack.extend(item)
    return found


def pdf_lines(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def test_no_japanese_line_starts_with_closing_punctuation(pdfs):
    bad = []
    for line in pdf_lines(pdfs["ja"]):
        for segment in re.split(r"\s{2,}", line.strip()):  # -layout puts columns side by side
            segment = segment.replace("\u2060", "")
            if segment and segment[0] in NO_LINE_START and segment[0] not in "%）":
                bad.append(segment[:30])
            if segment and segment[-1] in NO_LINE_END:
                bad.append(segment[-30:])
    assert not bad, bad[:10]


def test_rendered_pages_are_not_blank(pdfs, tmp_path):
    for lang in LANGS:
        for page in (5, 26, 34):
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "30",
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    str(pdfs[lang]),
                    str(tmp_path / f"{lang}-{page}"),
                ],
                check=True,
            )
            image = mpimg.imread(tmp_path / f"{lang}-{page}.png")
            ink = (image[..., :3].mean(axis=2) < 0.85).mean()
            assert ink > 0.03, f"{lang} page {page} is nearly blank ({ink:.3f} of pixels inked)"


def test_no_slide_overflows(built):
    log = (built / "results" / "logs" / "render_report.log").read_text(encoding="utf-8")
    assert "warning:" not in log, log
    assert all(f"written: results/report/executive_summary_{lang}.pdf" in log for lang in LANGS), log


def test_rebuild_is_byte_identical(built, pdfs):
    before = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in pdfs.items()}
    figure = built / "results" / "figures" / "ja" / "ga_supply_bars.svg"
    figure_before = hashlib.sha256(figure.read_bytes()).hexdigest()
    run_snakemake(built, "--forcerun", "render_report", "plot_ga_supply_bars", "all")
    after = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in pdfs.items()}
    assert after == before
    assert hashlib.sha256(figure.read_bytes()).hexdigest() == figure_before
