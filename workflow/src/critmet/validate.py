"""Validation of the raw source tables against the schemas in their metadata.

Standard library only (plus PyYAML), so that the whole of data/raw can be checked in a fraction of a
second when the workflow starts, before any job runs: a malformed table stops the build with one message
naming the file, line, column and value, and nothing downstream is touched.

Messy but unambiguous input is normalised and the normalisation is noted: a UTF-8 BOM, full-width digits,
thousands separators and stray spaces.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from critmet.io import SafeLoader

COLUMN_TYPES = ("integer", "number", "string", "enum", "code", "date")
META_REQUIRED = ("title", "unit", "source", "publisher", "reference_year", "report_page", "licence", "schema")
BILINGUAL_META = ("title", "unit", "source")
YEAR_RANGE = (1990, 2100)
LARGEST = 1e12  # no quantity of these tables comes near it (world tonnages are below 1e9): 1e30 is a typo

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^(\d{4})(-(0[1-9]|1[0-2]))?$")


def error_text(path, message, *, line=None, field=None, value=None, expected=None) -> str:
    """The common form of every input error: `path, line N, <field>: message (value: v); expected e`."""
    where = ", ".join([str(path)] + [part for part in (line is not None and f"line {line}", field) if part])
    text = f"{where}: {message}"
    if value is not None:
        text += f" (value: {value!r})"
    if expected is not None:
        text += f"; expected {expected}"
    return text


class RawDataError(ValueError):
    """A raw table or its metadata breaks the rules. The message is meant for the analyst."""

    def __init__(self, path, message, line=None, column=None, value=None, expected=None):
        self.path, self.line, self.column, self.value, self.expected = str(path), line, column, value, expected
        field = f"column '{column}'" if column is not None else None
        super().__init__(error_text(path, message, line=line, field=field, value=value, expected=expected))


@dataclass
class Table:
    """A validated raw table: normalised rows, the metadata, and the notes on what was normalised."""

    name: str
    path: Path
    meta: dict
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- code lists
def normalise_key(text: str) -> str:
    """The form in which names are compared: NFKC, no spaces, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


@dataclass
class CodeList:
    """All codes of data/raw/codes/*.csv, with their names and aliases."""

    entries: dict[str, dict[str, str]]  # code -> {kind, name_ja, name_en}
    lookup: dict[tuple[str, str], str]  # (kind, normalised name) -> code
    files: list[Path]

    def resolve(self, value: str, kinds: list[str]) -> str | None:
        key = normalise_key(value)
        for kind in kinds:
            code = self.lookup.get((kind, key))
            if code is not None:
                return code
        return None

    def kinds(self) -> set[str]:
        return {e["kind"] for e in self.entries.values()}

    def name(self, code: str, lang: str) -> str:
        try:
            return self.entries[code][f"name_{lang}"]
        except KeyError:
            raise KeyError(f"code {code!r} has no {lang} name in data/raw/codes") from None


def load_codes(codes_dir: str | Path) -> CodeList:
    codes_dir = Path(codes_dir)
    files = sorted(codes_dir.glob("*.csv"))
    if not files:
        raise RawDataError(codes_dir, "no code lists found (codes/*.csv)")
    entries: dict[str, dict[str, str]] = {}
    lookup: dict[tuple[str, str], str] = {}
    expected = ["code", "kind", "name_ja", "name_en", "aliases"]
    for path in files:
        text, _ = _decode(path)
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        if header != expected:
            raise RawDataError(path, f"header is {header}", line=1, expected=f"the columns {expected}")
        for lineno, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(expected):
                raise RawDataError(path, f"{len(row)} fields", line=lineno, expected=f"{len(expected)} fields")
            code, kind, name_ja, name_en, aliases = (cell.strip() for cell in row)
            for col, val in (("code", code), ("kind", kind), ("name_ja", name_ja), ("name_en", name_en)):
                if not val:
                    raise RawDataError(path, "empty cell", line=lineno, column=col, expected="a value")
            if code in entries:
                raise RawDataError(
                    path,
                    "duplicate code",
                    line=lineno,
                    column="code",
                    value=code,
                    expected="a code not used in any other code list",
                )
            entries[code] = {"kind": kind, "name_ja": name_ja, "name_en": name_en, "file": path.name}
            names = [code, name_ja, name_en] + [a for a in aliases.split("|") if a.strip()]
            for name in names:
                key = (kind, normalise_key(name))
                if key in lookup and lookup[key] != code:
                    raise RawDataError(
                        path,
                        f"name {name!r} already means {lookup[key]!r}",
                        line=lineno,
                        column="aliases",
                        expected="names unique within a kind",
                    )
                lookup[key] = code
    return CodeList(entries, lookup, files)


