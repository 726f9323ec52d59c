"""The bilingual PDF from the language editions, without laying them out again.

WeasyPrint has already laid out and written each language edition; laying both out once more for the bilingual
PDF took as long as the two editions together, on the critical path. Here the edition PDFs are joined with
pypdf instead, keeping what a reader and a screen reader need:

* pages in the configured language order, and one bookmark tree per language (each edition's own outline);
* the tagged structure: each edition's structure tree becomes one child of the combined structure tree root,
  marked with its language (`/Lang`), its parent tree entries renumbered so that every marked-content
  reference still points at its page; alt text travels with the figure elements;
* the first edition's catalog (language, viewer preferences, `/MarkInfo`) and document information (title,
  author, subject, keywords, dates from config: no clock).

The output is a function of the input PDFs only, so rebuilds are byte-identical.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject, NameObject, NumberObject, TextStringObject

from critmet.io import atomic_write_bytes
from critmet.report import ReportError


def _struct_root(reader: PdfReader, path: Path):
    root = reader.trailer["/Root"]
    if "/StructTreeRoot" not in root:
        raise ReportError(f"{path}: not a tagged PDF (no structure tree); cannot keep the tags in the merge")
    return root["/StructTreeRoot"].get_object()


def _parent_tree_nums(struct_root) -> list:
    tree = struct_root["/ParentTree"].get_object()
    if "/Nums" not in tree:  # WeasyPrint writes a flat number tree; a split one would need walking /Kids
        raise ReportError("the structure parent tree has no flat /Nums array")
    return list(tree["/Nums"])


def merge_editions(pdfs: list[Path], langs: list[str], out_path: str | Path) -> Path:
    """Join the language editions `pdfs` (in the order of `langs`) into one tagged PDF at `out_path`."""
    pdfs = [Path(p) for p in pdfs]
    first = PdfReader(pdfs[0])
    _struct_root(first, pdfs[0])
    writer = PdfWriter(clone_from=first)  # catalog, info, outline, structure tree of the first edition
    root = writer.root_object["/StructTreeRoot"].get_object()
    kids = root["/K"] if isinstance(root["/K"], ArrayObject) else ArrayObject([root["/K"]])
    for kid in kids:
        kid.get_object()[NameObject("/Lang")] = TextStringObject(langs[0])
    nums = ArrayObject(_parent_tree_nums(root))
    next_key = max(int(nums[i]) for i in range(0, len(nums), 2)) + 1

    for path, lang in zip(pdfs[1:], langs[1:], strict=True):
        reader = PdfReader(path)
        struct = _struct_root(reader, path)
        start = len(writer.pages)
        writer.append(reader, import_outline=True)  # pages (cloned) and this edition's bookmark tree
        for kid in struct["/K"] if isinstance(struct["/K"], ArrayObject) else [struct["/K"]]:
            element = kid.clone(writer)  # references to pages resolve to the pages just appended
            element.get_object()[NameObject("/P")] = root.indirect_reference
            element.get_object()[NameObject("/Lang")] = TextStringObject(lang)
            kids.append(element)
        theirs = _parent_tree_nums(struct)
        for i in range(0, len(theirs), 2):
            nums.append(NumberObject(int(theirs[i]) + next_key))
            nums.append(theirs[i + 1].clone(writer))
        for page, source in zip(writer.pages[start:], reader.pages, strict=True):
            if "/StructParents" in source:  # pypdf drops it when it copies a page: the renumbered key
                page[NameObject("/StructParents")] = NumberObject(int(source["/StructParents"]) + next_key)
            for annot in page.get("/Annots") or []:
                annot = annot.get_object()
                if "/StructParent" in annot:
                    annot[NameObject("/StructParent")] = NumberObject(int(annot["/StructParent"]) + next_key)
        next_key += max(int(theirs[i]) for i in range(0, len(theirs), 2)) + 1

    root[NameObject("/K")] = kids
    root["/ParentTree"].get_object()[NameObject("/Nums")] = nums
    root[NameObject("/ParentTreeNextKey")] = NumberObject(next_key)
    # A file identifier of its own, from the inputs (pypdf would draw a random one): byte-identical rebuilds.
    digest = hashlib.md5(b"".join(p.read_bytes() for p in pdfs), usedforsecurity=False).hexdigest()
    writer._ID = ArrayObject([ByteStringObject(b"critmet-executive-summary"), ByteStringObject(digest.encode())])
    buf = io.BytesIO()
    writer.write(buf)
    out_path = Path(out_path)
    atomic_write_bytes(out_path, buf.getvalue())
    return out_path
