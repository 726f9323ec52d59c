"""The unattended entry point (`make scheduled`): build, and publish an edition only when the outputs changed.

A run holds a lock (a second run started meanwhile exits with code 3 and a message), builds with Snakemake,
and then:

* if the build fails, publishes nothing and leaves `results/latest` as it was (exit 1);
* if the inputs (raw tables, text, templates, config), the code and the packages are those of the latest
  edition, says "no change" and publishes nothing (exit 0);
* otherwise writes `results/editions/<id>/` (the three PDFs, `manifest.json` with the checksums of every raw
  input, text file, template and config, the code version and package versions, and `CHANGES.md` listing the
  data values, figures, pages and text that changed since the previous edition), and only then switches
  `results/latest` to it with one atomic rename (exit 0).

Exit codes: 0 published or no change, 1 build failed, 2 publishing failed, 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from critmet.editions import Namer, read_metrics, tracked_inputs, value_changes
from critmet.io import atomic_write_text, sha256_file, write_json

PDFS = ("executive_summary_ja.pdf", "executive_summary_en.pdf", "executive_summary.pdf")
PACKAGES = ("snakemake", "pandas", "matplotlib", "jinja2", "weasyprint")


def code_version(root: Path) -> str:
    """The git commit if there is one, else a hash of the package's source."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        digest = hashlib.sha256()
        for path in sorted((root / "workflow").rglob("*.py")):
            digest.update(path.read_bytes())
        return "src-" + digest.hexdigest()[:16]


def build_manifest(root: Path, edition: str) -> dict:
    results = root / "results"
    return {
        "edition": edition,
        "inputs": tracked_inputs(root),
        "code_version": code_version(root),
        "packages": {name: metadata.version(name) for name in PACKAGES},
        "outputs": {name: sha256_file(results / "report" / name) for name in PDFS},
        "figures": {p.name: sha256_file(p) for p in sorted((results / "figures").rglob("*.svg"))},
        "metrics": read_metrics(results / "data"),
    }


def changes_markdown(new: dict, old: dict | None, root: Path | None = None) -> str:
    lines = [f"# Changes in edition {new['edition']}", ""]
    if old is None:
        lines.append("This is the first edition.")
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with edition {old.get('edition')}.")

    def fmt(value, unit):
        return "–" if value is None else f"{value:.6g} {unit or ''}".rstrip()

    namer = Namer(root) if root is not None else None
    units = read_metrics(root / "results" / "data", "unit") if root is not None else None
    values = [
        f"| {c.get('name_en', c['metric'])} | {c.get('name_ja', c['dataset'])} | {fmt(c['before'], c.get('unit'))}"
        f" | {fmt(c['now'], c.get('unit'))} |"
        for c in value_changes(new["metrics"], old["metrics"], namer, units)
    ]
    lines += ["", "## Data values / データの値 (quantities first, biggest change first)", ""]
    lines += (
        ["| value | 値 | before / 前版 | now / 今版 |", "|---|---|---:|---:|", *values]
        if values
        else ["No data value changed. / データの値に変更はありません。"]
    )
    lines += print_differences(root, namer)
    figures = sorted(n for n, h in new["figures"].items() if old["figures"].get(n) != h)
    lines += ["", "## Figures redrawn with different content", ""]
    lines += [f"- {n}" for n in figures] or ["None."]
    pages = sorted(n for n, h in new["outputs"].items() if old["outputs"].get(n) != h)
    lines += ["", "## PDFs with different content", ""] + ([f"- {n}" for n in pages] or ["None."])
    inputs = sorted(n for n, h in new["inputs"].items() if old["inputs"].get(n) != h)
    removed = sorted(set(old["inputs"]) - set(new["inputs"]))
    lines += ["", "## Inputs changed (data, text, templates, config)", ""]
    lines += [f"- {n}" for n in inputs] + [f"- {n} (removed)" for n in removed] or ["None."]
    if new["code_version"] != old["code_version"]:
        lines += ["", f"Code version: {old['code_version']} → {new['code_version']}"]
    return "\n".join(lines) + "\n"


