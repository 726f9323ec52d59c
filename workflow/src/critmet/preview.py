"""Live preview of the report (`make preview`): the HTML of every language, following every save.

A small server on 127.0.0.1 (stdlib `http.server`) shows the HTML preview of each language. `watchfiles`
watches the text files, templates, stylesheets, the variable spec, the raw tables and the config; after a save
the preview rebuilds only what the change touches, then tells the open pages to reload (server-sent events):

* a text file of one language (not the chart words), a template, `pages.yaml`: that HTML is rendered again in
  this process (modules stay imported, so it takes a fraction of a second); no PDF, no figure;
* a stylesheet: nothing to render, the page reloads (stylesheets are served from `templates/css/`);
* a raw table, the variable spec, the chart words (`figures*.yaml`), the code lists, the figure style or the
  config: Snakemake first brings the cleaned data, the variables and the figures up to date (target
  `preview_inputs`: only the jobs the change touches run; never a PDF), then the HTML is rendered.

A build error (a bad raw table, a misspelt variable, a broken template) replaces the page with the error,
naming file, line and message, until the next save fixes it: never a stale preview.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import os
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2

from critmet.io import load_yaml

DEFAULT_PORT = 8000
PREFIX = "/_preview"
WATCHED = ("templates", "data/raw", "config", "workflow/src/critmet/figures/style.yaml")
SUFFIXES = (".yaml", ".yml", ".j2", ".css", ".csv")

RELOAD_SCRIPT = """<script>
(() => {{
  const version = {version};
  const events = new EventSource("{prefix}/events");
  events.onmessage = (event) => {{ if (Number(event.data) !== version) location.reload(); }};
}})();
</script>
"""

ERROR_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Build error — preview</title>
<style>body {{ font: 15px/1.5 sans-serif; margin: 2em; }} pre {{ background: #fff3f0; border-left: 4px solid #c0392b;
padding: 1em; white-space: pre-wrap; }}</style>
{script}</head>
<body><h1>Build error</h1><p>The preview of <b>{lang}</b> could not be rebuilt; it will reload after the next save.</p>
<pre class="build-error">{message}</pre></body></html>
"""

