"""The numbers the narrative may use, each looked up in the cleaned data by templates/variables.yaml.

A variable is declared once, by where its value lives:

    ga_supply_total_2020: {metric: ga_supply.total_2020}          # a derived metric of a dataset
    eu_srm_count: {table: critical_minerals, count: {jurisdiction: EUR}}   # rows matching a filter
    ga_lca_total: {table: lca_totals, where: {route: GA_BAYER}, column: total_kg_co2_per_kg}

Researchers add variables here, never in Python. The generated list (variables.md) ships with the report.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from critmet.io import load_yaml
from critmet.report import ReportError


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        raise ReportError(f"{path}: missing; the clean stage writes it")
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _number(text: str):
    if text in ("", None):
        return math.nan
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _matches(row: dict, where: dict) -> bool:
    return all(str(row.get(k)) == str(v) for k, v in where.items())


def compute_variables(spec_path: str | Path, data_dir: str | Path) -> dict[str, dict]:
    """Return {name: {value, unit, from, means}} for every variable of the spec."""
    spec_path, data_dir = Path(spec_path), Path(data_dir)
    spec = load_yaml(spec_path) or {}
    cache: dict[str, list[dict]] = {}

    def rows(name: str) -> list[dict]:
        if name not in cache:
            cache[name] = _read_csv(data_dir / f"{name}.csv")
        return cache[name]

    out: dict[str, dict] = {}
    for name, item in spec.items():
        where_msg = f"{spec_path}: variable '{name}'"
        if not isinstance(item, dict):
            raise ReportError(f"{where_msg}: expected a mapping with 'metric' or 'table'")
        if "metric" in item:
            dataset, _, metric = item["metric"].partition(".")
            found = [r for r in rows(f"{dataset}_metrics") if r["metric"] == metric]
            if not found:
                raise ReportError(
                    f"{where_msg}: dataset '{dataset}' has no metric '{metric}' "
                    f"(see results/data/{dataset}_metrics.csv)"
                )
            value, unit, source = _number(found[0]["value"]), found[0]["unit"], item["metric"]
        elif "table" in item:
            table_rows = rows(item["table"])
            if "count" in item:
                value = sum(1 for r in table_rows if _matches(r, item["count"]))
                unit, source = "", f"{item['table']} count {item['count']}"
            else:
                found = [r for r in table_rows if _matches(r, item.get("where", {}))]
                if len(found) != 1:
                    raise ReportError(
                        f"{where_msg}: {len(found)} rows of {item['table']} match {item.get('where')}; "
                        "expected exactly one"
                    )
                column = item["column"]
                if column not in found[0]:
                    raise ReportError(f"{where_msg}: table {item['table']} has no column '{column}'")
                value, unit = _number(found[0][column]), item.get("unit", "")
                source = f"{item['table']}[{item.get('where')}].{column}"
        else:
            raise ReportError(f"{where_msg}: expected 'metric' or 'table'")
        if isinstance(value, float) and math.isnan(value):
            raise ReportError(f"{where_msg}: the data holds no value for it ({source})")
        if "round" in item:
            value = round(value, item["round"])
            value = int(value) if item["round"] == 0 else value
        out[name] = {
            "value": value,
            "unit": unit or item.get("unit", ""),
            "from": source,
            "means": item.get("means", ""),
        }
    return out


def variables_markdown(variables: dict[str, dict]) -> str:
    lines = [
        "# Variables available to the text files",
        "",
        "Write `{{ v.NAME | num }}`, `{{ v.NAME | num(1) }}` or `{{ v.NAME | pct }}` in a text file of",
        "templates/text/. Each value is looked up in the cleaned data by templates/variables.yaml.",
        "",
        "| variable | value | unit | from | meaning |",
        "|---|---:|---|---|---|",
    ]
    for name in sorted(variables):
        item = variables[name]
        lines.append(f"| `{name}` | {item['value']} | {item['unit']} | `{item['from']}` | {item['means']} |")
    return "\n".join(lines) + "\n"
