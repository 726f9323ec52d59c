"""The clean stage: load a dataset's validated raw tables, derive its metrics, check them against the report.

Load, process, save: `clean_dataset` reads the raw tables through the validator, hands pandas frames to the
dataset's derive function (critmet.clean.derive), compares every value the report prints with the value
derived from the data, and writes the cleaned tables, a metrics table and a checks file.

A printed value that disagrees with the data beyond rounding stops the stage, unless the discrepancy
register lists it: then it is kept and reported in the audit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from critmet.io import load_yaml, write_frame, write_json
from critmet.validate import RawDataError, Table, load_codes, validate_table

REGISTRY_PATH = Path(__file__).resolve().parents[3] / "registry.yaml"


@dataclass(frozen=True)
class Metric:
    """One derived number: `name` matches the `printed:` ids of the metadata where the report prints it.

    A metric with `expected` is a consistency rule of the data itself (shares that add up to 100, a total
    equal to its parts): it is checked like a printed value, against `table`'s register entries.
    """

    name: str
    value: float
    unit: str = ""
    expected: float | None = None
    tolerance: float | None = None
    table: str | None = None
    what: str = ""


class CheckError(ValueError):
    """A derivation found the data inconsistent; `table` names the raw table to fix."""

    def __init__(self, table: str, message: str, expected: str | None = None):
        super().__init__(message)
        self.table, self.message, self.expected = table, message, expected


def load_registry(path: Path = REGISTRY_PATH) -> dict:
    return load_yaml(path)


def to_frame(table: Table) -> pd.DataFrame:
    frame = pd.DataFrame(table.rows, columns=table.columns)
    for col, spec in table.meta["schema"]["columns"].items():
        if spec["type"] == "integer":
            frame[col] = frame[col].astype("Int64")
        elif spec["type"] == "number":
            frame[col] = frame[col].astype("float64")
    key = table.meta["schema"].get("primary_key")
    if key:
        if frame.duplicated(subset=key).any():  # the validator already refuses duplicate keys
            raise ValueError(f"{table.path}: duplicate primary key {key}")
    return frame


def printed_tolerance(entry: dict) -> float:
    """Half a unit of the last printed digit, unless the metadata sets `tolerance`."""
    if "tolerance" in entry:
        return float(entry["tolerance"])
    exponent = Decimal(str(entry["value"])).normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    if isinstance(entry["value"], float) and decimals == 0 and str(entry["value"]).endswith(".0"):
        decimals = 1
    return 0.5 * 10.0 ** (-decimals) + 1e-9


def _yaml_line(path: Path, printed_id: str) -> int | None:
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if f"id: {printed_id}" in line or f"id: '{printed_id}'" in line or f'id: "{printed_id}"' in line:
            return lineno
    return None


def load_register(raw_dir: Path, codes) -> dict[str, dict]:
    """The discrepancy register, keyed by `table:item`."""
    table = validate_table(raw_dir / "discrepancy_register.csv", codes)
    return {f"{row['table']}:{row['item']}": row for row in table.rows}


def check_printed(tables: dict[str, Table], metrics: dict[str, Metric], register: dict[str, dict]) -> list[dict]:
    """Compare each printed value with its derived metric. Returns one record per printed value."""
    records = []
    for name, table in tables.items():
        meta_path = table.path.with_suffix(".meta.yaml")
        for entry in table.meta.get("printed") or []:
            pid = entry["id"]
            key = f"{name}:{pid}"
            record = {
                "table": name,
                "id": pid,
                "printed": entry["value"],
                "unit": entry.get("unit", ""),
                "where": entry.get("where", ""),
            }
            metric = metrics.get(f"{name}:{pid}") or metrics.get(pid)
            if metric is None:
                record.update(status="unchecked", computed=None)
            else:
                tol = printed_tolerance(entry)
                diff = metric.value - float(entry["value"])
                agrees = math.isclose(metric.value, float(entry["value"]), abs_tol=tol)
                record.update(computed=round(metric.value, 6), tolerance=tol, difference=round(diff, 6))
                if agrees:
                    record["status"] = "registered-agrees" if key in register else "ok"
                elif key in register:
                    record["status"] = "discrepancy"
                    record["reason_en"] = register[key]["reason_en"]
                    record["reason_ja"] = register[key]["reason_ja"]
                else:
                    raise RawDataError(
                        meta_path,
                        f"the report prints {entry['value']} for '{pid}' ({entry.get('where', '')}), but the table "
                        f"gives {metric.value:.4g}, a difference of {diff:+.4g} beyond rounding (±{tol:.3g})",
                        line=_yaml_line(meta_path, pid),
                        column="printed",
                        expected=f"a value that agrees with {table.path.name}, or a row '{name},{pid},…' "
                        "in data/raw/discrepancy_register.csv that explains the disagreement",
                    )
            records.append(record)
    for metric in metrics.values():
        if metric.expected is None:
            continue
        key = f"{metric.table}:{metric.name}"
        diff = metric.value - metric.expected
        record = {
            "table": metric.table,
            "id": metric.name,
            "printed": metric.expected,
            "unit": metric.unit,
            "where": metric.what,
            "computed": round(metric.value, 6),
            "tolerance": metric.tolerance,
            "difference": round(diff, 6),
        }
        if abs(diff) <= metric.tolerance:
            record["status"] = "registered-agrees" if key in register else "ok"
        elif key in register:
            record.update(
                status="discrepancy",
                reason_en=register[key]["reason_en"],
                reason_ja=register[key]["reason_ja"],
            )
        else:
            path = tables[metric.table].path if metric.table in tables else metric.table
            raise RawDataError(
                path,
                f"{metric.what}: {metric.value:.4g} where {metric.expected:.4g} is expected "
                f"(±{metric.tolerance:.3g} for rounding)",
                expected=f"consistent values, or a row '{metric.table},{metric.name},…' in "
                "data/raw/discrepancy_register.csv that explains the disagreement",
            )
        records.append(record)
    return records


USGS_TABLE = "usgs_mcs2023_world"


def import_usgs(raw_dir: Path, codes, files: list[str], edition: str) -> Table:
    """The USGS table with the commodities of newly published world files replacing the committed ones,
    validated against the committed table's schema."""
    import csv
    import tempfile

    from critmet.importers.usgs import read_world_csv, write_table

    committed = validate_table(raw_dir / f"{USGS_TABLE}.csv", codes)
    countries = ["country", "region"]
    known = lambda name: codes.resolve(name, countries) is not None  # noqa: E731
    imported = [row for path in files for row in read_world_csv(path, edition, known).rows]
    for row in imported:  # a country the code lists do not know: name the file the user dropped
        if not known(row["country"]):
            raise RawDataError(
                row["source_path"],
                "unknown country",
                line=row["source_line"],
                column="Country",
                value=row["country"],
                expected="a name of data/raw/codes/countries.csv (add the country there, with its aliases)",
            )
    replaced = {row["commodity"] for row in imported}
    kept = []
    with open(raw_dir / f"{USGS_TABLE}.csv", encoding="utf-8-sig", newline="") as fh:
        kept = [row for row in csv.DictReader(fh) if row["commodity"] not in replaced]
    with tempfile.TemporaryDirectory() as tmp:
        merged = Path(tmp) / f"{USGS_TABLE}.csv"
        write_table(kept + imported, merged)
        try:
            table = validate_table(merged, codes, meta_path=raw_dir / f"{USGS_TABLE}.meta.yaml")
        except RawDataError as err:  # point at the published file and line the row came from
            origin = (kept + imported)[err.line - 2] if isinstance(err.line, int) and err.line >= 2 else None
            if origin is None or "source_path" not in origin:
                raise
            raise RawDataError(
                origin["source_path"],
                err.args[0].split(": ", 1)[-1].split(" (value:")[0].split("; expected")[0],
                line=origin["source_line"],
                column=err.column,
                value=err.value,
                expected=err.expected,
            ) from None
    table.path = committed.path
    table.notes.append(f"{', '.join(sorted(replaced))} imported from {len(files)} published file(s) of {edition}")
    return table


