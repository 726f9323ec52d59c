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
from types import SimpleNamespace

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

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


def _outline_items(writer: PdfWriter, tree: list, parent) -> tuple[list, int]:
    """WeasyPrint's outline (weasyprint.pdf.anchors.add_outlines), written with pypdf objects."""
    count, items = len(tree), []
    for title, (page, x, y), children, state in tree:
        item = DictionaryObject(
            {
                NameObject("/Title"): TextStringObject(title),
                NameObject("/Dest"): ArrayObject(
                    [
                        writer.pages[page].indirect_reference,
                        NameObject("/XYZ"),
                        FloatObject(x),
                        FloatObject(y),
                        NumberObject(0),
                    ]
                ),
            }
        )
        ref = writer._add_object(item)
        kids, kids_count = _outline_items(writer, children, ref)
        item[NameObject("/Count")] = NumberObject(-kids_count if state == "closed" else kids_count)
        if state != "closed":
            count += kids_count
        if items:
            item[NameObject("/Prev")] = items[-1].indirect_reference
            items[-1][NameObject("/Next")] = ref
        if kids:
            item[NameObject("/First")] = kids[0].indirect_reference
            item[NameObject("/Last")] = kids[-1].indirect_reference
        if parent is not None:
            item[NameObject("/Parent")] = parent
        items.append(item)
    return items, count


def _outline(writer: PdfWriter, bookmarks: list[list[list]]) -> None:
    """The outline of the whole document from each page's bookmarks (level, label, x, y, state), nested as
    WeasyPrint nests them when it lays out the whole document (its own make_page_bookmark_tree)."""
    from weasyprint.anchors import make_page_bookmark_tree
    from weasyprint.matrix import Matrix

    root: list = []
    skipped: list = []
    last_by_depth = [root]
    previous = 0
    for number, rows in enumerate(bookmarks):
        page = SimpleNamespace(bookmarks=[(lv, label, (x, y), state) for lv, label, x, y, state in rows])
        previous = make_page_bookmark_tree(page, skipped, last_by_depth, previous, number, Matrix())
    catalog = writer.root_object
    if NameObject("/Outlines") in catalog:
        del catalog[NameObject("/Outlines")]
    if not root:
        return
    top = DictionaryObject()
    top_ref = writer._add_object(top)
    items, count = _outline_items(writer, root, None)
    for item in items:
        item[NameObject("/Parent")] = top_ref
    top[NameObject("/Count")] = NumberObject(count)
    top[NameObject("/First")] = items[0].indirect_reference
    top[NameObject("/Last")] = items[-1].indirect_reference
    catalog[NameObject("/Outlines")] = top_ref


def _named_dests(reader: PdfReader) -> list:
    names = reader.trailer["/Root"].get("/Names")
    dests = names.get_object().get("/Dests") if names is not None else None
    if dests is None:
        return []
    dests = dests.get_object()
    if "/Names" not in dests:  # WeasyPrint writes a flat name tree
        raise ReportError("the named destinations are not a flat /Names array")
    flat = list(dests["/Names"])
    return [(str(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2)]


def assemble_pages(pdfs: list[bytes], bookmarks: list[list[list]], out_path: str | Path) -> Path:
    """One edition's PDF from the PDFs of its slides, each laid out and written by WeasyPrint on its own
    (critmet.report.pages), in order: the first one's catalog and metadata, every page, one structure tree
    (each slide's elements under the first slide's Document element, parent-tree keys renumbered), the
    named destinations of every slide, and the outline of the whole document rebuilt from each page's
    `bookmarks`. The file identifier is derived from the slides' bytes: byte-identical rebuilds."""
    readers = [PdfReader(io.BytesIO(pdf)) for pdf in pdfs]
    writer = PdfWriter(clone_from=readers[0])
    root = writer.root_object["/StructTreeRoot"].get_object()
    top = root["/K"] if isinstance(root["/K"], ArrayObject) else ArrayObject([root["/K"]])
    if len(top) != 1 or top[0].get_object().get("/S") != "/Document":
        raise ReportError("a slide's structure tree has no single Document element")
    document = top[0].get_object()
    kids = document["/K"] if isinstance(document["/K"], ArrayObject) else ArrayObject([document["/K"]])
    nums = ArrayObject(_parent_tree_nums(root))
    next_key = max(int(nums[i]) for i in range(0, len(nums), 2)) + 1
    dests = [(name, dest) for name, dest in _named_dests(readers[0])]
    for number, reader in enumerate(readers[1:], start=2):
        struct = _struct_root(reader, Path(f"slide {number}"))
        theirs_top = struct["/K"] if isinstance(struct["/K"], ArrayObject) else [struct["/K"]]
        theirs_doc = theirs_top[0]
        # their Document element is ours: its children are cloned pointing at our Document element
        writer._id_translated.setdefault(id(reader), {"PreventGC": reader})[theirs_doc.idnum] = (
            document.indirect_reference.idnum
        )
        start = len(writer.pages)
        for page in reader.pages:
            writer.add_page(page)
        their_kids = theirs_doc.get_object()["/K"]
        for kid in their_kids if isinstance(their_kids, ArrayObject) else [their_kids]:
            kids.append(kid.clone(writer))
        theirs = _parent_tree_nums(struct)
        for i in range(0, len(theirs), 2):
            nums.append(NumberObject(int(theirs[i]) + next_key))
            nums.append(theirs[i + 1].clone(writer))
        for page, source in zip(writer.pages[start:], reader.pages, strict=True):
            if "/StructParents" in source:
                page[NameObject("/StructParents")] = NumberObject(int(source["/StructParents"]) + next_key)
            for annot in page.get("/Annots") or []:
                annot = annot.get_object()
                if "/StructParent" in annot:
                    annot[NameObject("/StructParent")] = NumberObject(int(annot["/StructParent"]) + next_key)
        dests.extend((name, dest.clone(writer)) for name, dest in _named_dests(reader))
        next_key += max(int(theirs[i]) for i in range(0, len(theirs), 2)) + 1
    document[NameObject("/K")] = kids
    root["/ParentTree"].get_object()[NameObject("/Nums")] = nums
    root[NameObject("/ParentTreeNextKey")] = NumberObject(next_key)
    if dests:
        flat = ArrayObject()
        for name, dest in sorted(dests, key=lambda item: item[0].encode("utf-8")):
            flat.extend([TextStringObject(name), dest])
        names = writer.root_object["/Names"].get_object()
        names[NameObject("/Dests")] = DictionaryObject({NameObject("/Names"): flat})
    _outline(writer, bookmarks)
    digest = hashlib.md5(b"".join(pdfs), usedforsecurity=False).hexdigest()
    writer._ID = ArrayObject([ByteStringObject(b"critmet-executive-summary"), ByteStringObject(digest.encode())])
    buf = io.BytesIO()
    writer.write(buf)
    out_path = Path(out_path)
    atomic_write_bytes(out_path, buf.getvalue())
    return out_path
