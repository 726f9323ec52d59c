"""The editing loop: `make preview` in a real headless browser (a save shows in the open page within 2 s, a build
error replaces the page), which saves rebuild what, portable HTML previews, and the Snakemake profiles."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from conftest import BIN, ROOT, project_copy
from critmet.preview import plan_for

LANGS = ["ja", "en"]


# ------------------------------------------------------------------------------------------- what rebuilds
@pytest.mark.parametrize(
    ("path", "snakemake", "langs", "reload"),
    [
        ("templates/text/en/p26_supply_ga.yaml", False, {"en"}, False),
        ("templates/text/ja/common.yaml", False, {"ja"}, False),
        ("templates/text/en/figures_bars.yaml", True, {"en"}, False),  # chart words: the charts are redrawn
        ("templates/pages/content.html.j2", False, {"ja", "en"}, False),
        ("templates/pages.yaml", False, {"ja", "en"}, False),
        ("templates/css/page.css", False, set(), True),
        ("templates/variables.yaml", True, {"ja", "en"}, False),
        ("data/raw/ga_supply.csv", True, {"ja", "en"}, False),
        ("data/raw/codes/countries.csv", True, {"ja", "en"}, False),
        ("config/config.yaml", True, {"ja", "en"}, False),
        ("workflow/src/critmet/figures/style.yaml", True, {"ja", "en"}, False),
        ("templates/text/en/.p26_supply_ga.yaml.swp", False, set(), False),
        ("README.md", False, set(), False),
    ],
)
def test_a_save_rebuilds_only_what_it_touches(path, snakemake, langs, reload):
    plan = plan_for([ROOT / path], ROOT, LANGS)
    assert (plan.snakemake, plan.langs, plan.reload) == (snakemake, langs, reload)


# -------------------------------------------------------------------------------------------- the browser
def find_chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.skip("no chromium here (as root, workflow/tools/install_system_deps.sh installs it)")
    pytest.fail("chromium is missing: run `bash workflow/tools/install_system_deps.sh` (make test does)")


class Browser:
    """Headless Chromium driven through its DevTools protocol (one page)."""

    def __init__(self, binary: str, profile: Path):
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            assert self.proc.poll() is None, "chromium exited"
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        self.page_url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
        self.ws = None
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
        return result["result"].get("value", "")

    def wait_for(self, predicate, timeout: float) -> float:
        """Seconds until predicate(page text) holds; fails after `timeout`."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if predicate(self.text()):
                    return time.monotonic() - start
            except (AssertionError, KeyError):
                pass  # the page is being replaced
            time.sleep(0.05)
        raise AssertionError(f"not seen within {timeout} s; the page shows:\n{self.text()[:1500]}")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def preview_server(built, tmp_path):
    """`python -m critmet.preview` on a copy of the built project, on a free port. Yields (root, base URL)."""
    root = tmp_path / "project"
    shutil.copytree(built, root, symlinks=True, ignore=shutil.ignore_patterns("locks", "incomplete", "__pycache__"))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "critmet.preview", "--root", str(root), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen, url = [], None
    deadline = time.monotonic() + 180
    while url is None:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            raise AssertionError("the preview did not start:\n" + "".join(seen)) from None
        seen.append(line)
        match = re.match(r"serving (http://127\.0\.0\.1:\d+)/", line)
        url = match.group(1) if match else None
    try:
        yield root, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_the_open_page_follows_every_save(preview_server, tmp_path):
    with contextlib.ExitStack() as stack:
        _follow_saves(stack, *preview_server, tmp_path)