def print_differences(root: Path | None, namer) -> list[str]:
    """The values that now differ from the print they were first compared with (results/data/fidelity.csv,
    status 'changed'): "2023 print: 544 → now 551.5". Not errors: the data were updated since that print."""
    path = None if root is None else root / "results" / "data" / "fidelity.csv"
    if path is None or not path.exists():
        return []
    import csv

    with open(path, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["status"] == "changed"]
    if not rows:
        return []
    out = [
        "",
        "## Values that now differ from the print / 印刷版と異なる値 (data updated since; not errors)",
        "",
        "| value | 値 | print / 印刷版 | now / 今版 |",
        "|---|---|---:|---:|",
    ]
    for r in rows:
        en = namer.name(r["dataset"], r["id"], "en") if namer else r["id"]
        ja = namer.name(r["dataset"], r["id"], "ja") if namer else r["id"]
        out.append(f"| {en} | {ja} | {r['edition']}: {float(r['printed']):.6g} | {float(r['now']):.6g} |")
    return out


def latest_manifest(results: Path) -> dict | None:
    latest = results / "latest" / "manifest.json"
    return json.loads(latest.read_text(encoding="utf-8")) if latest.exists() else None


def unchanged(root: Path, previous: dict | None) -> bool:
    """Nothing to publish: the inputs, the code and the packages are those of the latest edition."""
    if previous is None:
        return False
    return (
        previous["inputs"] == tracked_inputs(root)
        and previous["code_version"] == code_version(root)
        and previous["packages"] == {name: metadata.version(name) for name in PACKAGES}
    )


def _same_edition(editions: Path, manifest: dict) -> str | None:
    """An edition already published with exactly this content (inputs, code, packages, PDFs), if any: a run
    killed between writing an edition and switching `latest` must not publish it again under a new number."""
    for path in sorted(editions.iterdir(), reverse=True):
        if path.name.startswith(".") or not (path / "manifest.json").is_file():
            continue
        try:
            old = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except ValueError:
            continue
        if all(old.get(k) == manifest[k] for k in ("inputs", "code_version", "packages", "outputs")):
            return path.name
    return None


def _switch_latest(results: Path, edition: str) -> None:
    link = results / f".latest.{os.getpid()}"
    try:
        link.unlink(missing_ok=True)
        link.symlink_to(Path("editions") / edition)
        os.replace(link, results / "latest")  # atomic: readers see the old edition or the new one
    finally:
        link.unlink(missing_ok=True)


def _clear_leftovers(results: Path) -> None:
    """Staging folders and temporary links of runs that were killed (we hold the lock: none is in use)."""
    for link in results.glob(".latest.*"):
        if link.is_symlink():
            link.unlink(missing_ok=True)
    editions = results / "editions"
    if editions.is_dir():
        for staging in editions.glob(".*.tmp"):
            shutil.rmtree(staging, ignore_errors=True)


class StaleOutputs(RuntimeError):
    """The outputs are not those of the current inputs: nothing may be published."""


def publish(root: Path, inputs: dict[str, str] | None = None) -> str | None:
    """Publish an edition unless nothing changed since the latest one; returns its id, or None.
    `inputs` are the checksums the build started from; they must still hold, or nothing is published."""
    results = root / "results"
    _clear_leftovers(results)
    previous = latest_manifest(results)
    if unchanged(root, previous):
        return None
    editions = results / "editions"
    editions.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(root, "")
    if inputs is not None and manifest["inputs"] != inputs:
        changed = sorted(n for n in set(inputs) | set(manifest["inputs"]) if inputs.get(n) != manifest["inputs"].get(n))
        raise StaleOutputs(f"inputs changed during the build ({', '.join(changed[:5])}); run again")
    same = _same_edition(editions, manifest)
    if same is not None:
        _switch_latest(results, same)
        return same
    number = 1 + max((int(p.name.split("-")[0][1:]) for p in editions.iterdir() if p.name.startswith("e")), default=0)
    edition = f"e{number:04d}-{manifest['outputs']['executive_summary.pdf'][:8]}"
    manifest["edition"] = edition
    staging = editions / f".{edition}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        for name in PDFS:
            shutil.copy2(results / "report" / name, staging / name)
            if sha256_file(staging / name) != manifest["outputs"][name]:
                raise StaleOutputs(f"results/report/{name} changed while it was being published; run again")
        write_json(staging / "manifest.json", manifest)
        atomic_write_text(staging / "CHANGES.md", changes_markdown(manifest, previous, root))
        os.replace(staging, editions / edition)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _switch_latest(results, edition)
    return edition


