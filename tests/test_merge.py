"""The bilingual PDF joined from the two editions (critmet.report.merge): same pages, text, bookmarks, metadata,
and a tagged structure tree per language whose every reference still points at its own page."""

from __future__ import annotations

import subprocess

import pytest
from pypdf import PdfReader

from test_pdf import outline_titles, struct_alt_texts

LANGS = ["ja", "en"]


@pytest.fixture(scope="module")
def readers(built) -> dict[str, PdfReader]:
    report = built / "results" / "report"
    return {
        "ja": PdfReader(report / "executive_summary_ja.pdf"),
        "en": PdfReader(report / "executive_summary_en.pdf"),
        "all": PdfReader(report / "executive_summary.pdf"),
    }


def test_bilingual_pages_are_the_editions_pages(readers):
    pages = readers["all"].pages
    editions = [*readers["ja"].pages, *readers["en"].pages]
    assert len(pages) == len(editions) == 84
    for number in (0, 25, 41, 42, 67, 83):
        assert pages[number].extract_text() == editions[number].extract_text(), number


def test_bilingual_keeps_metadata_and_outlines(readers):
    merged, ja = readers["all"], readers["ja"]
    for key in ("/Title", "/Author", "/Subject", "/Keywords", "/CreationDate", "/ModDate"):
        assert merged.metadata[key] == ja.metadata[key], key
    assert str(merged.trailer["/Root"]["/Lang"]) == "ja"
    expected = outline_titles(readers["ja"].outline) + outline_titles(readers["en"].outline)
    assert outline_titles(merged.outline) == expected


def _elements_with_pages(node, found: list) -> list:
    node = node.get_object()
    if isinstance(node, dict):
        if "/Pg" in node:
            found.append(node.raw_get("/Pg").idnum)
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            if hasattr(kid, "get_object") or isinstance(kid, dict):
                _elements_with_pages(kid, found)
    return found


def test_bilingual_is_tagged_with_one_structure_tree_per_language(readers):
    merged = readers["all"]
    root = merged.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"]
    tree = root["/StructTreeRoot"]
    kids = tree["/K"]
    assert [str(kid.get_object()["/Lang"]) for kid in kids] == LANGS
    # the alt text of every chart of both editions
    editions = [struct_alt_texts(readers[lang].trailer["/Root"]["/StructTreeRoot"]) for lang in LANGS]
    assert len(editions[0]) >= 30 and sorted(struct_alt_texts(tree)) == sorted(editions[0] + editions[1])
    # each language's elements point at that language's pages, and every page's marked content is keyed
    page_ids = [page.indirect_reference.idnum for page in merged.pages]
    for i, kid in enumerate(kids):
        pages = _elements_with_pages(kid, [])
        assert len(pages) > 1000 and set(pages) <= set(page_ids[42 * i : 42 * (i + 1)])
    nums = tree["/ParentTree"]["/Nums"]
    keys = {int(nums[i]) for i in range(0, len(nums), 2)}
    parents = [int(page["/StructParents"]) for page in merged.pages]
    assert len(set(parents)) == 84 and set(parents) <= keys
    assert int(tree["/ParentTreeNextKey"]) > max(keys)


def test_poppler_reads_the_merged_structure(built):
    pdf = built / "results" / "report" / "executive_summary.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info and "Pages:           84" in info
    assert "Syntax Error" not in subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stderr
