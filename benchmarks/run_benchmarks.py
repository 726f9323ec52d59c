"""Benchmarks of the pipeline on this machine: wall time and peak memory of a clean build, of the figures
stage alone, of the report job (the two editions and the bilingual PDF; every slide laid out, and every slide
from the page cache), of a no-op rerun (Snakemake's own, and `make report`'s fast path in critmet.build), of the
rebuild after a text edit (one file per language) and after a raw-table edit, and of the preview's re-render
after a save; and, before and after them, the machine's speed (a fixed Python loop), since this virtual
machine's speed varies. Runs in a temporary copy of the project, so the working tree's results/ is not touched. Usage:
`make benchmark` (or python benchmarks/run_benchmarks.py).

Peak memory is the largest sum of the proportional set size (PSS) of the Snakemake process and all its
descendants, sampled every 250 ms from /proc: forked jobs share the pages of the modules their server imported,
and PSS counts a shared page once, where summing resident sizes would count it in every process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COPY = ("Snakefile", "environment.yml", "config", "data", "templates", "workflow", "profiles")


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kib(pid: int) -> int:
    """Proportional set size of a process and its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _pss_kib(p)
        stack.extend(children.get(p, []))
    return total


def timed(cmd: list[str], cwd: Path) -> dict:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_mib": round(peak / 1024, 1)}


def snakemake(work: Path, *targets: str, cores: int = 2, extra: tuple[str, ...] = ()) -> dict:
    """Snakemake as `make` runs it (the default profile: its scheduler among its settings), quiet."""
    profile = ("--workflow-profile", "profiles/default")
    return timed([str(BIN / "snakemake"), *profile, *targets, *extra, "--cores", str(cores), "--quiet", "all"], work)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def preview_render(work: Path) -> dict:
    """What `make preview` does after a text save: the HTML of one language, rendered in its long-lived
    process (the median of five renders after a first one; the browser reload adds tens of milliseconds)."""
    code = (
        "import statistics, sys, time; from pathlib import Path; from critmet.preview import Preview; "
        "p = Preview(Path(sys.argv[1])); p.render(['en']); times = []\n"
        "for _ in range(5):\n    t = time.perf_counter(); p.render(['en']); times.append(time.perf_counter() - t)\n"
        "assert not p.errors, p.errors; print(statistics.median(times))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(work)], capture_output=True, text=True, check=True)
    return {"seconds": round(float(out.stdout.split()[-1]), 2), "peak_mib": None}


def machine_speed() -> dict:
    """A fixed amount of pure Python work (ten million additions), timed: this virtual machine's speed
    varies by half over a day, and this figure lets runs made at different times be compared."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return {"seconds": round(time.perf_counter() - start, 2), "peak_mib": None}


def main() -> int:
    results = {"machine speed: a fixed Python loop, before": machine_speed()}
    with tempfile.TemporaryDirectory(prefix="critmet-bench-") as tmp:
        work = Path(tmp)
        for name in COPY:
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
        results["clean build (data, figures, 3 PDFs)"] = snakemake(work)
        results["no-op rerun (snakemake itself)"] = snakemake(work)
        shutil.rmtree(work / "results" / "figures")
        results["figures stage alone (12 jobs, ja+en)"] = snakemake(work, "figures")
        for lang in ("ja", "en"):
            shutil.rmtree(work / "results" / ".cache" / "pages" / lang)
        results["3 PDFs, every slide laid out (one job, the editions side by side)"] = snakemake(
            work, "report", extra=("--forcerun", "render_report")
        )
        results["3 PDFs, slides from the page cache (one job)"] = snakemake(
            work, "report", extra=("--forcerun", "render_report")
        )
        # one text file per language: both editions and the bilingual PDF are rebuilt (the slide edited is laid
        # out again; every other slide comes from the page cache, results/.cache/pages)
        edit(work / "templates" / "text" / "en" / "p26_supply_ga.yaml", "refined gallium", "refined gallium (edited)")
        edit(work / "templates" / "text" / "ja" / "p26_supply_ga.yaml", "供給推移（", "供給推移（編集）（")
        results["text edit (ja + en) -> both editions and bilingual PDFs"] = snakemake(work)
        results["no-op rerun through critmet.build (make report)"] = timed(
            [str(BIN / "python"), "-m", "critmet.build", "all"], work
        )
        results["no-op rerun through critmet.build, fast path"] = timed(
            [str(BIN / "python"), "-m", "critmet.build", "all"], work
        )
        edit(work / "data" / "raw" / "ga_supply.csv", "\n2020,中国,360,", "\n2020,中国,360.0,")  # same value
        results["raw-table edit (ga_supply) -> figures, 3 PDFs"] = snakemake(work)
        results["preview: text save -> HTML re-rendered"] = preview_render(work)
    results["machine speed: a fixed Python loop, after"] = machine_speed()
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| measurement | wall time (s) | peak memory (MiB) |")
    print("|---|---:|---:|")
    for name, value in results.items():
        print(f"| {name} | {value['seconds']} | {value['peak_mib']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
