"""What changed since the latest published edition: the data for the report's closing page and CHANGES.md.

The comparison is between the current inputs and cleaned data and the manifest of `results/latest` (written
by `critmet.scheduled` when it publishes an edition). Without a published edition, this is the first one.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from critmet.io import load_yaml, sha256_file

TRACKED = ("data/raw", "templates", "config")


def tracked_inputs(root: Path) -> dict[str, str]:
    """sha256 of every raw table, text file, template and config file, and of the published source files
    that config names (USGS world CSVs)."""
    out = {}
    for top in TRACKED:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path.relative_to(root))] = sha256_file(path)
    config = load_yaml(root / "config" / "config.yaml")
    for name in sorted(config["usgs"]["world_files"].values()):
        out[name] = sha256_file(root / name)
    return out


def read_metrics(data_dir: Path, column: str = "value") -> dict[str, dict]:
    """{dataset: {metric: value}} from results/data/*_metrics.csv (column="unit": the units instead)."""
    out = {}
    for path in sorted(data_dir.glob("*_metrics.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            rows = csv.DictReader(fh)
            out[path.stem.removesuffix("_metrics")] = {
                r["metric"]: float(r["value"]) if column == "value" else r[column] for r in rows
            }
    return out


YEAR = re.compile(r"^(19|20|21)\d\d$")
# Words of metric ids, in (Japanese, English); `value` says nothing a reader needs.
WORDS = {
    "total": ("合計", "total"),
    "share": ("シェア", "share"),
    "cagr": ("年平均成長率", "CAGR"),
    "hhi": ("HHI（集中度）", "HHI (concentration)"),
    "top": ("最大", "largest"),
    "demand": ("需要", "demand"),
    "usgs": ("USGS", "USGS"),
    "sum": ("合計", "sum"),
    "recycling": ("リサイクル", "recycling"),
    "summary": ("要約", "summary"),
    "label": ("表示値", "label"),
    "line": ("線", "line"),
    "pie": ("円グラフ", "pie"),
    "diff": ("差", "difference"),
    "auto": ("自動車", "automotive"),
    "nonauto": ("自動車以外", "non-automotive"),
    "value": None,
}


# Short names of the datasets for the change log (the tables' titles are the fallback).
DATASET_NAMES = {
    "ga_supply": ("ガリウム供給", "Gallium supply"),
    "mg_supply": ("マグネシウム供給", "Magnesium supply"),
    "ga_demand": ("ガリウム需要", "Gallium demand"),
    "mg_demand": ("マグネシウム需要", "Magnesium demand"),
    "material_flow": ("マテリアルフロー", "Material flow"),
    "risk": ("供給リスク", "Supply risk"),
    "screening": ("鉱種スクリーニング", "Mineral screening"),
    "recommendations": ("提言", "Recommendations"),
    "lca": ("LCA", "LCA"),
    "policy": ("政策", "Policy"),
    "tech_trends": ("技術動向", "Technology trends"),
    "gan_map": ("GaN用途", "GaN applications"),
}


def _shape(name: str) -> str:
    return "_".join("Y" if YEAR.match(t) else t for t in name.split("_"))


def _years(name: str) -> list[str]:
    return [t for t in name.split("_") if YEAR.match(t)]


class Namer:
    """Human names of metric ids in both languages: the dataset's title, then the words, codes and years of
    the id ('value_CN_2020' of ga_supply: 'Refined gallium supply: China, 2020')."""

    def __init__(self, root: Path):
        from critmet.validate import load_codes

        raw = root / "data" / "raw"
        self.codes = load_codes(raw / "codes")
        registry = load_yaml(root / "workflow" / "registry.yaml")
        self.titles = {}
        for dataset, spec in registry["datasets"].items():
            meta = raw / f"{spec['tables'][0]}.meta.yaml"
            title = load_yaml(meta).get("title", {}) if meta.exists() else {}
            short = DATASET_NAMES.get(dataset)
            self.titles[dataset] = {
                lang: short[i] if short else title.get(lang, dataset) for i, lang in enumerate(("ja", "en"))
            }

    def _code(self, tokens: list[str], lang: str) -> str | None:
        code = "_".join(tokens)
        if code in self.codes.entries:
            return self.codes.name(code, lang)
        years = _years(code)
        if len(years) == 1:  # a code of a later edition ('GA_PRIMARY_2023'): the name of its predecessor
            for known in self.codes.entries:
                if _shape(known) == _shape(code) and len(_years(known)) == 1:
                    return self.codes.name(known, lang).replace(_years(known)[0], years[0])
        return None

    def name(self, dataset: str, metric: str, lang: str) -> str:
        tokens = metric.split("_")
        parts, years, i = [], [], 0
        while i < len(tokens):
            for j in range(len(tokens), i, -1):
                if j - i > 1 or not YEAR.match(tokens[i]):
                    named = self._code(tokens[i:j], lang)
                    if named is not None:
                        parts.append(named)
                        i = j
                        break
            else:
                token = tokens[i]
                if YEAR.match(token):
                    years.append(token)
                elif token.lower() in WORDS:
                    word = WORDS[token.lower()]
                    if word is not None:
                        parts.append(word[0 if lang == "ja" else 1])
                else:
                    parts.append(token)
                i += 1
        if years:
            parts.append("–".join(years) + ("年" if lang == "ja" else ""))
        title = self.titles.get(dataset, {}).get(lang, dataset)
        return f"{title}{'：' if lang == 'ja' else ': '}{('、' if lang == 'ja' else ', ').join(parts)}"


def _rounded(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.9g}")


def _kind(metric: str) -> int:
    """Quantities a reader looks for first (values and totals), then shares, then growth rates, then the
    rest (concentration indices, sums that check shares, labels)."""
    words = metric.split("_")
    if "cagr" in words:
        return 2
    if "share" in words:
        return 1
    if words[0] in ("value", "total", "demand", "recycling", "usgs") and "hhi" not in words:
        return 0
    return 3


def value_changes(new: dict, old: dict, namer: Namer | None = None, units: dict | None = None) -> list[dict]:
    """Metrics whose value differs, appeared or disappeared: {dataset, metric, before, now} (and, with a
    namer, name_ja/name_en; with units, {dataset: {metric: unit}}, the unit). A metric that vanished while
    the same metric of a later year appeared (a series moved on, a pie of a newer edition) is one change,
    from the old year's value to the new one's (`previous_metric` names the old id). Two ids of one dataset
    that changed from the same value to the same value (a quantity and the check that recomputes it) are
    one change, under the shorter id. Quantities first, then shares, growth rates and the rest; within
    each, the biggest relative change first, then values that appeared or vanished."""
    changes = []
    for dataset, metrics in sorted(new.items()):
        before = old.get(dataset, {})
        appeared = sorted(set(metrics) - set(before))
        vanished = sorted(set(before) - set(metrics))
        for name in sorted(set(metrics) & set(before)):
            value = metrics[name]
            if abs(before[name] - value) > 1e-9 * max(1.0, abs(value)):
                changes.append({"dataset": dataset, "metric": name, "before": before[name], "now": value})
        for gone in list(vanished):
            later = [
                n
                for n in appeared
                if _shape(n) == _shape(gone) and _years(gone) and _years(n) and _years(n) > _years(gone)
            ]
            if later:
                successor = min(later, key=_years)
                appeared.remove(successor)
                vanished.remove(gone)
                changes.append(
                    {
                        "dataset": dataset,
                        "metric": successor,
                        "previous_metric": gone,
                        "before": before[gone],
                        "now": metrics[successor],
                    }
                )
        changes += [{"dataset": dataset, "metric": n, "before": None, "now": metrics[n]} for n in appeared]
        changes += [{"dataset": dataset, "metric": n, "before": before[n], "now": None} for n in vanished]

    same: dict[tuple, dict] = {}
    for change in sorted(changes, key=lambda c: (len(c["metric"]), c["metric"])):
        same.setdefault((change["dataset"], _rounded(change["before"]), _rounded(change["now"])), change)
    changes = list(same.values())
    for change in changes:
        if units is not None:
            change["unit"] = units.get(change["dataset"], {}).get(change["metric"], "")

    def size(change: dict) -> tuple:
        if change["before"] is None or change["now"] is None:
            return (1, 0.0)
        scale = max(abs(change["before"]), abs(change["now"]), 1e-12)
        return (0, -abs(change["now"] - change["before"]) / scale)

    changes.sort(key=lambda c: (_kind(c["metric"]), *size(c), c["dataset"], c["metric"]))
    if namer is not None:
        for change in changes:
            for lang in ("ja", "en"):
                change[f"name_{lang}"] = namer.name(change["dataset"], change["metric"], lang)
                if change.get("previous_metric"):
                    old_years = "–".join(_years(change["previous_metric"]))
                    change[f"name_{lang}"] += f"（{old_years}年から）" if lang == "ja" else f" (from {old_years})"
    return changes


def source_files(root: Path) -> list[str]:
    """The published source files that config names (USGS world CSVs), as tracked_inputs names them."""
    config = load_yaml(root / "config" / "config.yaml")
    return sorted(config["usgs"]["world_files"].values())


def describe(root: Path, data_dir: Path, latest_manifest: Path | None, tops=("data/raw", "config")) -> dict:
    """The changes since the latest edition (or the statement that this is the first), for the report's
    closing page: data values, and changed files among `tops` (text and template changes are listed in
    the edition's CHANGES.md; keeping them off the page lets a text edit rebuild only its own language)."""
    tops = (*tops, *source_files(root))  # the source files config names are data too
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
        "values": value_changes(metrics, old["metrics"], Namer(root), read_metrics(data_dir, "unit")),
        "inputs": changed_inputs,
    }


def usgs_edition_year(data_dir: Path) -> str:
    """The newest USGS Mineral Commodity Summaries edition in the cleaned USGS table, as a year ('2023')."""
    import re

    path = Path(data_dir) / "usgs_mcs2023_world.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        years = {re.sub(r"\D", "", row["edition"]) for row in csv.DictReader(fh)}
    return max(y for y in years if y)


def table_sources(meta, tables: list[str], data_dir: Path, lang: str) -> list[str]:
    """The source lines of `tables` (`meta(table)`: a table's metadata) in this language, each once, in order."""
    out: list[str] = []
    for table in tables:
        text = fill_source(meta(table)["source"][lang], data_dir)
        if text not in out:
            out.append(text)
    return out


def join_sources(texts: list[str], lang: str) -> str:
    """Source lines as one: separated by a semicolon, or by a space after a line that ends a sentence."""
    out = ""
    for text in texts:
        if out:
            ended = out.endswith(("。", ".", "．"))
            out += ("" if ended else "；") if lang == "ja" else (" " if ended else "; ")
        out += text
    return out


def fill_source(text: str, data_dir: Path) -> str:
    """A source line from the metadata, with {usgs_edition} replaced by the edition the data come from."""
    return text.replace("{usgs_edition}", usgs_edition_year(data_dir)) if "{usgs_edition}" in text else text
