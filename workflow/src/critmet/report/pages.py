"""Slides laid out one at a time, and a cache of their PDFs.

Slides have fixed page breaks, so each slide is laid out as a small WeasyPrint document of its own: the HTML
head, the running footer and that one slide (`split_parts`). The stylesheets are parsed once per process and
handed to every slide's document; a slide that is not the first page is preceded by blank pages that are not
kept (so that `@page :first` rules apply to the cover only, and left/right pages keep their parity), and the
page counter is reset so that the slide carries its number in the whole document.

The fitting of `Report.fitted` (roomy / fit-1..3) then lays out again only the slides whose fit level changed,
and `render_edition` keeps, under results/.cache/pages/<lang>/:

* `fit-<key>.json`: the fit level chosen for a slide, its page count and its overflow warnings, keyed by the
  slide's HTML at every fit level, its page number, the bytes of every file it refers to, the stylesheets, the
  installed fonts and the WeasyPrint/pydyf versions (and this code);
* `page-<key>.pdf` and `page-<key>.json`: the slide's PDF at that level and its bookmarks, keyed the same way
  by its final HTML.

The edition PDF is assembled from the slides' PDFs (critmet.report.pdfjoin.join), with one font subset per
font (below). A slide's PDF is the same bytes whether it was laid out now or earlier, so the assembled PDF does
not depend on the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import weakref
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import unquote

from critmet.io import atomic_write_bytes, atomic_write_text
from critmet.report import ReportError

CACHE_FORMAT = "critmet-pages-2"
_SECTION = re.compile(r"<section\b|</section\s*>")
_STYLESHEET = re.compile(r'[ \t]*<link rel="stylesheet" href="([^"]+)">\n?')
_REFERENCE = re.compile(r'\b(?:src|href)="([^"#][^"]*)"')
# What templates/css/page.css's `@page :first` rule takes from the cover, given back to a slide laid out as the
# first page of a document of its own (PartRenderer.document): the running footer and the page number.
_NOT_FIRST = " @page :first { @bottom-left { content: element(footer) } @bottom-right { content: counter(page) } }"


@dataclass
class Parts:
    """The whole HTML cut into its top-level sections: `prefix + part + suffix` is one slide's document."""

    prefix: str
    parts: list[str]
    suffix: str
    ids: list[str] = field(default_factory=list)


def split_parts(html: str) -> Parts:
    """Cut the document into its top-level <section> elements (slides and the appendix)."""
    depth, start, parts, ids = 0, None, [], []
    prefix_end = suffix_start = None
    for m in _SECTION.finditer(html):
        if m.group(0).startswith("<section"):
            if depth == 0:
                start = m.start()
                prefix_end = start if prefix_end is None else prefix_end
                if parts and html[suffix_start : m.start()].strip():
                    raise ReportError("the report HTML has content between its slides; cannot lay them out one by one")
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                parts.append(html[start : m.end()])
                suffix_start = m.end()
                found = re.search(r'\bid="([^"]+)"', parts[-1][: parts[-1].index(">")])
                ids.append(found.group(1) if found else f"part-{len(parts)}")
            elif depth < 0:
                raise ReportError("the report HTML has an unbalanced </section>")
    if not parts or depth:
        raise ReportError("the report HTML has no complete top-level <section>")
    return Parts(html[:prefix_end], parts, html[suffix_start:], ids)


def _sha(*chunks: bytes | str) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _fonts_fingerprint() -> str:
    """The installed font files (path, size, modification time): a font update invalidates the cache."""
    from critmet.report.fetcher import FONT_DIRS

    rows = []
    for folder in (*FONT_DIRS, Path.home() / ".fonts", Path.home() / ".local/share/fonts", Path("/etc/fonts")):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                rows.append(f"{dirpath}/{name}\t{st.st_size}\t{st.st_mtime_ns}")
    return _sha("\n".join(rows))