INDEX_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Report preview</title>{script}</head>
<body><h1>Report preview</h1><ul>{items}</ul></body></html>
"""


@dataclass
class Plan:
    """What a set of saved files asks for."""

    snakemake: bool = False
    langs: set[str] = field(default_factory=set)
    reload: bool = False  # nothing to rebuild, but the page shows the file (a stylesheet)

    def __bool__(self) -> bool:
        return self.snakemake or bool(self.langs) or self.reload


def plan_for(paths: list[str | Path], root: Path, langs: list[str]) -> Plan:
    """Which work a save needs: Snakemake (data, variables, figures) and/or the HTML of some languages."""
    plan = Plan()
    for path in paths:
        try:
            rel = Path(path).resolve().relative_to(root.resolve())
        except ValueError:
            continue
        parts = rel.parts
        if rel.suffix not in SUFFIXES:
            continue
        if rel.suffix == ".css":  # served live from templates/css: the page only reloads
            plan.reload = True
        elif parts[:2] == ("templates", "text") and len(parts) == 4 and parts[2] in langs:
            plan.langs.add(parts[2])  # one language's text: its HTML only
            plan.snakemake = plan.snakemake or rel.name.startswith("figures")  # chart words: charts redrawn
        elif parts[0] == "templates" and rel.name != "variables.yaml" and parts[1] != "text":
            plan.langs |= set(langs)  # a template or pages.yaml: every language's HTML
        else:  # raw table, code list, variable spec, glossary, config, chart style: data and figures first
            plan.snakemake = True
            plan.langs |= set(langs)
    return plan


def error_message(exc: BaseException) -> str:
    """An error as the researcher needs it: the file and line at fault, and what is wrong."""
    from critmet.report import ReportError

    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}"
    if isinstance(exc, ReportError):
        return str(exc)
    if isinstance(exc, jinja2.TemplateError):
        where = "templates"
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.endswith(".j2"):
                where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
            tb = tb.tb_next
        return f"{where}: {exc}"
    mark = getattr(exc, "problem_mark", None)  # YAML
    if mark is not None:
        return f"{getattr(mark, 'name', '?')}:{mark.line + 1}: {getattr(exc, 'problem', exc)}"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f"{frame.filename}:{frame.lineno}: " if frame else ""
    return f"{where}{type(exc).__name__}: {exc}"


class Preview:
    """The rendered pages (or their errors), and a version number that every rebuild increments."""

    def __init__(self, root: Path, cores: int = 2, snakemake: str | None = None):
        self.root = root.resolve()
        self.cores = cores
        self.snakemake_bin = snakemake or str(Path(sys.executable).parent / "snakemake")
        self.config = load_yaml(self.root / "config" / "config.yaml")
        self.langs = list(self.config["languages"])
        self.pages: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.pipeline_error: str | None = None
        self.key_error: str | None = None
        self.texts: dict[str, dict] = {}
        self.env: jinja2.Environment | None = None
        self.version = 0
        self.changed = threading.Condition()
        self.build_lock = threading.Lock()

    # ------------------------------------------------------------------------------------------ building
    def run_snakemake(self) -> str | None:
        """Bring data, variables and figures up to date (never a PDF). None, or the error to show."""
        from critmet.validate import RawDataError, validate_all

        try:
            validate_all(self.root / "data" / "raw")  # the one clear message for a bad table, before anything
        except RawDataError as err:
            return f"invalid raw data: {err}".replace(f"{self.root}{os.sep}", "")
        cmd = [self.snakemake_bin, "--cores", str(self.cores), "--nocolor", "--quiet", "all", "--", "preview_inputs"]
        env = {**os.environ, "PATH": f"{Path(self.snakemake_bin).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.setdefault("MPLBACKEND", "Agg")
        proc = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            return None
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        return "Snakemake could not update the data and figures:\n" + "\n".join(lines[-25:])

    def inputs(self):
        from critmet.report.render import Inputs

        html_dir = self.root / "results" / "report"
        changes = html_dir / "changes.json"
        return Inputs(
            templates_dir=self.root / "templates",
            text_dir=self.root / "templates" / "text",
            data_dir=self.root / "results" / "data",
            figures_dir=self.root / "results" / "figures",
            raw_dir=self.root / "data" / "raw",
            variables_json=html_dir / "variables.json",
            config=self.config,
            root=self.root,
            changes_json=changes if changes.exists() else None,
        )

    def environment(self) -> jinja2.Environment:
        """One Jinja environment for the life of the preview: a template is compiled again only when its file
        changes (Jinja checks), and each text string only when it is new."""
        if self.env is None:
            from critmet.report.render import make_env

            self.env = make_env(self.root / "templates")
            self.env.from_string = functools.lru_cache(maxsize=20000)(self.env.from_string)
        return self.env

    def render(self, langs: list[str]) -> None:
        """The HTML of `langs`, rendered here; then both languages' text is compared key by key, as the build
        does (a key missing in one language is shown on every page until it is fixed)."""
        from critmet.report.render import Report, check_same_keys

        try:
            self.config = load_yaml(self.root / "config" / "config.yaml")
            inputs = self.inputs()
        except Exception as exc:  # noqa: BLE001 - every failure is shown in the page
            self.errors.update({lang: self.message(exc) for lang in langs})
            return
        for lang in langs:
            try:
                report = Report(inputs, [lang], self.environment())
                self.pages[lang] = report.html(lang, self.root / "results" / "report")
                self.texts[lang] = report.texts[lang]
                self.errors.pop(lang, None)
            except Exception as exc:  # noqa: BLE001
                self.errors[lang] = self.message(exc)
        self.key_error = None
        first, *others = [lang for lang in self.langs if lang in self.texts] or [None]
        try:
            for name in self.texts.get(first, {}):
                for lang in others:
                    check_same_keys(self.texts[first][name], self.texts[lang][name], f"templates/text/*/{name}.yaml")
        except Exception as exc:  # noqa: BLE001
            self.key_error = self.message(exc)

    def message(self, exc: BaseException) -> str:
        """The error, with paths relative to the project."""
        return error_message(exc).replace(f"{self.root}{os.sep}", "")

    def rebuild(self, plan: Plan) -> None:
        with self.build_lock:
            if plan.snakemake:
                self.pipeline_error = self.run_snakemake()
            if self.pipeline_error is None and plan.langs:
                self.render(sorted(plan.langs, key=self.langs.index))
            self.bump()

    def bump(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def describe(self, plan: Plan) -> str:
        what = ["data and figures"] if plan.snakemake else []
        what += [f"{lang} HTML" for lang in sorted(plan.langs)] or ([] if what else ["reload"])
        return ", ".join(what)

    def report(self) -> None:
        """The errors of the last rebuild, on the terminal too."""
        errors = [self.pipeline_error, self.key_error, *(f"{lang}: {m}" for lang, m in sorted(self.errors.items()))]
        for message in errors:
            if message:
                print(f"error: {message.splitlines()[0]}", flush=True)

    # ------------------------------------------------------------------------------------------- serving
    def page(self, lang: str) -> str:
        script = RELOAD_SCRIPT.format(version=self.version, prefix=PREFIX)
        error = self.pipeline_error or self.errors.get(lang) or self.key_error
        if error or lang not in self.pages:
            return ERROR_PAGE.format(script=script, lang=lang, message=html.escape(error or "not built yet"))
        text = self.pages[lang]
        head = text.find("</head>")
        return text[:head] + script + text[head:] if head >= 0 else script + text

    def index(self) -> str:
        items = "".join(f'<li><a href="report/executive_summary_{lang}.html">{lang}</a></li>' for lang in self.langs)
        return INDEX_PAGE.format(script=RELOAD_SCRIPT.format(version=self.version, prefix=PREFIX), items=items)

    def static_file(self, url_path: str) -> Path | None:
        """/report/css/* from templates/css (live), /figures/* from results/figures; nothing else."""
        parts = [p for p in unquote(url_path).split("/") if p]
        if any(p in ("..", ".") for p in parts):
            return None
        if parts[:2] == ["report", "css"] and len(parts) == 3:
            path = self.root / "templates" / "css" / parts[2]
        elif parts[:1] == ["figures"]:
            path = self.root / "results" / "figures" / Path(*parts[1:])
        else:
            return None
        return path if path.is_file() else None


CONTENT_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}


def make_handler(preview: Preview):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - keep the terminal for rebuild messages
            pass

        def send(self, body: bytes, content_type: str, status=HTTPStatus.OK, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache" if etag else "no-store")
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            path = urlparse(self.path).path
            if path == f"{PREFIX}/events":
                return self.events()
            if path == f"{PREFIX}/status":
                status = {"version": preview.version, "errors": preview.errors, "pipeline": preview.pipeline_error}
                return self.send(json.dumps(status).encode(), "application/json")
            if path in ("/", "/index.html"):
                return self.send(preview.index().encode(), "text/html; charset=utf-8")
            for lang in preview.langs:
                if path == f"/report/executive_summary_{lang}.html":
                    return self.send(preview.page(lang).encode(), "text/html; charset=utf-8")
            file = preview.static_file(path)
            if file is None:
                return self.send(b"not found", "text/plain", HTTPStatus.NOT_FOUND)
            # figures and stylesheets: the browser revalidates them on a reload (304 when unchanged)
            tag = f'"{file.stat().st_mtime_ns:x}-{file.stat().st_size:x}"'
            if self.headers.get("If-None-Match") == tag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", tag)
                self.send_header("Content-Length", "0")
                return self.end_headers()
            return self.send(file.read_bytes(), CONTENT_TYPES.get(file.suffix, "application/octet-stream"), etag=tag)

        def events(self) -> None:
            """Server-sent events: the current version now, then each new one (the page reloads on a change)."""
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = None
            try:
                while True:
                    with preview.changed:
                        if seen == preview.version:
                            preview.changed.wait(timeout=15)
                        version = preview.version
                    if version != seen:
                        self.wfile.write(f"data: {version}\n\n".encode())
                    else:
                        self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    seen = version
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def bind(handler, port: int | None, preferred: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """The server on 127.0.0.1: the given port (0: any free one), or the first free port from `preferred`."""
    candidates = [port] if port is not None else list(range(preferred, preferred + 100))
    for candidate in candidates:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", candidate), handler)
        except OSError:
            continue
        server.daemon_threads = True
        return server
    raise SystemExit(f"error: no free port in {candidates[0]}-{candidates[-1]} on 127.0.0.1")


def watch(preview: Preview, stop: threading.Event) -> None:
    """Rebuild after each batch of saves (watchfiles groups the events of one save)."""
    import watchfiles

    paths = [preview.root / p for p in WATCHED if (preview.root / p).exists()]
    for changes in watchfiles.watch(*paths, step=20, stop_event=stop, debounce=400):
        plan = plan_for([p for _, p in changes], preview.root, preview.langs)
        if plan:
            names = sorted({os.path.relpath(p, preview.root) for _, p in changes})
            print(f"changed: {', '.join(names)} -> {preview.describe(plan)}", flush=True)
            preview.rebuild(plan)
            preview.report()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--port", type=int, help="port (0: any free port); default: preview.port in config")
    parser.add_argument("--cores", type=int, default=2, help="cores for the Snakemake runs")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    preview = Preview(root, cores=args.cores)
    preferred = (preview.config.get("preview") or {}).get("port") or DEFAULT_PORT
    server = bind(make_handler(preview), args.port, preferred)
    host, port = server.server_address[:2]
    print("preparing data, figures and HTML (Snakemake, no PDF)...", flush=True)
    preview.rebuild(Plan(snakemake=True, langs=set(preview.langs)))
    preview.report()
    for lang in preview.langs:
        print(f"preview ({lang}): http://{host}:{port}/report/executive_summary_{lang}.html", flush=True)
    print(f"serving http://{host}:{port}/ (Ctrl+C stops)", flush=True)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(preview, stop), daemon=True)
    watcher.start()
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
