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
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from critmet.editions import read_metrics, tracked_inputs, value_changes
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


def changes_markdown(new: dict, old: dict | None) -> str:
    lines = [f"# Changes in edition {new['edition']}", ""]
    if old is None:
        lines.append("This is the first edition.")
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with edition {old.get('edition')}.")

    def fmt(value):
        return "–" if value is None else f"{value:.6g}"

    values = [
        f"| {c['dataset']} | {c['metric']} | {fmt(c['before'])} | {fmt(c['now'])} |"
        for c in value_changes(new["metrics"], old["metrics"])
    ]
    lines += ["", "## Data values", ""]
    lines += (
        ["| dataset | value | before | now |", "|---|---|---:|---:|", *values] if values else ["No data value changed."]
    )
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


def publish(root: Path) -> str | None:
    """Publish an edition unless nothing changed since the latest one; returns its id, or None."""
    results = root / "results"
    previous = latest_manifest(results)
    if unchanged(root, previous):
        return None
    editions = results / "editions"
    editions.mkdir(parents=True, exist_ok=True)
    number = 1 + max((int(p.name.split("-")[0][1:]) for p in editions.iterdir() if p.name.startswith("e")), default=0)
    edition = f"e{number:04d}-{sha256_file(results / 'report' / 'executive_summary.pdf')[:8]}"
    manifest = build_manifest(root, edition)
    staging = editions / f".{edition}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in PDFS:
        shutil.copy2(results / "report" / name, staging / name)
    write_json(staging / "manifest.json", manifest)
    atomic_write_text(staging / "CHANGES.md", changes_markdown(manifest, previous))
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
        subprocess.run(
            [str(bin_dir / "snakemake"), "--unlock", "--nocolor"],
            cwd=root,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        build = subprocess.run(
            [str(bin_dir / "snakemake"), "--cores", args.cores, "--rerun-incomplete", "--nocolor", "all"],
            cwd=root,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        if build.returncode == 0:  # why each output is as it is: Snakemake's own records, for the run's log
            fh.write("\n# snakemake --summary (output, date, rule, log, status, plan)\n")
            fh.flush()
            subprocess.run(
                [str(bin_dir / "snakemake"), "--summary", "--nocolor", "all"],
                cwd=root,
                stdout=fh,
                stderr=subprocess.DEVNULL,
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
