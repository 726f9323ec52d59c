"""What changed since the latest published edition: the data for the report's closing page and CHANGES.md.

The comparison is between the current inputs and cleaned data and the manifest of `results/latest` (written
by `critmet.scheduled` when it publishes an edition). Without a published edition, this is the first one.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from critmet.io import sha256_file

TRACKED = ("data/raw", "templates", "config")


def tracked_inputs(root: Path) -> dict[str, str]:
    """sha256 of every raw table, text file, template and config file, and of the published source files
    that config names (USGS world CSVs)."""
    import yaml

    out = {}
    for top in TRACKED:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path.relative_to(root))] = sha256_file(path)
    config = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
    for name in sorted(config["usgs"]["world_files"].values()):
        out[name] = sha256_file(root / name)
    return out


def read_metrics(data_dir: Path) -> dict[str, dict[str, float]]:
    out = {}
    for path in sorted(data_dir.glob("*_metrics.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            out[path.stem.removesuffix("_metrics")] = {r["metric"]: float(r["value"]) for r in csv.DictReader(fh)}
    return out


def value_changes(new: dict, old: dict) -> list[dict]:
    """Metrics whose value differs, appeared or disappeared: {dataset, metric, before, now}."""
    changes = []
    for dataset, metrics in sorted(new.items()):
        before = old.get(dataset, {})
        for name, value in sorted(metrics.items()):
            if name not in before:
                changes.append({"dataset": dataset, "metric": name, "before": None, "now": value})
            elif abs(before[name] - value) > 1e-9 * max(1.0, abs(value)):
                changes.append({"dataset": dataset, "metric": name, "before": before[name], "now": value})
        changes += [
            {"dataset": dataset, "metric": name, "before": before[name], "now": None}
            for name in sorted(set(before) - set(metrics))
        ]
    return changes


def describe(root: Path, data_dir: Path, latest_manifest: Path | None, tops=("data/raw", "config")) -> dict:
    """The changes since the latest edition (or the statement that this is the first), for the report's
    closing page: data values, and changed files among `tops` (text and template changes are listed in
    the edition's CHANGES.md; keeping them off the page lets a text edit rebuild only its own language)."""
    inputs = {n: h for n, h in tracked_inputs(root).items() if n.startswith(tuple(tops))}
    metrics = read_metrics(data_dir)
    if latest_manifest is None or not latest_manifest.exists():
        return {"first": True, "previous": None, "values": [], "inputs": []}
    old = json.loads(latest_manifest.read_text(encoding="utf-8"))
    old_inputs = {n: h for n, h in old["inputs"].items() if n.startswith(tuple(tops))}
    changed_inputs = sorted(n for n, h in inputs.items() if old_inputs.get(n) != h)
    changed_inputs += [f"{n} (removed)" for n in sorted(set(old_inputs) - set(inputs))]
    return {
        "first": False,
        "previous": old.get("edition"),
        "values": value_changes(metrics, old["metrics"]),
        "inputs": changed_inputs,
    }


def usgs_edition_year(data_dir: Path) -> str:
    """The newest USGS Mineral Commodity Summaries edition in the cleaned USGS table, as a year ('2023')."""
    import re

    path = Path(data_dir) / "usgs_mcs2023_world.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        years = {re.sub(r"\D", "", row["edition"]) for row in csv.DictReader(fh)}
    return max(y for y in years if y)


def fill_source(text: str, data_dir: Path) -> str:
    """A source line from the metadata, with {usgs_edition} replaced by the edition the data come from."""
    return text.replace("{usgs_edition}", usgs_edition_year(data_dir)) if "{usgs_edition}" in text else text
