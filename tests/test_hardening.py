"""Hardening: text files cannot run code; bad input gets one line in one form (file, line, column or key,
value, expected) and no traceback; validation is cached by checksum; paths stay inside the project; a killed
build stops entirely and the next plain build recovers by itself with byte-identical outputs; an output
restored after a failed job is redone; a manual build and a scheduled run never build at once."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import BIN, ROOT, built_copy, run_snakemake
from critmet.build import BuildBusy, acquire, mark_restored_outputs, redo_restored_outputs
from critmet.io import atomic_write_bytes
from critmet.lifeline import OWNER_ENV, OwnerGone, alive, token
from critmet.preflight import PreflightError, check_config, check_pages, check_raw
from critmet.report import ReportError
from critmet.report.render import make_env
from critmet.report.text import load_text_file, render_strings
from critmet.validate import RawDataError, load_codes, validate_table


# ------------------------------------------------------------------------------------------- sandbox
@pytest.mark.parametrize(
    "payload",
    [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ v.__class__.__init__.__globals__ }}",
        "{{ v.pop('ga_total') }}",
        "{{ lipsum.__globals__ }}",
        "{% include '/etc/passwd' %}",
        "{{ 'x' * 100000000 }}",
    ],
)
def test_a_text_file_cannot_run_code(tmp_path, payload):
    path = tmp_path / "templates" / "text" / "en" / "x.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"headline: Gallium\nlead: 'Total {{{{ v.ga_total | num }}}} t'\nnote: \"{payload}\"\n")
    loaded = load_text_file(path)
    with pytest.raises(ReportError) as err:
        render_strings(loaded, make_env(ROOT / "templates"), {"ga_total": 382.0}, "en")
    message = str(err.value)
    assert message.startswith(f"{path}:3: "), message
    assert "uid=" not in message and "subclasses" not in message.split(":3:")[0]


def test_the_sandbox_still_renders_ordinary_placeholders(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("lead: 'Total {{ v.t | num }} t, {{ v.s | pct }} from China'\n")
    out = render_strings(load_text_file(path), make_env(ROOT / "templates"), {"t": 1020.4, "s": 88.2}, "en")
    assert out == {"lead": "Total 1,020 t, 88% from China"}


# ------------------------------------------------------------------------------------------ messages
def _table(raw: Path) -> str:
    return str(validate_table(raw / "supply.csv", load_codes(raw / "codes")))


@pytest.mark.parametrize(
    ("case", "content", "needles"),
    [
        ("quote", '2010,"中国,90\n2020,CN,360\n', ["line 2", "column 'country'", "unbalanced quote"]),
        ("semicolon", None, ["line 1", "delimiter", "';'"]),
        ("tab", None, ["line 1", "delimiter", "tab"]),
        ("1e30", "2010,中国,1e30\n", ["line 2", "column 'value_t'", "(value: '1e30')", "expected a number below"]),
    ],
)
def test_malformed_tables_name_line_and_column(tiny_raw, case, content, needles):
    path = tiny_raw / "supply.csv"
    text = path.read_text(encoding="utf-8")
    if case == "semicolon":
        path.write_text(text.replace(",", ";"), encoding="utf-8")
    elif case == "tab":
        path.write_text(text.replace(",", "\t"), encoding="utf-8")
    else:
        path.write_text("year,country,value_t\n" + content, encoding="utf-8")
    with pytest.raises(RawDataError) as err:
        _table(tiny_raw)
    message = str(err.value)
    assert message.startswith(str(path)) and all(n in message for n in needles), message
    assert "\n" not in message


def test_a_utf16_table_is_named_as_utf16(tiny_raw):
    path = tiny_raw / "supply.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(RawDataError, match=r"supply\.csv, line 1: the file is UTF-16 text.*expected UTF-8"):
        _table(tiny_raw)


def _config_copy(tmp_path: Path, edit) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "config.schema.yaml", tmp_path / "config")
    text = (ROOT / "config" / "config.yaml").read_text(encoding="utf-8")
    (tmp_path / "config" / "config.yaml").write_text(edit(text), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (lambda t: t.replace("edition: MCS2023", "edition: 2024"), ["key 'usgs.edition'", "(value: 2024)"]),
        (lambda t: t.replace("png_dpi: 110", "png_dpi: 110\n  colour: red"), ["key 'figures.colour'", "unknown key"]),
        (lambda t: t.replace("size: A4", "size: A9"), ["key 'page.size'", "one of ['A4'"]),
        (lambda t: t.replace("languages: [ja, en]", "languages: [ja, en"), ["line", "does not parse"]),
        (lambda t: t.replace("world_files: {}", "world_files: {galli: ../../etc/passwd}"), ["outside the project"]),
    ],
)
def test_config_errors_name_the_file_line_and_key_without_the_schema(tmp_path, edit, needles):
    root = _config_copy(tmp_path, edit)
    with pytest.raises(PreflightError) as err:
        check_config(root)
    message = str(err.value)
    assert message.startswith("config/config.yaml, line "), message
    assert all(n in message for n in needles), message
    assert "\n" not in message and "$schema" not in message and "description" not in message


def test_a_parent_path_in_the_page_layout_is_refused_with_its_line(tmp_path):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    pages = tmp_path / "templates" / "pages.yaml"
    text = pages.read_text(encoding="utf-8")
    pages.write_text(text.replace("layout: cover}", "layout: ../../../etc/passwd}"), encoding="utf-8")
    line = next(i for i, s in enumerate(pages.read_text().splitlines(), 1) if "etc/passwd" in s)
    with pytest.raises(PreflightError, match=rf"templates/pages.yaml, line {line}, key 'pages\[0\].layout'.*'\.\./"):
        check_pages(tmp_path)


# ------------------------------------------------------------------------------- paths and the cache
def _raw_project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "data" / "raw", tmp_path / "data" / "raw")
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_a_raw_table_linked_from_outside_the_project_is_refused(tmp_path):
    root = _raw_project(tmp_path / "project")
    outside = tmp_path / "elsewhere.csv"
    shutil.move(root / "data" / "raw" / "ga_supply.csv", outside)
    (root / "data" / "raw" / "ga_supply.csv").symlink_to(outside)
    with pytest.raises(PreflightError, match=r"data/raw/ga_supply.csv: a symbolic link to .*elsewhere.csv, outside"):
        check_raw(root, root / "data" / "raw")


def test_validation_is_cached_by_checksum_and_unread_tables_are_named(tmp_path, monkeypatch, capsys):
    import critmet.validate as validate

    root = _raw_project(tmp_path)
    big = root / "data" / "raw" / "ga_supply_copy.csv"
    shutil.copy(root / "data" / "raw" / "ga_supply.csv", big)
    shutil.copy(root / "data" / "raw" / "ga_supply.meta.yaml", big.with_suffix(".meta.yaml"))
    calls = []
    original = validate.validate_table

    def counted(path, *args, **kwargs):
        calls.append(Path(path).name)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(validate, "validate_table", counted)
    check_raw(root, root / "data" / "raw")
    assert "ga_supply_copy.csv" in calls and len(calls) >= 26
    assert "data/raw/ga_supply_copy.csv: no rule reads this table" in capsys.readouterr().err
    calls.clear()
    check_raw(root, root / "data" / "raw")  # same content: nothing validated again
    assert calls == []
    path = root / "data" / "raw" / "mg_supply.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    check_raw(root, root / "data" / "raw")  # one table changed: only it is validated
    assert calls == ["mg_supply.csv"]
    path.write_text(path.read_text(encoding="utf-8").replace("\n2", "\n-2", 1), encoding="utf-8")
    with pytest.raises(RawDataError):
        check_raw(root, root / "data" / "raw")


# ----------------------------------------------------------------------- owners, modes, stale outputs
def test_nothing_is_written_for_a_build_whose_owner_has_died(tmp_path, monkeypatch):
    owner = subprocess.Popen(["sleep", "30"])
    monkeypatch.setenv(OWNER_ENV, token(owner.pid))
    target = tmp_path / "out.pdf"
    atomic_write_bytes(target, b"first")
    owner.kill()
    owner.wait()
    assert not alive(os.environ[OWNER_ENV])
    with pytest.raises(OwnerGone):
        atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == ["out.pdf"]


def test_outputs_are_readable_by_others_honouring_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.pdf", b"x")
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "b.pdf", b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.pdf").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.pdf").stat().st_mode & 0o777 == 0o600


def test_an_output_newer_than_its_job_record_is_marked_for_rebuild(tmp_path):
    import base64
    import json

    out = tmp_path / "results" / "report" / "x.pdf"
    out.parent.mkdir(parents=True)
    out.write_bytes(b"old")
    record = tmp_path / ".snakemake" / "metadata" / base64.urlsafe_b64encode(b"results/report/x.pdf").decode()
    record.parent.mkdir(parents=True)
    now = time.time()
    record.write_text(json.dumps({"starttime": now - 100, "endtime": now - 90}))
    assert mark_restored_outputs(tmp_path, ["results/report/x.pdf"]) == ["results/report/x.pdf"]
    assert out.stat().st_mtime == pytest.approx(now - 100)
    assert mark_restored_outputs(tmp_path, ["results/report/x.pdf"]) == []  # produced by its recorded job


def test_an_output_restored_after_a_failed_job_loses_its_record_and_is_redone(tmp_path):
    """Snakemake records the failed job as if it had made the restored file: that record must go."""
    import base64
    import json

    out = tmp_path / "results" / "report" / "x.pdf"
    out.parent.mkdir(parents=True)
    out.write_bytes(b"last good")
    record = tmp_path / ".snakemake" / "metadata" / base64.urlsafe_b64encode(b"results/report/x.pdf").decode()
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"starttime": time.time() - 2, "endtime": out.stat().st_mtime}))
    log = tmp_path / ".snakemake" / "log" / "2026-01-01T000000.snakemake.log"
    log.parent.mkdir(parents=True)
    log.write_text("Restored previous version of results/report/x.pdf (updating job failed).\n")
    assert redo_restored_outputs(tmp_path) == ["results/report/x.pdf"]
    assert not record.exists() and out.stat().st_mtime == 1 and out.read_bytes() == b"last good"
    assert redo_restored_outputs(tmp_path) == []  # done once
    out.write_bytes(b"made again")
    record.write_text(json.dumps({"starttime": time.time() + 5, "endtime": time.time() + 10}))
    assert redo_restored_outputs(tmp_path) == []  # a later job made it: its record stays


def test_the_build_lock_names_a_live_build_and_clears_a_dead_ones_lock(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("results/x\n")
    with acquire(tmp_path, "first build"):
        with pytest.raises(BuildBusy, match="another build of this folder is running \\(first build"):
            acquire(tmp_path, "second build")
    assert not any(locks.iterdir())  # no process of the old build: its lock was stale
    (locks / "0.output.lock").write_text("results/x\n")
    fake = tmp_path / "bin" / "snakemake"  # a live snakemake working in this folder
    fake.parent.mkdir()
    fake.symlink_to(shutil.which("sleep"))
    proc = subprocess.Popen([str(fake), "30"], cwd=tmp_path)
    try:
        time.sleep(0.2)
        with pytest.raises(BuildBusy, match=f"snakemake, process {proc.pid}"):
            acquire(tmp_path, "a build")
        assert (locks / "0.output.lock").exists()
    finally:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------------- through the build
def build(root: Path, *extra: str, wait: bool = True, env: dict | None = None):
    cmd = [sys.executable, "-m", "critmet.build", "--root", str(root), *extra]
    full_env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **(env or {})}
    if not wait:
        return subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def contents(folder: Path) -> dict[str, str]:
    """Hashes of the outputs; the HTML previews link figures and styles by absolute path (the project's)."""
    root = str(folder.parent.resolve()).encode()
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes().replace(root, b"<project>")).hexdigest()
        for sub in ("data", "figures", "report")
        for p in sorted((folder / sub).rglob("*"))
        if p.is_file() and p.name != "changes.json"
    }


