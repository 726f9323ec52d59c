"""Fast paths of the build: a no-op `make report` that does not start Snakemake (critmet.build), and the
per-slide page cache of the editions (critmet.report.pages): neither may hide an edit, and the PDFs do not
depend on whether a slide came from the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import BIN, built_copy, run_snakemake
from critmet.build import UPTODATE, forget_up_to_date, record_up_to_date, up_to_date


# ------------------------------------------------------------------------------------------ the record
@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, text in {
        "Snakefile": "rule all:\n",
        "config/config.yaml": "a: 1\n",
        "data/raw/t.csv": "x\n1\n",
        "templates/text/en/p.yaml": "headline: [one]\n",
        "workflow/src/m.py": "X = 1\n",
        "results/report/out.pdf": "%PDF",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / ".snakemake").mkdir()
    return tmp_path


def test_a_recorded_build_is_up_to_date_until_anything_changes(tree):
    assert not up_to_date(tree, ["all"])  # no record: build
    record_up_to_date(tree, ["all"])
    assert up_to_date(tree, ["all"])
    assert not up_to_date(tree, ["figures"])  # other targets: build
    (tree / "workflow" / "src" / "__pycache__").mkdir()
    (tree / "workflow" / "src" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    assert up_to_date(tree, ["all"])  # compiled Python is not an input


@pytest.mark.parametrize(
    "change",
    [
        lambda t: (t / "templates/text/en/p.yaml").write_text("headline: [two]\n", encoding="utf-8"),
        lambda t: (t / "templates/text/en/p.yaml").write_text("headline: [one]\n", encoding="utf-8"),  # same bytes
        lambda t: os.utime(t / "data/raw/t.csv"),  # touched
        lambda t: (t / "data/raw/new.csv").write_text("x\n", encoding="utf-8"),  # a new input
        lambda t: (t / "config/config.yaml").unlink(),
        lambda t: (t / "results/report/out.pdf").unlink(),  # an output removed
        lambda t: os.utime(t / "results/report/out.pdf", (1, 1)),  # an output set back (a restored one)
        lambda t: (t / "Snakefile").write_text("rule all:\n\n", encoding="utf-8"),
    ],
    ids=[
        "text edit",
        "rewritten same",
        "touched",
        "new file",
        "removed input",
        "removed output",
        "old output",
        "Snakefile",
    ],
)
def test_any_edit_touch_or_removal_means_a_build(tree, change):
    record_up_to_date(tree, ["all"])
    time.sleep(0.01)
    change(tree)
    assert not up_to_date(tree, ["all"])


def test_a_build_that_starts_forgets_the_record(tree):
    record_up_to_date(tree, ["all"])
    forget_up_to_date(tree)
    assert not (tree / UPTODATE).exists() and not up_to_date(tree, ["all"])


# ------------------------------------------------------------------------------------ through the build
def build(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "critmet.build", "--root", str(root), "all"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def copy(built, tmp_path_factory) -> Path:
    return built_copy(built, tmp_path_factory.mktemp("fastpath"))


def pdf_text(pdf: Path) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)


def test_no_op_skips_snakemake_and_a_text_edit_still_builds(copy):
    first = build(copy)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    assert "nothing to do" not in first.stdout  # no record yet: Snakemake ran (and found nothing to do)
    again = build(copy)
    assert again.returncode == 0 and "nothing to do: no input or output changed" in again.stdout, again.stdout
    assert "Building DAG" not in again.stdout  # Snakemake did not start (its time: benchmarks/, not a test)
    path = copy / "templates" / "text" / "en" / "p26_supply_ga.yaml"
    original = path.read_text(encoding="utf-8")
    edited = original.replace('title: "Supply trend: refined gallium"', 'title: "Supply trend: refined gallium, fast"')
    assert edited != original
    try:
        path.write_text(edited, encoding="utf-8")
        built_again = build(copy)
        assert built_again.returncode == 0, built_again.stdout[-3000:] + built_again.stderr
        assert "nothing to do" not in built_again.stdout
        assert "render_report.py --config config/config.yaml --langs ja en" in built_again.stdout
        assert "refined gallium, fast" in pdf_text(copy / "results" / "report" / "executive_summary_en.pdf")
        assert "refined gallium, fast" in pdf_text(copy / "results" / "report" / "executive_summary.pdf")
    finally:
        path.write_text(original, encoding="utf-8")


def test_pdfs_do_not_depend_on_the_page_cache(copy):
    """Build, wipe the page cache, build again (every slide laid out afresh): byte-identical PDFs; and an
    unchanged rebuild takes every slide from the cache (no slide's PDF is written again)."""
    report = copy / "results" / "report"
    pdfs = [report / f"executive_summary{s}.pdf" for s in ("_ja", "_en", "")]
    run_snakemake(copy, "all")
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in pdfs]
    cache = copy / "results" / ".cache" / "pages"
    assert len(list((cache / "en").glob("page-*.pdf"))) == 42
    shutil.rmtree(cache)
    run_snakemake(copy, "--forcerun", "render_report", "all")
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in pdfs] == before
    stamps = {p: p.stat().st_mtime_ns for p in (cache / "en").glob("page-*.pdf")}
    run_snakemake(copy, "--forcerun", "render_report", "all")
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in pdfs] == before
    assert {p: p.stat().st_mtime_ns for p in (cache / "en").glob("page-*.pdf")} == stamps


def test_a_build_removes_the_temporary_files_of_writes_a_kill_interrupted(tmp_path):
    """A SIGKILL between writing `.<name>.<random>.tmp` and renaming it leaves the temporary file; the next
    build (holding the folder lock) removes it, and nothing else."""
    from critmet.build import remove_partial_writes

    report = tmp_path / "results" / "report"
    report.mkdir(parents=True)
    (report / ".executive_summary_en.pdf.6_d_fyr_.tmp").write_bytes(b"%PDF half")
    (report / "executive_summary_en.pdf").write_bytes(b"%PDF whole")
    (tmp_path / "results" / ".cache").mkdir()
    (tmp_path / "results" / ".cache" / "fit-1.json").write_text("{}")
    removed = remove_partial_writes(tmp_path)
    assert [p.name for p in removed] == [".executive_summary_en.pdf.6_d_fyr_.tmp"]
    assert sorted(p.name for p in (tmp_path / "results").rglob("*") if p.is_file()) == [
        "executive_summary_en.pdf",
        "fit-1.json",
    ]