class PartRenderer:
    """Lays out one slide at a time with the stylesheets parsed once; keys and caches slides' PDFs."""

    def __init__(self, root: Path, out_dir: Path, prefix: str, pdf_options: dict):
        import pydyf
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        from critmet.report.fetcher import ProjectFetcher

        self.out_dir = Path(out_dir)
        self.base_url = str(self.out_dir.resolve()) + "/"
        self.pdf_options = pdf_options
        self.fetcher = ProjectFetcher(root, stylesheets=self.out_dir / "css")
        self.font_config = FontConfiguration()
        self.images: dict = {}  # WeasyPrint's image cache, shared by every slide
        self.hrefs = _STYLESHEET.findall(prefix)
        self.stylesheets = []
        css_bytes = []
        for href in self.hrefs:
            path = self.out_dir / unquote(href)
            self.fetcher.fetch(path.resolve().as_uri())  # the same refusal rules as a <link>
            css_bytes.append(path.read_bytes())
            self.stylesheets.append(
                weasyprint.CSS(
                    string=path.read_text(encoding="utf-8"),
                    base_url=str(path.resolve()),
                    url_fetcher=self.fetcher,
                    font_config=self.font_config,
                )
            )
        self.prefix = _STYLESHEET.sub("", prefix)
        # WeasyPrint copies the fonts of the @font-face rules (about 45 MB) into a temporary folder, which it
        # removes only when the FontConfiguration is collected, which a process ending with os._exit (the
        # fork server's jobs, the edition processes) may never do. `close()` removes it once the edition is
        # written; the renderer's collection or the interpreter's exit does, if close() was not reached.
        folder = getattr(self.font_config, "_folder", None)
        self._remove_fonts = weakref.finalize(self, shutil.rmtree, str(folder), True) if folder else None
        self._file_sha: dict[Path, str] = {}
        self.environment = _sha(
            CACHE_FORMAT,
            weasyprint.__version__,
            pydyf.__version__,
            json.dumps({k: v if not isinstance(v, bytes) else v.decode() for k, v in pdf_options.items()}),
            Path(__file__).read_bytes(),
            (Path(__file__).parent / "render.py").read_bytes(),
            (Path(__file__).parent / "pdfjoin.py").read_bytes(),  # the compression level slides are written at
            _fonts_fingerprint(),
            *self.hrefs,
            *css_bytes,
        )

    def close(self) -> None:
        """Remove the copies of the fonts WeasyPrint made for this renderer (after the last slide is written)."""
        if self._remove_fonts is not None:
            self._remove_fonts()

    # ------------------------------------------------------------------------------------------ layout
    def document(self, part: str, suffix: str, number: int):
        """The slide laid out on its own, as page `number` of the whole document (a WeasyPrint Document
        holding only the slide's own pages). The slide is its document's first page, so `@page :first`
        matches it: its page counter starts at `number` there, and for any page but the report's first
        `_NOT_FIRST` gives back the footer and page number that page.css's `:first` rule takes from the cover.
        (No stylesheet may tell left pages from right ones: a test keeps page.css free of :left and :right.)"""
        import weasyprint

        extra = weasyprint.CSS(
            string=f"@page :first {{ counter-reset: page {number} }}" + (_NOT_FIRST if number > 1 else ""),
            font_config=self.font_config,
        )
        body = self.prefix + part + suffix
        return weasyprint.HTML(string=body, base_url=self.base_url, url_fetcher=self.fetcher).render(
            stylesheets=[*self.stylesheets, extra],
            font_config=self.font_config,
            cache=self.images,
            **self.pdf_options,
        )

    # ---------------------------------------------------------------------------------------------- keys
    def _file(self, path: Path) -> str:
        path = path.resolve()
        if path not in self._file_sha:
            try:
                self._file_sha[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._file_sha[path] = "missing"
        return self._file_sha[path]

    def key(self, htmls: list[str], number: int) -> str:
        """A slide's cache key: its HTML (at one or several fit levels), its number, the files it refers to."""
        htmls = [self.prefix, *htmls]
        refs = sorted({unescape(r) for html in htmls for r in _REFERENCE.findall(html) if ":" not in r})
        files = [f"{r}\t{self._file(self.out_dir / unquote(r))}" for r in refs]
        return _sha(self.environment, str(number), *htmls, *files)


class PageCache:
    """results/.cache/pages/<lang>/: fit decisions and slides' PDFs. Entries not used by a build are removed
    at its end (`prune`), so the folder holds one edition's slides and does not grow."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self.used: set[str] = set()
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path | None:
        if self.folder is None:
            return None
        self.used.add(name)
        return self.folder / name

    def get_json(self, kind: str, key: str) -> dict | None:
        path = self._path(f"{kind}-{key}.json")
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        except (OSError, ValueError):
            return None

    def put_json(self, kind: str, key: str, value: dict) -> None:
        path = self._path(f"{kind}-{key}.json")
        if path is not None:
            atomic_write_text(path, json.dumps(value, ensure_ascii=False, sort_keys=True))

    def get_pdf(self, key: str) -> bytes | None:
        """A slide's PDF (its bookmarks and fonts are `get_json("page", key)`: use it only with them)."""
        path = self._path(f"page-{key}.pdf")
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    def put_pdf(self, key: str, pdf: bytes) -> None:
        path = self._path(f"page-{key}.pdf")
        if path is not None:
            atomic_write_bytes(path, pdf)

    def prune(self) -> None:
        if self.folder is None:
            return
        for path in self.folder.iterdir():
            if path.name not in self.used and path.suffix in (".json", ".pdf", ".font"):
                path.unlink(missing_ok=True)


def bookmarks_of(document) -> list[list]:
    """Each page's bookmarks (level, label, x, y in PDF points from the bottom left, state): enough to
    rebuild WeasyPrint's outline of the whole document (critmet.report.pdfjoin.join)."""
    from weasyprint.matrix import Matrix

    out = []
    for page in document.pages:
        matrix = Matrix(a=0.75, d=-0.75, f=page.height * 0.75)
        rows = []
        for level, label, (x, y), state in page.bookmarks:
            px, py = matrix.transform_point(x, y)
            rows.append([level, label, px, py, state])
        out.append(rows)
    return out


# ------------------------------------------------------------------------------------------ shared fonts
# WeasyPrint keeps glyph ids in its subsets (HarfBuzz's RETAIN_GIDS), so a subset holding the glyphs of every
# slide serves every slide: the edition embeds one subset per font instead of one per slide and font (the
# Japanese edition would otherwise be about ten times larger: each CJK subset carries the metrics of every
# glyph id up to the highest used). While a slide is written, `FontRecorder` records the fonts it uses (the
# glyph ids, and the full font once per font in results/.cache/fonts/) and leaves a placeholder in the slide's
# PDF instead of a subset; `shared_subsets` makes each font's subset for the glyphs of all slides, with
# WeasyPrint's own subsetting code, caches it, and the join puts it in place of the placeholders.


FONT_PLACEHOLDER = b"critmet: font program left to the join"


class FontRecorder:
    """Records the fonts WeasyPrint subsets while it writes a slide's PDF, instead of subsetting them."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self.sources: dict[tuple[bytes, int], str] = {}  # (font name, size) -> sha256 of the full font
        self.fonts: dict[str, dict] = {}
        self._faces: dict[tuple[int, int], bytes] = {}  # (address, length) of a face's data -> its bytes

    def __enter__(self):
        from weasyprint.pdf import fonts

        self._original = original = fonts.Font.clean
        self._read_face = read_face = fonts.get_hb_object_data
        recorder = self

        def face_data(hb_object, ot_color=None, glyph=None):
            """WeasyPrint copies the whole font file out of HarfBuzz for every font of every slide it writes
            (16 MB for the CJK face): the copy is kept for the next slides."""
            if ot_color is not None:
                return read_face(hb_object, ot_color, glyph)
            return recorder._face_bytes(hb_object, read_face)

        fonts.get_hb_object_data = face_data

        def clean(font, to_unicode, hinting):
            recorder.record(font, to_unicode, hinting)
            if not to_unicode:  # a font WeasyPrint embeds whole: as it is
                return original(font, to_unicode, hinting)
            # The join embeds one subset per font for every slide (`shared_subsets`), so the slide's own subset
            # would be thrown away: it is not made (subsetting the CJK face took about a third of writing a
            # Japanese slide). The slide's PDF holds a placeholder the join replaces, and refuses to keep; it
            # starts as the subset would (WeasyPrint tells a CFF font from a TrueType one by the first bytes).
            cff = any(str(tag).strip() in ("CFF", "CFF2") for tag in font.tables)
            font.file_content = (b"OTTO" if cff else b"\x00\x01\x00\x00") + FONT_PLACEHOLDER
            return None

        fonts.Font.clean = clean
        self.fonts = {}
        return self

    def __exit__(self, *exc):
        from weasyprint.pdf import fonts

        fonts.Font.clean = self._original
        fonts.get_hb_object_data = self._read_face
        return False

    def _face_bytes(self, hb_face, read_face) -> bytes | None:
        """The bytes of a HarfBuzz face's font file, from the copy kept for its data's address and length, if
        that copy still matches the data there (checked at its start, middle and end)."""
        from weasyprint.text.ffi import ffi, harfbuzz

        blob = harfbuzz.hb_face_reference_blob(hb_face)
        try:
            length = ffi.new("unsigned int *")
            data = harfbuzz.hb_blob_get_data(blob, length)
            size = int(length[0])
            if data == ffi.NULL or size < 4096:
                return read_face(hb_face)
            key = (int(ffi.cast("uintptr_t", data)), size)
            kept = self._faces.get(key)
            view = ffi.buffer(data, size)
            if kept is None or any(view[i : i + 1024] != kept[i : i + 1024] for i in (0, size // 2, size - 1024)):
                kept = self._faces[key] = read_face(hb_face)
            return kept
        finally:
            harfbuzz.hb_blob_destroy(blob)

    def record(self, font, to_unicode, hinting) -> None:
        key = (font.name, len(font.file_content))
        if key not in self.sources:
            digest = hashlib.sha256(font.file_content).hexdigest()
            if self.folder is not None:
                path = self.folder / f"{digest}.font"
                if not path.exists():
                    atomic_write_bytes(path, font.file_content)
            self.sources[key] = digest
        self.fonts[font.name.decode()[1:]] = {
            "source": self.sources[key],
            "index": font.index,
            "gids": sorted(int(g) for g in to_unicode),
            "hinting": bool(hinting),
            "missing": sorted([int(c), int(g)] for c, g in font.missing.items()),
            "tables": list(font.tables),
            "flags": [bool(font.png), bool(font.svg), bool(font.colr)],
            "family": font.family,
            "style": int(font.style),
            "weight": int(font.weight),
            "font_size": float(font.font_size or 0),
            "variations": dict(font.variations),
        }


_HB = None


def _harfbuzz_face(data: bytes, index: int):
    """A HarfBuzz face of `data` through WeasyPrint's own cffi bindings (the same library)."""
    global _HB
    from weasyprint.text import ffi as wffi

    if _HB is None:
        wffi.ffi.cdef(
            "hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data,"
            " void *destroy); hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);"
        )
        _HB = wffi._dlopen(wffi.ffi, "libharfbuzz.so.0", "libharfbuzz-0", "harfbuzz", "libharfbuzz.0.dylib")
    buffer = wffi.ffi.from_buffer(data)
    blob = _HB.hb_blob_create(buffer, len(data), 1, wffi.ffi.NULL, wffi.ffi.NULL)  # read-only, not copied
    face = wffi.ffi.gc(_HB.hb_face_create(blob, index), wffi.harfbuzz.hb_face_destroy)
    return face, (buffer, blob)


def shared_subsets(
    pages_fonts: list[dict[str, dict]], fonts_folder: Path, subset_folder: Path | None = None, used: set | None = None
) -> dict[str, bytes]:
    """{font name (TAG+Name): the font subset for the glyphs of every page}, made as WeasyPrint makes its
    subsets (weasyprint.pdf.fonts.Font.clean) from the full fonts in `fonts_folder`, cached in
    `subset_folder` (by default the same) by font and glyph set; the names of the files used go to `used`."""
    subset_folder = Path(subset_folder or fonts_folder)
    from weasyprint.pdf.fonts import Font

    merged: dict[str, dict] = {}  # by font file
    names: dict[str, str] = {}
    for fonts in pages_fonts:
        for name, info in fonts.items():
            names[name] = info["source"]
            entry = merged.setdefault(info["source"], {**info, "gids": set(), "missing": {}})
            entry["gids"].update(info["gids"])
            entry["missing"].update({c: g for c, g in info["missing"]})
            entry["hinting"] = entry["hinting"] or info["hinting"]
    subsets = {}
    for source, info in merged.items():
        gids = sorted(info["gids"])
        key = _sha(source, str(info["index"]), json.dumps([gids, sorted(info["missing"].items()), info["hinting"]]))
        cached = subset_folder / f"subset-{key}.font"
        if used is not None:
            used.add(cached.name)
        if cached.exists():
            subsets[source] = cached.read_bytes()
            continue
        data = (fonts_folder / f"{info['source']}.font").read_bytes()
        font = Font.__new__(Font)
        font.hb_face, keep = _harfbuzz_face(data, info["index"])
        font.file_content, font.index = data, info["index"]
        font.missing = dict(info["missing"])
        font.tables = info["tables"]
        font.png, font.svg, font.colr = info["flags"]
        font.family, font.style, font.weight = info["family"], info["style"], info["weight"]
        font.font_size, font.variations = info["font_size"], dict(info["variations"])
        font.clean({gid: "" for gid in gids}, info["hinting"])
        del keep
        atomic_write_bytes(cached, font.file_content)
        subsets[source] = font.file_content
    return {name: subsets[source] for name, source in names.items()}