def processes_in(root: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).resolve() == root.resolve():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def copy(built, tmp_path_factory) -> Path:
    return built_copy(built, tmp_path_factory.mktemp("hardening"))


BAD = {
    "unbalanced quote": ("ga_supply.csv", lambda t: t.replace("2010,中国,90", '2010,"中国,90'), "line 2, column"),
    "semicolons": ("ga_supply.csv", lambda t: t.replace(",", ";"), "delimiter"),
    "UTF-16": ("ga_supply.csv", "utf-16", "UTF-16"),
    "1e30": ("mg_demand_totals.csv", lambda t: t.replace("2015,actual,828", "2015,actual,1e30"), "'total_kt'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_without_traceback_and_changes_nothing(copy, case):
    name, change, needle = BAD[case]
    path = copy / "data" / "raw" / name
    original = path.read_bytes()
    before = contents(copy / "results")
    try:
        if change == "utf-16":
            path.write_bytes(original.decode("utf-8").encode("utf-16"))
        else:
            path.write_text(change(original.decode("utf-8")), encoding="utf-8")
        for result in (build(copy), run_snakemake(copy, "all", check=False)):
            assert result.returncode == 1
            errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and f"data/raw/{name}, line " in errors[0] and needle in errors[0], result.stderr
            assert "Traceback" not in result.stdout + result.stderr
            assert 'File "' not in result.stdout + result.stderr and "common.smk" not in result.stderr
        assert contents(copy / "results") == before
    finally:
        path.write_bytes(original)


def _wait_for(predicate, timeout=180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sigkill_at_three_moments_then_a_plain_build_recovers_byte_identical(copy, built):
    """Kill the build (the process `make report` runs) while figures are drawn, while PDFs are laid out and
    while a PDF is written: nothing under results/ changes after the kill, no process of the build is left,
    and the next plain build recovers by itself (no unlock by hand) and reproduces the clean outputs."""
    demand = copy / "data" / "raw" / "mg_demand_totals.csv"
    text = copy / "templates" / "text" / "en" / "p28_demand_ga.yaml"
    original_demand, original_text = demand.read_text(encoding="utf-8"), text.read_text(encoding="utf-8")
    log = copy / "results" / "logs" / "build.log"
    html = copy / "results" / "report" / "executive_summary_en.html"
    moments = {
        "figures": lambda: log.exists() and "plot_figures.py" in log.read_text(),
        "rendering": lambda: log.exists() and "render_report.py" in log.read_text(),
        # a job has written the preview (a restored output's time stamp is set back, never forward)
        "writing": lambda: html.exists() and html.stat().st_mtime_ns > started,
    }
    try:
        for i, (moment, reached) in enumerate(moments.items()):
            demand.write_text(original_demand.replace("2015,actual,828", f"2015,actual,828.{i + 1}"), "utf-8")
            text.write_text(original_text + f"# edit {i}\n", encoding="utf-8")
            log.unlink(missing_ok=True)
            started = time.time_ns()
            proc = build(copy, wait=False)
            assert _wait_for(reached), moment
            time.sleep(0.3 if moment == "writing" else 1.0)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(0.5)
            after_kill = snapshot(copy / "results")
            time.sleep(3)
            assert snapshot(copy / "results") == after_kill, moment
            assert processes_in(copy) == [], moment
        assert any((copy / ".snakemake" / "locks").iterdir())  # the killed build's lock is still there
        recovered = build(copy)
        assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr
        assert "removed the Snakemake lock of a build that was killed" in recovered.stdout
        metrics = (copy / "results" / "data" / "mg_demand_metrics.csv").read_text()
        assert "total_2015,828.3," in metrics
    finally:
        demand.write_text(original_demand, encoding="utf-8")
        text.write_text(original_text, encoding="utf-8")
    clean = build(copy)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr
    assert contents(copy / "results") == contents(built / "results")


def test_a_render_killed_after_a_text_edit_is_redone_and_scheduled_never_builds_alongside(copy):
    """A text edit; the report job's process killed mid-render (as the OOM killer would): Snakemake restores
    the previous PDFs, and the next plain build redoes them, so the PDF shows the edit. Meanwhile a
    scheduled run started during the manual build refuses to build (exit 3) instead of unlocking."""
    path = copy / "templates" / "text" / "en" / "p26_supply_ga.yaml"
    original = path.read_text(encoding="utf-8")
    edited = original.replace(
        'title: "Supply trend: refined gallium"', 'title: "Supply trend: refined gallium, hardened"'
    )
    assert edited != original
    proc = None
    try:
        path.write_text(edited, encoding="utf-8")
        log = copy / "results" / "logs" / "build.log"
        log.unlink(missing_ok=True)
        pdf = copy / "results" / "report" / "executive_summary_en.pdf"
        before = pdf.read_bytes()
        proc = build(copy, wait=False)
        assert _wait_for(lambda: log.exists() and "render_report.py" in log.read_text())
        env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
        scheduled = subprocess.run(
            [sys.executable, "-m", "critmet.scheduled", "--root", str(copy)],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        assert scheduled.returncode == 3, scheduled.stderr
        assert "another build of this folder is running" in scheduled.stderr
        assert not (copy / "results" / "latest").exists()
        renders = []
        assert _wait_for(lambda: bool(renders.extend(_render_pids(copy, "--langs")) or renders), 60)
        time.sleep(1.0)
        for pid in renders:
            os.kill(pid, signal.SIGKILL)
        assert proc.wait() != 0
        assert pdf.read_bytes() == before  # the last good PDF, restored
        again = build(copy)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr
        assert "render_report.py --config config/config.yaml --langs ja en" in again.stdout
        text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages[:40])
        assert "refined gallium, hardened" in text
    finally:
        if proc is not None and proc.poll() is None:  # a failed assertion above: do not leave the build running
            proc.kill()
            proc.wait()
        path.write_text(original, encoding="utf-8")


def _render_pids(root: Path, needle: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if entry.name.isdigit() and "render_report.py" in cmd and needle in cmd and "bash" not in cmd:
                if Path(os.readlink(entry / "cwd")).resolve() == root.resolve():
                    pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_worker_socket_is_private_and_its_folder_goes_with_it(monkeypatch):
    """The fork server's socket is mode 0600 in a 0700 folder of its own; stopping the server removes both,
    and the folder of a server whose Snakemake was killed is swept by the next start."""
    import tempfile

    from critmet import worker

    tmp_path = Path(tempfile.mkdtemp(prefix="cw", dir="/tmp"))  # short: a socket path has at most 107 bytes
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(worker.DISABLE_ENV, raising=False)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"critmet-worker-{dead.stdout.strip()}-abc"
    stale.mkdir()
    (stale / "worker.sock").write_bytes(b"")
    live = tmp_path / f"critmet-worker-{os.getppid()}-def"
    live.mkdir()
    handle = worker.start(os.getpid())
    try:
        path = Path(handle[0])
        assert not stale.exists() and live.exists()
        assert path.parent.parent == tmp_path and path.parent.stat().st_mode & 0o777 == 0o700
        deadline = time.monotonic() + 20
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        worker.stop(handle)
    assert not path.parent.exists()
    shutil.rmtree(tmp_path)


def test_fork_server_starts_early_only_for_a_run_with_jobs():
    from critmet.worker import runs_jobs

    assert runs_jobs(["--cores", "2", "all"]) and runs_jobs(["-c2", "-p", "--forcerun", "render_report"])
    assert runs_jobs(["--config", "figures={'png_previews': true}"])
    for look in (["-n", "all"], ["-np"], ["--dry-run"], ["--lint"], ["--dag"], ["--list-rules"], ["--report=x.html"]):
        assert not runs_jobs(["--cores", "2", *look]), look


def test_the_fork_server_never_forks_mid_import_and_a_waiting_fork_goes_first():
    """The server takes requests while it still imports matplotlib and WeasyPrint (critmet.worker._Gate): a
    request that comes during an import is forked when that import is done, before the next import starts."""
    import threading

    from critmet.worker import _Gate

    gate, events = _Gate(), []
    started, release = threading.Event(), threading.Event()

    def importer():
        with gate.importing():
            started.set()
            release.wait(10)
            events.append("import 1")
        with gate.importing():
            events.append("import 2")

    def request():
        with gate.forking():
            events.append("fork")

    imports = threading.Thread(target=importer)
    imports.start()
    assert started.wait(10)
    fork = threading.Thread(target=request)
    fork.start()
    deadline = time.monotonic() + 10
    while gate._forks == 0 and time.monotonic() < deadline:  # the request is waiting for the import
        time.sleep(0.01)
    assert gate._forks == 1 and events == []
    release.set()
    imports.join(10)
    fork.join(10)
    assert events == ["import 1", "fork", "import 2"]


def test_a_render_empties_its_scratch_folder_of_what_a_killed_one_left(built, tmp_path):
    """The render job keeps its temporary files (WeasyPrint's copies of the @font-face fonts, about 45 MB per
    edition) in results/.cache/tmp/: it removes its own when done, and a render that was killed (which cannot)
    leaves its copies to the next one, which removes them first."""
    (tmp_path / "work").mkdir()
    work = built_copy(built, tmp_path / "work")
    left = work / "results" / ".cache" / "tmp" / "weasyprint-killed"
    left.mkdir(parents=True)
    (left / "font").write_bytes(b"\0" * 1024)
    run_snakemake(work, "report", "--forcerun", "render_report")
    assert (work / "results" / "report" / "executive_summary.pdf").exists()
    assert list((work / "results" / ".cache" / "tmp").iterdir()) == []