def outputs_current(root: Path, log) -> list[str]:
    """Outputs Snakemake would still rebuild (an output restored after a failed job, an input edited during
    the build): none, or nothing may be published."""
    from critmet.build import run_snakemake

    buf = io.StringIO()
    run_snakemake(root, ["-n", "--quiet", "rules", "--nocolor", "all"], buf)
    out = buf.getvalue()
    log.write("\n# snakemake -n (what is still to be done before publishing)\n" + out)
    if "Nothing to be done" in out or not re.search(r"^\w+\s+\d+$", out, re.M):
        return []
    return sorted({m.group(1) for m in re.finditer(r"^(\w+)\s+\d+$", out, re.M)} - {"job", "total", "all"})


_ERROR_LINE = re.compile(r"^(?:error|invalid raw data|invalid input):\s*(.+)$", re.IGNORECASE)


def failure_messages(lines: list[str], limit: int = 5) -> list[str]:
    """The one-line messages of a failed build (a job's 'Error: <file>, line …, column …: …'), each once, in
    the order they came: what a scheduler's mail should show first, before the log's tail."""
    found: list[str] = []
    for line in lines:
        match = _ERROR_LINE.match(line.strip())
        if match and f"error: {match.group(1)}" not in found:
            found.append(f"error: {match.group(1)}")
    return found[:limit]


def main(argv: list[str] | None = None) -> int:
    from critmet.build import BuildBusy, acquire, run_snakemake
    from critmet.lifeline import die_with_parent
    from critmet.preflight import PreflightError, one_line, preflight
    from critmet.validate import RawDataError

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--log", default="results/logs/scheduled.log", help="where the build's output goes")
    args = parser.parse_args(argv)
    die_with_parent()
    root = Path(args.root).resolve()
    try:
        (root / "results" / "logs").mkdir(parents=True, exist_ok=True)
        lock_file = open(root / "results" / ".scheduled.lock", "a")  # noqa: SIM115 (held for the whole run)
        log = open(root / args.log, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        print(
            f"publishing failed: cannot write to {root / 'results'}: {err.strerror}; nothing built or published",
            file=sys.stderr,
        )
        return 2
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            "another scheduled run is in progress (results/.scheduled.lock); exiting without building",
            file=sys.stderr,
        )
        return 3
    with log:
        try:
            preflight(root, out=log)
        except (PreflightError, RawDataError) as err:
            message = one_line(err, root)
            log.write(f"error: {message}\n")
            print(f"build failed; nothing published, results/latest unchanged: {message}", file=sys.stderr)
            return 1
        try:
            build_lock = acquire(root, "a scheduled run (python -m critmet.scheduled)")
        except BuildBusy as err:
            log.write(f"{err}\n")
            print(f"{err}; this scheduled run exits without building", file=sys.stderr)
            return 3
        with build_lock:
            inputs = tracked_inputs(root)
            code = run_snakemake(root, ["--cores", args.cores, "--rerun-incomplete", "--nocolor", "all"], log)
            if code == 0:
                pending = outputs_current(root, log)
                if pending:
                    log.write(f"outputs not up to date after the build: {pending}\n")
                    code = 1
            if code == 0:  # why each output is as it is: Snakemake's own records, for the run's log
                log.write("\n# snakemake --summary (output, date, rule, log, status, plan)\n")
                log.flush()
                run_snakemake(root, ["--summary", "--nocolor", "all"], log)
            if code != 0:
                log.flush()
                lines = (root / args.log).read_text(encoding="utf-8").splitlines()
                errors = failure_messages(lines)
                print(
                    "build failed; nothing published, results/latest unchanged"
                    + ("".join(f"\n{e}" for e in errors) if errors else "")
                    + f"\nLast lines of {args.log}:\n"
                    + "\n".join(lines[-15:]),
                    file=sys.stderr,
                )
                return 1
            try:
                edition = publish(root, inputs)
            except StaleOutputs as err:
                print(f"publishing refused: {err}; results/latest unchanged", file=sys.stderr)
                return 2
            except OSError as err:
                where = f" ({err.filename})" if err.filename else ""
                print(f"publishing failed: {err.strerror or err}{where}; results/latest unchanged", file=sys.stderr)
                return 2
    print(
        "no change since the latest edition; nothing published"
        if edition is None
        else f"published edition {edition} (results/latest -> results/editions/{edition})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