# ---------------------------------------------------------------------------------------------- raw tables
def _decode(path: Path) -> tuple[str, list[str]]:
    raw = path.read_bytes()
    notes = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and raw[:200].count(b"\0") > len(raw[:200]) // 4):
        raise RawDataError(
            path,
            "the file is UTF-16 text (as Excel's 'Unicode text' saves it)",
            line=1,
            expected="UTF-8 text: save it as 'CSV UTF-8'",
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        notes.append("removed a UTF-8 byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = ""
        try:
            raw.decode("cp932")
            hint = " It decodes as Shift_JIS (CP932), as Excel saves CSV files: save it as 'CSV UTF-8'."
        except UnicodeDecodeError:
            pass
        raise RawDataError(
            path,
            f"text is not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}).{hint}",
            line=line,
            expected="UTF-8 text",
        ) from None
    return text, notes


def _fold_digits(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", ch) if unicodedata.category(ch) == "Nd" else ch for ch in text)


def _parse_number(cell: str, spec: dict, note) -> float | int:
    text = _fold_digits(cell)
    text = text.replace("，", ",").replace("．", ".").replace("－", "-").replace("−", "-")
    if text != cell:
        note("full-width characters in a number folded to ASCII")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
        note("thousands separators removed")
    if not _NUMBER.match(text):
        raise ValueError("a number")
    if spec["type"] == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError("a whole number")
        return int(text)
    return float(text)


def _check_meta(path: Path, meta: Any) -> dict:
    if not isinstance(meta, dict):
        raise RawDataError(path, "metadata is not a mapping", expected="a YAML mapping (see data/raw/README.md)")
    for key in META_REQUIRED:
        if key not in meta:
            raise RawDataError(path, f"metadata key '{key}' is missing", expected=f"the keys {list(META_REQUIRED)}")
    for key in BILINGUAL_META:
        value = meta[key]
        if not isinstance(value, dict) or not value.get("ja") or not value.get("en"):
            raise RawDataError(path, f"metadata '{key}' needs both languages", expected="{ja: ..., en: ...}")
    schema = meta["schema"]
    if not isinstance(schema, dict) or not isinstance(schema.get("columns"), dict):
        raise RawDataError(path, "schema.columns is missing", expected="a mapping of column name -> spec")
    for col, spec in schema["columns"].items():
        if not isinstance(spec, dict) or spec.get("type") not in COLUMN_TYPES:
            raise RawDataError(path, f"schema of column '{col}' has no valid type", expected=f"one of {COLUMN_TYPES}")
        if spec["type"] == "enum" and not spec.get("values"):
            raise RawDataError(path, f"enum column '{col}' lists no values", expected="values: [...]")
        if spec["type"] == "code" and not spec.get("kinds"):
            raise RawDataError(path, f"code column '{col}' names no kinds", expected="kinds: [...]")
    for col in schema.get("primary_key", []):
        if col not in schema["columns"]:
            raise RawDataError(path, f"primary key column '{col}' is not in schema.columns")
    return meta


def _convert(cell: str, col: str, spec: dict, codes: CodeList, note) -> Any:
    kind = spec["type"]
    if kind in ("integer", "number"):
        try:
            value = _parse_number(cell, spec, note)
        except ValueError as exc:
            raise _CellError(f"not {exc.args[0]}", f"{exc.args[0]}") from None
        lo, hi = spec.get("min"), spec.get("max")
        if not math.isfinite(value) or (hi is None and abs(value) >= LARGEST):
            raise _CellError("implausibly large number", f"a number below {LARGEST:.0e} (no quantity here is larger)")
        if col == "year" or spec.get("is_year"):
            lo = YEAR_RANGE[0] if lo is None else lo
            hi = YEAR_RANGE[1] if hi is None else hi
        if lo is not None and value < lo:
            what = (
                "negative quantity"
                if value < 0 and lo >= 0
                else ("year out of range" if col == "year" else "too small")
            )
            raise _CellError(what, f"a value ≥ {lo}" + (f" and ≤ {hi}" if hi is not None else ""))
        if hi is not None and value > hi:
            raise _CellError(
                "year out of range" if col == "year" else "too large",
                f"a value ≤ {hi}" + (f" and ≥ {lo}" if lo is not None else ""),
            )
        return value
    if kind == "enum":
        if cell not in spec["values"]:
            raise _CellError("not an allowed value", f"one of {spec['values']}")
        return cell
    if kind == "code":
        code = codes.resolve(cell, spec["kinds"])
        if code is None:
            raise _CellError(
                f"unknown {'/'.join(spec['kinds'])}",
                f"a code or name listed in data/raw/codes (kinds {spec['kinds']})",
            )
        return code
    if kind == "date":
        text = _fold_digits(cell)
        m = _DATE.match(text)
        if not m:
            raise _CellError("not a date", "YYYY or YYYY-MM")
        year = int(m.group(1))
        lo = spec.get("min", YEAR_RANGE[0])
        hi = spec.get("max", YEAR_RANGE[1])
        if not lo <= year <= hi:
            raise _CellError("year out of range", f"a year from {lo} to {hi}")
        return text
    return cell


def _records(reader, csv_path: Path):
    """The rows of a csv.reader; a malformed row becomes a RawDataError naming its line."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RawDataError(
                csv_path, f"the CSV does not parse: {exc}", line=reader.line_num, expected="well-formed CSV"
            ) from None
        yield record


class _CellError(Exception):
    def __init__(self, message, expected):
        super().__init__(message)
        self.message, self.expected = message, expected


def validate_table(csv_path: str | Path, codes: CodeList, meta_path: str | Path | None = None) -> Table:
    """Validate one raw table against the schema in its metadata; return its normalised rows."""
    csv_path = Path(csv_path)
    meta_path = Path(meta_path) if meta_path else csv_path.with_suffix(".meta.yaml")
    if not meta_path.exists():
        raise RawDataError(csv_path, f"no metadata file {meta_path.name} beside it")
    try:
        meta = yaml.load(meta_path.read_text(encoding="utf-8"), Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RawDataError(
            meta_path,
            f"YAML does not parse: {getattr(exc, 'problem', exc)}",
            line=mark.line + 1 if mark else None,
        ) from None
    meta = _check_meta(meta_path, meta)
    schema = meta["schema"]
    specs: dict[str, dict] = schema["columns"]
    expected_cols = list(specs)

    text, notes = _decode(csv_path)
    if not text.strip():
        raise RawDataError(csv_path, "the file is empty", expected=f"a header row {expected_cols} and data rows")
    reader = csv.reader(io.StringIO(text))
    header_raw = next(reader)
    header = [h.strip() for h in header_raw]
    if header != header_raw:
        notes.append("stray spaces removed from the header")
    for sep, name in ((";", "';' (semicolon)"), ("\t", "a tab")):
        if len(header) < len(expected_cols) and any(sep in h for h in header):
            raise RawDataError(
                csv_path,
                f"wrong delimiter: the header is separated by {name}",
                line=1,
                value=header_raw[0] if len(header_raw) == 1 else sep.join(header_raw),
                expected=f"comma-separated values with the columns {expected_cols}",
            )
    # a column with a `default` may be left out (the whole column, or trailing cells of a row, or a cell)
    defaults = {c: spec["default"] for c, spec in specs.items() if "default" in spec}
    missing = [c for c in expected_cols if c not in header and c not in defaults]
    extra = [c for c in header if c not in specs]
    if missing:
        raise RawDataError(
            csv_path,
            f"missing column '{missing[0]}'",
            line=1,
            column=missing[0],
            expected=f"the columns {expected_cols}",
        )
    if extra:
        raise RawDataError(
            csv_path,
            f"unexpected column '{extra[0]}'",
            line=1,
            column=extra[0],
            expected=f"only the columns {expected_cols}",
        )
    if len(set(header)) != len(header):
        dup = next(c for c in header if header.count(c) > 1)
        raise RawDataError(csv_path, f"column '{dup}' appears twice", line=1, column=dup)

    rows: list[dict[str, Any]] = []
    seen_keys: dict[tuple, int] = {}
    pk = schema.get("primary_key", [])
    note_set: set[str] = set()
    lineno = 1
    for record in _records(reader, csv_path):
        start, lineno = lineno + 1, reader.line_num
        if any("\n" in cell or "\r" in cell for cell in record):
            col = next(i for i, cell in enumerate(record) if "\n" in cell or "\r" in cell)
            raise RawDataError(
                csv_path,
                f"unbalanced quote: a quoted field opened on line {start} runs on past the end of the line",
                line=start,
                column=header[col] if col < len(header) else None,
                value=record[col].split("\n")[0][:40],
                expected='a closing " on the same line (or no quote at all)',
            )
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < len(header) and all(c in defaults for c in header[len(record) :]):
            record = record + [""] * (len(header) - len(record))
        if len(record) != len(header):
            raise RawDataError(
                csv_path,
                f"{len(record)} fields",
                line=lineno,
                expected=f"{len(header)} fields ({', '.join(header)})",
            )
        row: dict[str, Any] = {}
        for col, raw_cell in zip(header, record, strict=True):
            spec = specs[col]
            cell = raw_cell.strip()
            if cell != raw_cell and spec["type"] != "string":
                note_set.add("stray spaces removed")
            if cell == "" and col in defaults:
                cell = str(defaults[col])
            if cell == "":
                if spec.get("nullable") or spec["type"] == "string" and not spec.get("required"):
                    row[col] = None
                    continue
                raise RawDataError(
                    csv_path,
                    "empty cell",
                    line=lineno,
                    column=col,
                    expected=f"a {spec['type']} value (this column is not nullable)",
                )
            try:
                row[col] = _convert(cell, col, spec, codes, note_set.add)
            except _CellError as err:
                raise RawDataError(
                    csv_path, err.message, line=lineno, column=col, value=raw_cell, expected=err.expected
                ) from None
        for col in defaults:
            if col not in row:
                row[col] = _convert(str(defaults[col]), col, specs[col], codes, note_set.add)
        if pk:
            key = tuple(row[c] for c in pk)
            if key in seen_keys:
                raise RawDataError(
                    csv_path,
                    f"duplicate key {dict(zip(pk, key, strict=True))}",
                    line=lineno,
                    column=", ".join(pk),
                    expected=f"one row per key (first seen on line {seen_keys[key]})",
                )
            seen_keys[key] = lineno
        rows.append(row)
    if not rows:
        raise RawDataError(csv_path, "the file has a header but no data rows", expected="at least one data row")
    notes.extend(sorted(note_set))
    return Table(csv_path.name.removesuffix(".csv"), csv_path, meta, expected_cols, rows, notes)


def raw_tables(raw_dir: str | Path) -> list[Path]:
    return sorted(p for p in Path(raw_dir).glob("*.csv") if not p.name.startswith("_"))


def validate_all(raw_dir: str | Path, fresh=None) -> tuple[CodeList, dict[str, Table]]:
    """Validate every raw table of `raw_dir` and its code lists. Raises RawDataError at the first problem.
    `fresh(path)` may say a table was validated before with the same content (critmet.preflight's cache):
    it is then skipped and left out of the result."""
    raw_dir = Path(raw_dir)
    codes = load_codes(raw_dir / "codes")
    tables = {}
    for path in raw_tables(raw_dir):
        if fresh is not None and fresh(path):
            continue
        table = validate_table(path, codes)
        tables[table.name] = table
    return codes, tables


REGISTRY_SIDE_TABLES = ("discrepancy_register",)  # read by every clean job, not listed per dataset


def check_registry(raw_dir: str | Path, registry: dict) -> list[str]:
    """Every raw table the registry lists must exist with its metadata; returns the CSVs of `raw_dir` that no
    registry entry reads (a renamed table is the usual cause), for the caller to name."""
    raw_dir = Path(raw_dir)
    listed: dict[str, str] = {}
    for dataset, spec in (registry.get("datasets") or {}).items():
        for name in list(spec.get("tables", [])):
            listed.setdefault(name, dataset)
    present = {p.name.removesuffix(".csv") for p in raw_tables(raw_dir)}
    unread = sorted(present - set(listed) - set(REGISTRY_SIDE_TABLES))
    hint = (
        f" ({', '.join(f'{raw_dir / n}.csv' for n in unread)} is read by no registry entry: renamed?)" if unread else ""
    )
    for name, dataset in listed.items():
        csv_path = raw_dir / f"{name}.csv"
        meta_path = raw_dir / f"{name}.meta.yaml"
        if not csv_path.exists():
            raise RawDataError(
                csv_path,
                f"missing: workflow/registry.yaml lists table '{name}' (dataset '{dataset}'){hint}",
                expected=f"the table {csv_path.name} with its metadata {meta_path.name}",
            )
        if not meta_path.exists():
            raise RawDataError(
                meta_path,
                f"missing: the metadata of table '{name}' (dataset '{dataset}' in workflow/registry.yaml)",
                expected=f"{meta_path.name} beside {csv_path.name}",
            )
    return [str(raw_dir / f"{n}.csv") for n in unread]


def main(argv: list[str] | None = None) -> int:
    """`critmet-validate [data/raw]`: exit 0 if every raw table is valid, else print the problem and exit 2."""
    args = sys.argv[1:] if argv is None else argv
    raw_dir = Path(args[0] if args else "data/raw")
    try:
        _, tables = validate_all(raw_dir)
    except RawDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for table in tables.values():
        for note in table.notes:
            print(f"note: {table.path}: {note}")
    print(f"ok: {len(tables)} raw tables valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