def _follow_saves(stack, root, url, tmp_path):
    pdf = root / "results" / "report" / "executive_summary_en.pdf"
    pdf_before = pdf.stat().st_mtime_ns
    text_file = root / "templates" / "text" / "en" / "p26_supply_ga.yaml"
    original = text_file.read_text(encoding="utf-8")
    assert 'title: "Supply trend: refined gallium"' in original

    from websockets.sync.client import connect

    browser = Browser(find_chromium(), tmp_path / "chromium")
    try:
        browser.ws = stack.enter_context(connect(browser.page_url, max_size=None))
        browser.call("Page.enable")
        browser.call("Page.navigate", url=f"{url}/report/executive_summary_en.html")
        browser.wait_for(lambda text: "Supply trend: refined gallium" in text, timeout=30)

        # a saved sentence is in the open page within 2 s (one language's HTML, rendered in the server)
        sentence = "Refined gallium, seen live in the preview"
        text_file.write_text(original.replace("Supply trend: refined gallium", sentence), encoding="utf-8")
        seconds = browser.wait_for(lambda text: sentence in text, timeout=2.0)
        print(f"save -> browser: {seconds:.2f} s")

        # a misspelt variable: the page shows the error (file, line, message), not the stale preview
        broken = original.replace("{{ v.ga_supply_total_2010 | num }}", "{{ v.ga_supply_totl_2010 | num }}")
        assert broken != original
        text_file.write_text(broken, encoding="utf-8")
        browser.wait_for(
            lambda text: (
                "templates/text/en/p26_supply_ga.yaml:" in text
                and "ga_supply_totl_2010" in text
                and "Supply trend" not in text
            ),
            timeout=2.0,
        )
        error_line = next(i for i, line in enumerate(broken.splitlines(), 1) if "ga_supply_totl_2010" in line)
        assert f"p26_supply_ga.yaml:{error_line}:" in browser.text()

        # fixed: the preview is back
        text_file.write_text(original, encoding="utf-8")
        browser.wait_for(lambda text: "Supply trend: refined gallium" in text and "totl" not in text, timeout=2.0)

        # a bad raw table: the one clear message of the build, naming file, line and column
        raw = root / "data" / "raw" / "ga_supply.csv"
        lines = raw.read_text(encoding="utf-8").splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        value_col = next(i for i, c in enumerate(header) if c.startswith("value"))
        cells = lines[2].rstrip("\n").split(",")
        cells[value_col] = "-90"
        lines[2] = ",".join(cells) + "\n"
        raw.write_text("".join(lines), encoding="utf-8")
        browser.wait_for(
            lambda text: "data/raw/ga_supply.csv, line 3" in text and header[value_col] in text, timeout=10
        )
    finally:
        browser.close()
    assert pdf.stat().st_mtime_ns == pdf_before  # the preview never writes a PDF


# ---------------------------------------------------------------------------------------- portable previews
class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def test_html_previews_open_from_a_copied_results_folder(built, tmp_path):
    copy = tmp_path / "published"
    for part in ("report", "figures"):
        shutil.copytree(built / "results" / part, copy / part)
    for lang in LANGS:
        page = copy / "report" / f"executive_summary_{lang}.html"
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert len(parser.links) >= 30, parser.links  # stylesheets and every chart
        stylesheets = [link for link in parser.links if link.endswith(".css")]
        assert len(stylesheets) == 4
        for link in parser.links:
            parsed = urlparse(link)
            assert not parsed.scheme and not link.startswith("/"), f"{lang}: {link} is not relative"
            target = (page.parent / unquote(parsed.path)).resolve()
            assert target.is_file(), f"{lang}: {link} does not resolve in the copy"
            assert target.is_relative_to(copy.resolve())
        for css in stylesheets:
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", (page.parent / css).read_text(encoding="utf-8")):
                assert not urlparse(ref).scheme and (page.parent / css).parent.joinpath(ref).is_file(), ref
        assert str(built) not in page.read_text(encoding="utf-8")  # no path of the build folder


# ------------------------------------------------------------------------------------------------ profiles
def dry_run(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(BIN / "snakemake"), "-n", "--nocolor", *args, "all"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def project_with_profiles(tmp_path_factory) -> Path:
    work = project_copy(tmp_path_factory.mktemp("profiles"))
    shutil.copytree(ROOT / "profiles", work / "profiles")
    return work


def test_default_profile_is_what_make_uses(project_with_profiles):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PROFILE ?= profiles/default" in makefile and "--workflow-profile $(PROFILE)" in makefile
    result = dry_run(project_with_profiles, "--profile", "profiles/default")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert re.search(r"^render_report\s+1$", out, re.M)
    assert "python workflow/scripts/render_report.py" in out  # printshellcmds: true, from the profile


def test_slurm_profile_parses_and_names_real_rules(project_with_profiles):
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text(encoding="utf-8"))
    assert profile["executor"] == "slurm"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401

        override: tuple[str, ...] = ()
    except ImportError:  # the plugin is documented, not required: dry-run with every other key of the profile
        override = ("--executor", "dryrun")
    result = dry_run(project_with_profiles, "--workflow-profile", "profiles/slurm", *override)
    assert result.returncode == 0, result.stderr[-3000:]
    rules = dry_run(project_with_profiles, "--list-rules")
    named = set(profile.get("set-resources", {}))
    assert named and named <= set(rules.stdout.split()), named - set(rules.stdout.split())