def clean_dataset(
    dataset: str,
    raw_dir: str | Path,
    out_dir: str | Path,
    registry: dict | None = None,
    usgs_files: list[str] | None = None,
    usgs_edition: str | None = None,
) -> dict:
    """Validate, derive, check and write one dataset. Returns the checks record that it also writes.
    `usgs_files` (published MCS world CSVs) replace the committed USGS rows of the commodities they hold."""
    from critmet.clean import derive

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    registry = registry or load_registry()
    spec = registry["datasets"][dataset]
    codes = load_codes(raw_dir / "codes")

    def load(name: str) -> Table:
        if name == USGS_TABLE and usgs_files:
            return import_usgs(raw_dir, codes, usgs_files, usgs_edition or "")
        return validate_table(raw_dir / f"{name}.csv", codes)

    tables = {name: load(name) for name in spec["tables"]}
    used = [t for u in spec.get("uses", []) for t in registry["datasets"][u]["tables"]]
    frames = {name: to_frame(table) for name, table in tables.items()}
    frames.update({name: to_frame(load(name)) for name in used})
    register = load_register(raw_dir, codes)

    derive_fn = getattr(derive, f"derive_{dataset}")
    try:
        metric_list = derive_fn(frames, codes)
    except CheckError as err:
        path = tables[err.table].path if err.table in tables else err.table
        raise RawDataError(path, err.message, expected=err.expected) from None
    derived = set(frames) - set(spec["tables"]) - set(used)
    if derived != set(spec.get("derived", [])):
        raise ValueError(
            f"derive_{dataset} produced the tables {sorted(derived)}, "
            f"but workflow/registry.yaml declares {sorted(spec.get('derived', []))}"
        )
    metrics = {m.name: m for m in metric_list}
    if len(metrics) != len(metric_list):
        raise ValueError(f"derive_{dataset} produced a metric name twice")
    records = check_printed(tables, metrics, register)

    for name in spec["tables"] + spec.get("derived", []):
        write_frame(out_dir / f"{name}.csv", frames[name])
    metric_frame = pd.DataFrame(
        [(m.name, m.value, m.unit) for m in sorted(metric_list, key=lambda m: m.name)],
        columns=["metric", "value", "unit"],
    )
    write_frame(out_dir / f"{dataset}_metrics.csv", metric_frame)
    result = {
        "dataset": dataset,
        "tables": {name: {"rows": len(t.rows), "notes": t.notes, "file": str(t.path)} for name, t in tables.items()},
        "printed": records,
    }
    write_json(out_dir / "checks" / f"{dataset}.json", result)
    return result
