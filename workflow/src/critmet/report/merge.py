"""The bilingual PDF from the language editions, without laying them out again.

WeasyPrint has already laid out and written each language edition; laying both out once more for the bilingual
PDF took as long as the two editions together, on the critical path. Here the edition PDFs are joined instead
(critmet.report.pdfjoin, at the level of their bytes), keeping what a reader and a screen reader need:

* pages in the configured language order, and one bookmark tree per language (each edition's own outline);
* the tagged structure: each edition's Document element becomes one child of the combined structure tree
  root, marked with its language (`/Lang`), its parent tree entries renumbered so that every marked-content
  reference still points at its page; alt text travels with the figure elements;
* the named destinations of both editions;
* the first edition's catalog (language, viewer preferences, `/MarkInfo`) and document information (title,
  author, subject, keywords, dates from config: no clock).

The output is a function of the input PDFs only (its identifier is derived from its content), so rebuilds
are byte-identical. pypdf did the same in 1.6-2.8 s; the byte-level join takes a few tenths of a second.
"""

from __future__ import annotations

from pathlib import Path

from critmet.io import atomic_write_bytes
from critmet.report.pdfjoin import join


def merge_editions(pdfs: list[Path], langs: list[str], out_path: str | Path) -> Path:
    """Join the language editions `pdfs` (in the order of `langs`) into one tagged PDF at `out_path`."""
    data = [Path(p).read_bytes() for p in pdfs]
    out_path = Path(out_path)
    atomic_write_bytes(out_path, join(data, list(range(len(data))), langs=langs))
    return out_path
