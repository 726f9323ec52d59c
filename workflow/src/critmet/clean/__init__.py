"""The clean stage: load a dataset's validated raw tables, derive its metrics, check them against the report.

Load, process, save: `clean_dataset` reads the raw tables through the validator, hands pandas frames to the
dataset's derive function (critmet.clean.derive), compares every value the report prints with the value
derived from the data, and writes the cleaned tables, a metrics table and a checks file.

Two kinds of checks, kept apart:

* Consistency checks hold for every edition of the data: totals equal to their parts within rounding, shares
  adding up to 100 (metrics with `expected`, kind "consistency"). A failure stops the stage naming the file,
  unless the discrepancy register explains exactly that disagreement (its `printed_value` and `data_value`).
* Fidelity checks compare the data with the values one print shows (the `printed:` entries of the metadata,
  and metrics of kind "fidelity"). They bind only while the tables are the data of that print: each metadata
  file records the SHA-256 of its table's rows as of the print (`print_edition.rows_sha256`). While every
  table a dataset reads still has that fingerprint, a printed value that disagrees stops the stage as before;
  once a table differs (a data update), a disagreement is not an error but a "changed" record, listed in the
  audit and in results/data/fidelity.csv ("print 2023: 544 -> now 551.5").
"""

from __future__ import annotations

import csv
import hashlib
import json
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
    kind: str = "consistency"  # or "fidelity": `expected` is a value of the print, not a rule of the data
    at: tuple | None = None  # ({column: value, ...} of the row to name, column to name) in `table`


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
    """The discrepancy register, keyed by `table:item`; each row knows its line in the CSV."""
    path = raw_dir / "discrepancy_register.csv"
    table = validate_table(path, codes)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        lines = {}
        for record in reader:
            lines[f"{(record.get('table') or '').strip()}:{(record.get('item') or '').strip()}"] = reader.line_num
    return {
        f"{row['table']}:{row['item']}": dict(row, _line=lines.get(f"{row['table']}:{row['item']}"), _path=path)
        for row in table.rows
    }


def row_line(path: Path, match: dict) -> int | None:
    """The line of the first row of a raw CSV whose cells equal `match` (compared as text, numbers as numbers)."""

    def same(cell: str, value) -> bool:
        cell = cell.strip()
        if isinstance(value, int | float):
            try:
                return float(cell) == float(value)
            except ValueError:
                return False
        return cell == str(value)

    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for record in reader:
            if all(same(record.get(k) or "", v) for k, v in match.items()):
                return reader.line_num
    return None


def rows_sha256(table: Table) -> str:
    """Fingerprint of a table's data: its normalised rows (column order, values as validated)."""
    canon = json.dumps([[row[c] for c in table.columns] for row in table.rows], ensure_ascii=False, default=str)
    return hashlib.sha256((json.dumps(table.columns) + "\n" + canon).encode("utf-8")).hexdigest()


def print_edition(table: Table) -> dict:
    """The print a table's `printed:` values come from, and whether the table still holds that print's data."""
    info = table.meta.get("print_edition") or {}
    recorded = info.get("rows_sha256")
    return {
        "edition": info.get("edition", "print"),
        "as_printed": bool(recorded) and recorded == rows_sha256(table),
    }


def _pin_problem(entry: dict, printed: float, computed: float) -> str | None:
    """A register entry explains one disagreement: the printed value and the data value it pins. Returns why it
    does not explain this one, or None."""
    pv, dv = entry.get("printed_value"), entry.get("data_value")
    if pv is not None and not math.isclose(float(pv), float(printed), rel_tol=1e-9, abs_tol=1e-9):
        return f"its printed_value is {pv:g}, but the value compared is {printed:g}"
    if dv is not None and not math.isclose(float(dv), float(computed), rel_tol=1e-6, abs_tol=1e-3):
        return f"its data_value is {dv:g}, but the data now give {computed:.6g}"
    return None


def _register_error(entry: dict, key: str, problem: str, what: str) -> RawDataError:
    return RawDataError(
        entry["_path"],
        f"the register entry {entry['id']} ('{key}') explains another disagreement than {what}: {problem}",
        line=entry.get("_line"),
        column="data_value" if "data_value" in problem else "printed_value",
        expected="consistent data, or a register entry whose printed_value and data_value are the values "
        "that now disagree (with its reason)",
    )


def _estimated_cells(table: Table) -> int:
    """How many rows of a table hold an estimate (its `status`/`value_status` column says 'estimated')."""
    col = next((c for c in ("value_status", "status") if c in table.columns), None)
    return sum(1 for row in table.rows if col and row.get(col) == "estimated")


