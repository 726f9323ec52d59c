"""Render the bilingual executive summary: HTML per language from Jinja templates, then PDFs with WeasyPrint.

One Jinja environment (StrictUndefined, autoescape, filters from critmet.report.filters). The text files are
rendered first (critmet.report.text), then the page templates place text, figures and data tables. WeasyPrint
fetches only files inside the project. The Japanese and English documents are laid out once each; the
bilingual PDF reuses their pages, so it holds one bookmark tree per language.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2

from critmet.io import atomic_write_bytes, atomic_write_text, load_yaml, read_json
from critmet.report import ReportError
from critmet.report.claims import apply_claims
from critmet.report.filters import FILTERS
from critmet.report.pages import (
    FontRecorder,
    PageCache,
    PartRenderer,
    Parts,
    bookmarks_of,
    shared_subsets,
    split_parts,
)
from critmet.report.tables import DataTables
from critmet.report.text import load_text_file, render_strings
from critmet.validate import load_codes

PDF_OPTIONS = {"pdf_tags": True, "pdf_identifier": b"critmet-executive-summary", "uncompressed_pdf": False}


def make_env(templates_dir: str | Path, bytecode_dir: str | Path | None = None) -> jinja2.Environment:
    """The one Jinja environment: strict about unknown names, escaping everything by default. With
    `bytecode_dir`, compiled templates are kept there (a job skips compiling them: about 0.3 s)."""
    if bytecode_dir is not None:
        Path(bytecode_dir).mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(bytecode_dir)) if bytecode_dir is not None else None,
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


@dataclass
class Inputs:
    templates_dir: Path
    text_dir: Path
    data_dir: Path
    figures_dir: Path
    raw_dir: Path
    variables_json: Path
    config: dict
    root: Path = Path(".")  # the project folder: the only place (with system fonts) resources may come from
    changes_json: Path | None = None  # what changed since the latest edition (critmet.editions)


def load_texts(text_dir: Path, lang: str, page_ids: list[str], env, variables: dict) -> dict:
    """All text files of one language, rendered. A page without a text file is an error naming it."""
    values = {name: item["value"] for name, item in variables.items()}
    texts = {}
    for name in ["common", "figures", "appendix", *page_ids]:
        path = text_dir / lang / f"{name}.yaml"
        if not path.exists():
            raise ReportError(f"{path}: missing text file for page '{name}' ({lang})")
        node, _ = apply_claims(load_text_file(path), values, path)  # claims checked; alternatives substituted
        texts[name] = render_strings(node, env, values, lang)
    return texts


def check_same_keys(a: dict, b: dict, where: str) -> None:
    """Both languages of a text file must have the same structure (no untranslated or missing entry)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            diff = sorted(set(a) ^ set(b))
            raise ReportError(f"{where}: keys differ between the languages: {diff}")
        for key in a:
            check_same_keys(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise ReportError(f"{where}: {len(a)} items in one language, {len(b)} in the other")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            check_same_keys(x, y, f"{where}[{i}]")


def check_languages_match(text_files: list[Path], values: dict) -> None:
    """Every text file of templates/text/<lang>/ exists in each language with the same structure, claims
    resolved (nothing untranslated or missing). Each edition renders one language, so the report job runs this
    first, over every text file (critmet.report.claims.list_variables)."""
    by_name: dict[str, dict[str, Path]] = {}
    for path in text_files:
        if path.parent.parent.name == "text":  # templates/text/<lang>/<name>.yaml, not the glossaries
            by_name.setdefault(path.name, {})[path.parent.name] = path
    langs = sorted({lang for paths in by_name.values() for lang in paths})
    for name, paths in sorted(by_name.items()):
        for lang in langs:
            if lang not in paths:
                raise ReportError(f"templates/text/{lang}/{name}: missing (the other languages have it)")
        nodes = {lang: apply_claims(load_text_file(path), values, path)[0] for lang, path in paths.items()}
        for lang in langs[1:]:
            check_same_keys(nodes[langs[0]], nodes[lang], f"templates/text/*/{name}")


def data_notes_on(config: dict) -> bool:
    """config.yaml `appendix.data_notes`: add the appendix "Notes on the data" (off unless switched on)."""
    return bool((config.get("appendix") or {}).get("data_notes", False))


def relative_href(target: Path, html_dir: Path) -> str:
    """A link from an HTML file in `html_dir` to `target`, relative to it: a copied or published results/
    folder still finds its figures and styles (no absolute file:// path of the build folder)."""
    return quote(Path(os.path.relpath(Path(target).resolve(), Path(html_dir).resolve())).as_posix())


def copy_stylesheets(templates_dir: Path, html_dir: Path) -> None:
    """The stylesheets next to the HTML (css/), where its relative links point. Rewritten only if changed."""
    for css in sorted((templates_dir / "css").glob("*.css")):
        target = html_dir / "css" / css.name
        if not target.exists() or target.read_bytes() != css.read_bytes():
            atomic_write_bytes(target, css.read_bytes())


def figure_context(figures_dir: Path, page_specs: list[dict], lang: str, html_dir: Path = Path(".")) -> dict:
    figs = {}
    for page in page_specs:
        for fig in page.get("figures", []):
            meta_path = figures_dir / "meta" / f"{fig}.json"
            if not meta_path.exists():
                raise ReportError(f"page {page['id']}: figure '{fig}' has not been drawn ({meta_path} missing)")
            meta = read_json(meta_path)
            figs[fig] = {
                "src": relative_href(figures_dir / lang / f"{fig}.svg", html_dir),
                "alt": meta["alt"][lang],
                "title": meta["title"][lang],
                "source": meta["source"][lang],
                "tables": meta["tables"],
            }
    return figs


def build_html(
    inputs: Inputs,
    lang: str,
    env: jinja2.Environment,
    variables: dict,
    pages: list[dict],
    texts: dict,
    data: DataTables,
    html_dir: Path = Path("."),
) -> str:
    """The HTML of one language, its links relative to `html_dir` (where it is written; stylesheets in css/)."""
    figs = figure_context(inputs.figures_dir, pages, lang, html_dir)
    template = env.get_template("report.html.j2")
    view = data.for_lang(lang, texts["common"]["labels"])
    try:
        return template.render(
            lang=lang,
            pages=pages,
            t=texts,
            v={name: item["value"] for name, item in variables.items()},
            figs=figs,
            config=inputs.config,
            data=view,
            changes=read_json(inputs.changes_json)
            if inputs.changes_json
            else {"first": True, "values": [], "inputs": []},
            appendix=view.data_notes() if data_notes_on(inputs.config) else None,
            css=[f"css/{name}" for name in ("fonts.css", "page.css", "components.css", f"lang-{lang}.css")],
        )
    except jinja2.UndefinedError as exc:
        raise ReportError(f"{_template_location(exc)}: {exc.message}") from None


def _template_location(exc: BaseException) -> str:
    tb = exc.__traceback__
    where = "templates"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


PX_TO_MM = 25.4 / 96


def _boxes_with_class(box, name: str):
    for b in box.descendants():
        element = getattr(b, "element", None)
        if element is not None and name in (element.get("class") or "").split():
            yield b


def _slide_id(page_box) -> str | None:
    slide = next(_boxes_with_class(page_box, "slide"), None)
    return slide.element.get("id") if slide is not None else None


def measure(document, pages: list[dict]) -> tuple[dict[str, str], dict[str, float]]:
    """(content pages whose content runs into the footnotes or past the bottom of the slide, or that spilled
    onto a second PDF page: {page id: what is wrong}; the share of each content page's body height its
    content uses, from the top of the body to the footnotes)."""
    by_id = {page["id"]: page for page in pages}
    problems: dict[str, str] = {}
    fills: dict[str, float] = {}
    seen: set[str] = set()
    for page_box in (p._page_box for p in document.pages):
        pid = _slide_id(page_box)
        if pid is None:
            continue
        page = by_id.get(pid)
        if pid in seen:
            problems.setdefault(pid, f"page {page['number']} ({pid}): the slide overflowed onto an extra PDF page")
            continue
        seen.add(pid)
        slide = next(_boxes_with_class(page_box, "slide"), None)
        body = next(_boxes_with_class(page_box, "body"), None)
        if body is None or page is None or page.get("kind") != "content":
            continue
        notes = next(_boxes_with_class(slide, "page-notes"), None)
        if notes is None:
            problems[pid] = f"page {page['number']} ({pid}): its footnotes were pushed off the slide"
            continue
        limit = notes.position_y
        bottom = max(
            (b.position_y + b.margin_top + b.border_height() for b in body.descendants() if b.border_height()),
            default=body.position_y,
        )
        fills[pid] = (bottom - body.position_y) / max(1.0, limit - body.position_y)
        if bottom > limit + 1:
            problems[pid] = (
                f"page {page['number']} ({pid}): content runs {(bottom - limit) * PX_TO_MM:.0f} mm "
                "into the footnotes or past the slide"
            )
    return problems, fills


# templates/css: .fit-1 tightens spacing; .fit-2 steps type down; .fit-3 scales charts down (below the floors:
# tests/test_design.py lists such pages)
FIT_LEVELS = 3
ROOMY_BELOW = 0.75  # a page using less of its body height gets larger type and spacing (.roomy)


class Report:
    """Everything a language edition needs, loaded once: pages, variables, text, data tables."""

    def __init__(self, inputs: Inputs, langs: list[str], env: jinja2.Environment | None = None):
        self.inputs = inputs
        self.renderer: PartRenderer | None = None  # and self.suffix: set by fit_slides
        self.env = env or make_env(inputs.templates_dir)  # the preview keeps one (compiled templates cached)
        structure = load_yaml(inputs.templates_dir / "pages.yaml")
        self.pages = [dict(page, number=i) for i, page in enumerate(structure["pages"], start=1)]
        self.variables = json.loads(inputs.variables_json.read_text(encoding="utf-8"))
        codes = load_codes(inputs.raw_dir / "codes")
        self.data = DataTables(inputs.data_dir, inputs.raw_dir, codes, inputs.config)
        page_ids = [p["id"] for p in self.pages]
        self.texts = {lang: load_texts(inputs.text_dir, lang, page_ids, self.env, self.variables) for lang in langs}
        for name in ["common", "figures", "appendix", *page_ids]:
            for lang in langs[1:]:
                check_same_keys(self.texts[langs[0]][name], self.texts[lang][name], f"templates/text/*/{name}.yaml")

    def html(self, lang: str, html_dir: Path, fit: dict[str, int] | None = None) -> str:
        pages = [dict(page, fit=(fit or {}).get(page["id"], 0)) for page in self.pages]
        return build_html(self.inputs, lang, self.env, self.variables, pages, self.texts[lang], self.data, html_dir)

    def fitted(self, lang: str, out_dir: Path):
        """Lay out the edition so that each content page fills its slide. A page whose content uses less
        than ROOMY_BELOW of the body height is laid out once more with larger type and spacing (`roomy`,
        kept only if it still fits); a page that overflows is laid out again one fit level tighter (spacing
        first, then type, then charts), up to FIT_LEVELS. Returns (html, document).

        Each slide is laid out on its own (critmet.report.pages), so a fit level that changes lays out that
        slide again, not the whole document; the decisions are those of laying out the whole document, as
        slides do not affect each other."""
        html, slides = self.fit_slides(lang, out_dir, cache=None)
        documents = [slide.document for slide in slides]
        return html, documents[0].copy([page for doc in documents for page in doc.pages])

    def fit_slides(self, lang: str, out_dir: Path, cache: PageCache | None = None) -> tuple[str, list]:
        """The fitting of `fitted`, slide by slide: (the final HTML, one `Slide` per top-level section). With a
        `cache`, a slide whose inputs are unchanged takes its fit level (and later its PDF) from it and is
        not laid out at all."""
        by_level: dict[int, Parts] = {}

        def parts_at(level: int) -> Parts:
            if level not in by_level:
                by_level[level] = split_parts(self.html(lang, out_dir, {p["id"]: level for p in self.pages}))
            return by_level[level]

        base = parts_at(0)
        renderer = PartRenderer(self.inputs.root, out_dir, base.prefix, PDF_OPTIONS)
        # The key of a fit decision: the slide's HTML at level 0 and the templates (which make the HTML of the
        # other levels from the same context; rendering every level to key it would cost more than it saves).
        templates = template_sources(self.inputs.templates_dir) if cache is not None else ""
        slides, number = [], 1
        for n, pid in enumerate(base.ids):
            slide = Slide(pid, number)
            if cache is not None:
                slide.fit_key = renderer.key([templates, base.parts[n]], number)
                known = cache.get_json("fit", slide.fit_key)
                if known is not None:
                    slide.level, slide.pages, slide.problems = known["level"], known["pages"], known["problems"]
            if slide.pages == 0:
                self._fit_slide(slide, lambda lv, n=n: parts_at(lv).parts[n], base.suffix, renderer)
                if cache is not None:
                    cache.put_json(
                        "fit",
                        slide.fit_key,
                        {"level": slide.level, "pages": slide.pages, "problems": slide.problems},
                    )
            slides.append(slide)
            number += slide.pages
        fit = {s.id: s.level for s in slides if s.level}
        html = self.html(lang, out_dir, fit)
        final = split_parts(html)
        if final.ids != base.ids:
            raise ReportError("the fitting changed the report's sections")
        for slide, part in zip(slides, final.parts, strict=True):
            slide.html = part
            if slide.document is not None and slide.laid_out != part:  # a slide that depends on another's fit
                slide.document = None
        self.renderer, self.suffix = renderer, final.suffix
        if cache is None:
            for slide in slides:
                if slide.document is None:
                    slide.document = renderer.document(slide.html, final.suffix, slide.number)
        return html, slides

    def _fit_slide(self, slide: Slide, part_at, suffix: str, renderer: PartRenderer) -> None:
        """The decisions of the fitting for one slide: level 0; an overflow steps it up, a page using less
        than ROOMY_BELOW (tried once, on the first layout) goes roomy, and back to 0 if that overflows."""
        level, roomy_tried = 0, False
        laid_out: dict[int, tuple] = {}  # level -> (part, document, problems, fills): roomy that overflows goes back
        while True:
            if level not in laid_out:
                part = part_at(level)
                document = renderer.document(part, suffix, slide.number)
                laid_out[level] = (part, document, *measure(document, self.pages))
            part, document, problems, fills = laid_out[level]
            changed = False
            if slide.id in problems:
                if level < 0:  # roomy did not fit: back to the scale, for good
                    level, changed = 0, True
                elif level < FIT_LEVELS:
                    level, changed = level + 1, True
            if not roomy_tried:
                roomy_tried = True
                used = fills.get(slide.id)
                if used is not None and used < ROOMY_BELOW and slide.id not in problems and level == 0:
                    level, changed = -1, True
            if not changed:
                slide.level, slide.document, slide.laid_out = level, document, part
                slide.pages, slide.problems = len(document.pages), problems
                return


def template_sources(templates_dir: Path) -> str:
    """The Jinja templates and the page structure, as one digest."""
    h = hashlib.sha256()
    for path in sorted(Path(templates_dir).rglob("*")):
        if path.is_file() and (path.suffix == ".j2" or path.name == "pages.yaml"):
            h.update(str(path.relative_to(templates_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass
class Slide:
    """One top-level section of the report (a slide, or the appendix) as the fitting left it."""

    id: str
    number: int  # its first page's number in the whole document
    level: int = 0
    pages: int = 0  # 0: not yet fitted
    problems: dict = field(default_factory=dict)
    fit_key: str = ""
    html: str = ""
    laid_out: str = ""  # the HTML `document` was laid out from
    document: object = None
    pdf_key: str = ""


def render_edition(inputs: Inputs, lang: str, out_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """executive_summary_<lang>.html (a preview a browser opens) and executive_summary_<lang>.pdf.

    Each slide is laid out and written on its own, and the PDF is assembled from the slides' PDFs
    (critmet.report.pdfjoin.join). With `cache_dir` (the build uses results/.cache/pages/<lang>),
    slides whose inputs did not change since the last build are neither laid out nor written again."""
    out_dir = Path(out_dir)
    jinja_dir = Path(cache_dir).parent.parent / "jinja" if cache_dir is not None else None
    report = Report(inputs, [lang], make_env(inputs.templates_dir, jinja_dir))
    copy_stylesheets(inputs.templates_dir, out_dir)
    cache = PageCache(cache_dir)
    try:
        return _write_edition(report, lang, out_dir, cache)
    finally:
        if report.renderer is not None:
            report.renderer.close()


def _write_edition(report: Report, lang: str, out_dir: Path, cache: PageCache) -> Path:
    """The fitting, the slides' PDFs and the edition's PDF of `render_edition` (`cache.folder` None: no cache)."""
    from critmet.report.pdfjoin import OBJECT_STREAM_LEVEL, deflate_level, join

    html, slides = report.fit_slides(lang, out_dir, cache=cache if cache.folder is not None else None)
    # the full fonts, kept once, beside the page cache (or in a temporary folder without a cache)
    scratch = tempfile.TemporaryDirectory(prefix="critmet-fonts-") if cache.folder is None else None
    fonts_dir = cache.folder.parent.parent / "fonts" if cache.folder is not None else Path(scratch.name)
    fonts_dir.mkdir(parents=True, exist_ok=True)
    recorder = FontRecorder(fonts_dir)
    pdfs, bookmarks, fonts = [], [], []
    for slide in slides:
        slide.pdf_key = report.renderer.key([slide.html], slide.number)
        pdf, meta = cache.get_pdf(slide.pdf_key), cache.get_json("page", slide.pdf_key)
        if (
            pdf is None
            or meta is None
            or not all((fonts_dir / f"{f['source']}.font").exists() for f in meta["fonts"].values())
        ):
            document = slide.document
            if document is None or slide.laid_out != slide.html:
                document = report.renderer.document(slide.html, report.suffix, slide.number)
            with recorder, deflate_level(OBJECT_STREAM_LEVEL):
                pdf = document.write_pdf(**PDF_OPTIONS)
            meta = {"bookmarks": bookmarks_of(document), "fonts": recorder.fonts}
            cache.put_pdf(slide.pdf_key, pdf)
            cache.put_json("page", slide.pdf_key, meta)
        pdfs.append(pdf)
        bookmarks.extend(meta["bookmarks"])
        fonts.append(meta["fonts"])
    atomic_write_text(out_dir / f"executive_summary_{lang}.html", html)
    problems = [p for slide in slides for p in slide.problems.values()]
    page_count = sum(slide.pages for slide in slides)
    page_ids = {page["id"] for page in report.pages}
    appendix = sum(slide.pages for slide in slides if slide.id not in page_ids)
    if page_count != len(report.pages) + appendix:
        problems.append(
            f"{page_count} PDF pages for {len(report.pages)} pages of templates/pages.yaml: a slide "
            "overflowed onto an extra page"
        )
    for problem in problems:
        print(f"warning: {lang}: {problem}")
    shared = shared_subsets(fonts, fonts_dir, cache.folder, cache.used)
    if scratch is not None:
        scratch.cleanup()
    edition = join(pdfs, [0] * len(pdfs), bookmarks=bookmarks, fonts=shared)
    atomic_write_bytes(out_dir / f"executive_summary_{lang}.pdf", edition)
    cache.prune()
    return out_dir / f"executive_summary_{lang}.pdf"


def _edition_worker() -> None:
    """A forked edition process: dies with the job that forked it and watches the build's owner (a thread
    does not survive the fork)."""
    from critmet.lifeline import die_with_parent, watch_owner

    die_with_parent()
    watch_owner()


def render_editions(
    inputs: Inputs,
    langs: list[str],
    out_dir: str | Path,
    cache_root: str | Path | None = None,
    bilingual: str | Path | None = None,
    workers: int = 1,
) -> list[Path]:
    """Every language edition (`render_edition`, page caches under `cache_root`/<lang>) and, if asked, the
    bilingual PDF joined from them (critmet.report.merge): one job for the three PDFs. With `workers` > 1
    the editions are laid out in that many processes forked from this one (no imports to repeat); the
    bilingual join waits for both."""
    from critmet.report.merge import merge_editions

    def cache_of(lang: str) -> Path | None:
        return Path(cache_root) / lang if cache_root is not None else None

    with _scratch_beside(cache_root):
        written = _render_all(inputs, langs, out_dir, cache_of, workers)
    if bilingual is not None:
        written.append(merge_editions(written, langs, bilingual))
    return written


@contextlib.contextmanager
def _scratch_beside(cache_root: str | Path | None):
    """With a page cache (results/.cache/pages), the temporary files of the rendering (WeasyPrint's copies of
    the @font-face fonts, about 45 MB per edition) go to results/.cache/tmp/, emptied first: a render that was
    killed could not remove its own, and the next one removes them. Without a cache, the system's."""
    if cache_root is None:
        yield
        return
    scratch = Path(cache_root).parent / "tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    before, tempfile.tempdir = tempfile.tempdir, str(scratch)
    try:
        yield
    finally:
        tempfile.tempdir = before


def _render_all(inputs: Inputs, langs: list[str], out_dir, cache_of, workers: int) -> list[Path]:
    """The editions of `render_editions`, side by side in forked processes when `workers` > 1."""
    if workers > 1 and len(langs) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(langs)), mp_context=context, initializer=_edition_worker) as pool:
            futures = [pool.submit(render_edition, inputs, lang, out_dir, cache_of(lang)) for lang in langs]
            return [future.result() for future in futures]
    return [render_edition(inputs, lang, out_dir, cache_of(lang)) for lang in langs]
