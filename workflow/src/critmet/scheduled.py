"""The unattended entry point (`make scheduled`): build, and publish an edition only when the outputs changed.

A run holds a lock (a second run started meanwhile exits with code 3 and a message), builds with Snakemake,
and then:

* if the build fails, publishes nothing and leaves `results/latest` as it was (exit 1);
* if the PDFs are the same as in the latest edition, says "no change" and publishes nothing (exit 0);
* otherwise writes `results/editions/<id>/` (the three PDFs, `manifest.json` with the checksums of every raw
  input, text file, template and config, the code version and package versions, and `CHANGES.md` listing the
  data values, figures, pages and text that changed since the previous edition), and only then switches
  `results/latest` to it with one atomic rename (exit 0).

Exit codes: 0 published or no change, 1 build failed, 2 publishing failed, 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from critmet.io import atomic_write_text, sha256_file, write_json

PDFS = ("executive_summary_ja.pdf", "executive_summary_en.pdf", "executive_summary.pdf")
TRACKED = ("data/raw", "templates", "config")
PACKAGES = ("snakemake", "pandas", "matplotlib", "jinja2", "weasyprint")


def _files(root: Path) -> dict[str, str]:
    out = {}
    for top in TRACKED:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path.relative_to(root))] = sha256_file(path)
    return out


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


def build_manifest(root: Path) -> dict:
    results = root / "results"
    metrics = {p.stem.removesuffix("_metrics"): p for p in sorted((results / "data").glob("*_metrics.csv"))}
    return {
        "inputs": _files(root),
        "code_version": code_version(root),
        "packages": {name: metadata.version(name) for name in PACKAGES},
        "outputs": {name: sha256_file(results / "report" / name) for name in PDFS},
        "figures": {p.name: sha256_file(p) for p in sorted((results / "figures").rglob("*.svg"))},
        "metrics": {ds: _read_metrics(path) for ds, path in metrics.items()},
    }


def _read_metrics(path: Path) -> dict[str, float]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["metric"]: float(row["value"]) for row in csv.DictReader(fh)}


def changes_markdown(new: dict, old: dict | None, edition: str) -> str:
    lines = [f"# Changes in edition {edition}", ""]
    if old is None:
        lines.append("This is the first edition.")
        return "\n".join(lines) + "\n"
    values = []
    for dataset, metrics in sorted(new["metrics"].items()):
        before = old["metrics"].get(dataset, {})
        for name, value in sorted(metrics.items()):
            if name not in before:
                values.append(f"| {dataset} | {name} | (new) | {value:.6g} |")
            elif abs(before[name] - value) > 1e-9 * max(1.0, abs(value)):
                values.append(f"| {dataset} | {name} | {before[name]:.6g} | {value:.6g} |")
        values += [
            f"| {dataset} | {name} | {before[name]:.6g} | (removed) |" for name in sorted(set(before) - set(metrics))
        ]
    lines += ["## Data values", ""]
    lines += (
        ["| dataset | value | before | now |", "|---|---|---:|---:|", *values] if values else ["No data value changed."]
    )
    figures = sorted(n for n, h in new["figures"].items() if old["figures"].get(n) != h)
    lines += ["", "## Figures redrawn with different content", ""]
    lines += [f"- {n}" for n in figures] or ["None."]
    inputs = sorted(n for n, h in new["inputs"].items() if old["inputs"].get(n) != h)
    removed = sorted(set(old["inputs"]) - set(new["inputs"]))
    lines += ["", "## Inputs changed (data, text, templates, config)", ""]
    lines += [f"- {n}" for n in inputs] + [f"- {n} (removed)" for n in removed] or ["None."]
    if new["code_version"] != old["code_version"]:
        lines += ["", f"Code version: {old['code_version']} → {new['code_version']}"]
    return "\n".join(lines) + "\n"


def latest_manifest(results: Path) -> dict | None:
    latest = results / "latest" / "manifest.json"
    return json.loads(latest.read_text(encoding="utf-8")) if latest.exists() else None


def publish(root: Path) -> str | None:
    """Publish an edition if the PDFs differ from the latest one; returns its id, or None for no change."""
    results = root / "results"
    manifest = build_manifest(root)
    previous = latest_manifest(results)
    if previous is not None and previous["outputs"] == manifest["outputs"]:
        return None
    editions = results / "editions"
    editions.mkdir(parents=True, exist_ok=True)
    number = 1 + max((int(p.name.split("-")[0][1:]) for p in editions.iterdir() if p.name.startswith("e")), default=0)
    edition = f"e{number:04d}-{manifest['outputs']['executive_summary.pdf'][:8]}"
    staging = editions / f".{edition}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in PDFS:
        shutil.copy2(results / "report" / name, staging / name)
    write_json(staging / "manifest.json", manifest)
    atomic_write_text(staging / "CHANGES.md", changes_markdown(manifest, previous, edition))
    os.replace(staging, editions / edition)
    link = results / f".latest.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("editions") / edition)
    os.replace(link, results / "latest")  # atomic: readers see the old edition or the new one
    return edition


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--log", default="results/logs/scheduled.log", help="where the build's output goes")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    (root / "results" / "logs").mkdir(parents=True, exist_ok=True)
    lock_file = open(root / "results" / ".scheduled.lock", "w")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            "another scheduled run is in progress (results/.scheduled.lock); exiting without building",
            file=sys.stderr,
        )
        return 3
    log = root / args.log
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "MPLBACKEND": "Agg"}
    with open(log, "w", encoding="utf-8") as fh:
        # We hold the lock, so no other run of ours is building: a Snakemake lock left by a killed run is stale.
        subprocess.run([str(bin_dir / "snakemake"), "--unlock", "--nocolor"], cwd=root, stdout=fh,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        build = subprocess.run(
            [str(bin_dir / "snakemake"), "--cores", args.cores, "--rerun-incomplete", "--nocolor", "all"],
            cwd=root,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    if build.returncode != 0:
        tail = log.read_text(encoding="utf-8").splitlines()[-15:]
        print(
            "build failed; nothing published, results/latest unchanged. Last lines of "
            f"{log.relative_to(root)}:\n" + "\n".join(tail),
            file=sys.stderr,
        )
        return 1
    try:
        edition = publish(root)
    except OSError as err:
        print(f"publishing failed: {err}; results/latest unchanged", file=sys.stderr)
        return 2
    print(
        "no change since the latest edition; nothing published"
        if edition is None
        else f"published edition {edition} (results/latest -> results/editions/{edition})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