def check_printed(
    tables: dict[str, Table],
    metrics: dict[str, Metric],
    register: dict[str, dict],
    as_printed: bool = True,
    edition: str = "print",
) -> list[dict]:
    """Compare each printed value with its derived metric and check every consistency rule. Returns one record
    per check. `as_printed`: the tables still hold the data of the print (fidelity mismatches are errors);
    otherwise a fidelity mismatch is recorded with status "changed"."""
    records = []

    def judge(record: dict, key: str, agrees: bool, fidelity: bool, fail):
        entry = register.get(key)
        if agrees:
            record["status"] = "registered-agrees" if entry else "ok"
            return
        problem = _pin_problem(entry, record["printed"], record["computed"]) if entry else None
        if entry and problem is None:
            record.update(status="discrepancy", reason_en=entry["reason_en"], reason_ja=entry["reason_ja"])
        elif fidelity and not as_printed:
            record.update(status="changed", edition=edition)
        elif entry:
            raise _register_error(entry, key, problem, f"{record['printed']:g} against {record['computed']:.6g}")
        else:
            raise fail()

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
                "kind": "fidelity",
            }
            metric = metrics.get(f"{name}:{pid}") or metrics.get(pid)
            if metric is None:
                record.update(status="unchecked", computed=None)
            else:
                tol = printed_tolerance(entry)
                diff = metric.value - float(entry["value"])
                agrees = math.isclose(metric.value, float(entry["value"]), abs_tol=tol)
                record.update(computed=round(metric.value, 6), tolerance=tol, difference=round(diff, 6))

                def fail(
                    entry=entry, pid=pid, metric=metric, diff=diff, tol=tol, meta_path=meta_path, name=name, table=table
                ):
                    return RawDataError(
                        meta_path,
                        f"the report prints {entry['value']} for '{pid}' ({entry.get('where', '')}), but the table "
                        f"gives {metric.value:.4g}, a difference of {diff:+.4g} beyond rounding (±{tol:.3g})",
                        line=_yaml_line(meta_path, pid),
                        column="printed",
                        expected=f"a value that agrees with {table.path.name}, or a row '{name},{pid},…' "
                        "in data/raw/discrepancy_register.csv that explains the disagreement",
                    )

                judge(record, key, agrees, True, fail)
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
            "kind": metric.kind,
        }

        def fail(metric=metric):
            table = tables.get(metric.table)
            path = table.path if table else metric.table
            line, column = None, None
            if metric.at and table is not None:
                match, column = metric.at
                line = row_line(table.path, match)
            return RawDataError(
                path,
                f"{metric.what}: {metric.value:.6g} where {metric.expected:.6g} is expected "
                f"(±{metric.tolerance:.3g} for rounding)",
                line=line,
                column=column,
                expected=f"consistent values, or a row '{metric.table},{metric.name},…' in "
                "data/raw/discrepancy_register.csv that explains the disagreement",
            )

        judge(record, key, abs(diff) <= metric.tolerance, metric.kind == "fidelity", fail)
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
    used_tables = {name: load(name) for name in used}
    frames = {name: to_frame(table) for name, table in tables.items()}
    frames.update({name: to_frame(table) for name, table in used_tables.items()})
    # fidelity checks bind only while every table the dataset reads is still the data of the print
    editions = {name: print_edition(t) for name, t in {**tables, **used_tables}.items()}
    as_printed = all(e["as_printed"] for e in editions.values())
    edition = next(iter(editions.values()))["edition"] if editions else "print"
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
    records = check_printed(tables, metrics, register, as_printed=as_printed, edition=edition)

    for name in spec["tables"] + spec.get("derived", []):
        write_frame(out_dir / f"{name}.csv", frames[name])
    metric_frame = pd.DataFrame(
        [(m.name, m.value, m.unit) for m in sorted(metric_list, key=lambda m: m.name)],
        columns=["metric", "value", "unit"],
    )
    write_frame(out_dir / f"{dataset}_metrics.csv", metric_frame)
    result = {
        "dataset": dataset,
        "tables": {
            name: {
                "rows": len(t.rows),
                "notes": t.notes,
                "file": str(t.path),
                "as_printed": editions[name]["as_printed"],
                "estimated": _estimated_cells(t),
                "estimates": [
                    f"{e.get('cells', '')}: {' '.join(str(e.get('method', '')).split())}"
                    for e in t.meta.get("estimates") or []
                ],
            }
            for name, t in tables.items()
        },
        "edition": edition,
        "as_printed": as_printed,
        "printed": records,
    }
    write_json(out_dir / "checks" / f"{dataset}.json", result)
    return result
