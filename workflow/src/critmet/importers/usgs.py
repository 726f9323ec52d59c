"""Importer for the USGS Mineral Commodity Summaries data-release "world" CSVs, in their layout as published.

    python -m critmet.importers.usgs --edition MCS2024 --out data/raw/usgs_mcs2023_world.csv \\
        mcs2024-galli_world.csv mcs2024-mgmet_world.csv mcs2024-mgcomp_world.csv mcs2024-bauxi_world.csv ...

writes the project's tidy table (edition, commodity, measure, country, year, value, unit, estimated, withheld)
from the published files, so that a new edition is a file drop and one command. The published layout has:
a UTF-8 byte-order mark; units inside the column names (`Prod_kg_2021`, `Prod_kt_est_2022`, `Reserves_kt`,
`Cap_kg_2022`), which change between editions; notes columns; `W` (withheld), `NA`, `XX` and `—` markers;
thousands separators; and "World total (rounded)" rows, which are totals, not countries (they are returned
separately, to check the country rows against).
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

COLUMN = re.compile(r"^(?P<measure>Prod|Reserves|Cap)_(?P<unit>kg|kt|t|Mt)(?P<est>_est)?(?:_(?P<year>\d{4}))?$")
MEASURES = {"Prod": "production", "Reserves": "reserves", "Cap": "capacity"}
WITHHELD = {"W"}
NOT_AVAILABLE = {"", "NA", "XX", "—", "–", "-", "--"}
# file stem (mcsYYYY-<stem>_world) and the Type column -> the project's commodity code
COMMODITIES = {
    "galli": lambda kind: "gallium_primary",
    "mgmet": lambda kind: "magnesium_metal",
    "mgcomp": lambda kind: "magnesite",
    "zinc": lambda kind: "zinc_mine",
    "bauxi": lambda kind: "alumina" if "alumina" in kind.lower() else "bauxite",
}


class ImportError_(ValueError):
    """A published file that this importer cannot read, with the file and line."""


@dataclass
class Imported:
    rows: list[dict]
    world_totals: list[dict]


def _clean_name(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _number(text: str, path: Path, line: int, column: str) -> float:
    cleaned = text.strip().replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        raise ImportError_(
            f"{path}, line {line}, column '{column}': {text!r} is not a number or a known marker (W, NA, XX, —)"
        ) from None


def _noted_estimate(record: dict, match: re.Match, year: int) -> bool:
    """The notes column of a measure may say a value is estimated ('Production in 2021 is also estimated',
    'Estimated capacity'); a year named in the note limits it to that year."""
    note = (record.get(f"{match.group('measure')}_notes") or "").lower()
    if "estimat" not in note:
        return False
    years = re.findall(r"\d{4}", note)
    return not years or str(year) in years


def commodity_of(path: Path) -> str:
    match = re.match(r"mcs\d{4}-(\w+?)_world", path.stem, re.I)
    if not match or match.group(1).lower() not in COMMODITIES:
        raise ImportError_(
            f"{path}: not a USGS MCS world file this importer knows (expected mcsYYYY-<commodity>_world.csv "
            f"with commodity one of {sorted(COMMODITIES)})"
        )
    return match.group(1).lower()


def read_world_csv(path: str | Path, edition: str) -> Imported:
    path = Path(path)
    stem = commodity_of(path)
    edition_year = int(re.search(r"\d{4}", edition).group(0))
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns = {name: COLUMN.match(name.strip()) for name in reader.fieldnames or []}
    value_columns = {name: m for name, m in columns.items() if m}
    if not value_columns or "Country" not in (reader.fieldnames or []):
        raise ImportError_(
            f"{path}, line 1: no Country column or no Prod_/Reserves_/Cap_ value columns (header: {reader.fieldnames})"
        )
    rows, totals = [], []
    for line, record in enumerate(reader, start=2):
        country = _clean_name(record["Country"])
        commodity = COMMODITIES[stem](record.get("Type", ""))
        target = totals if country.lower().startswith("world total") else rows
        for name, m in value_columns.items():
            raw = (record.get(name) or "").strip()
            if raw in NOT_AVAILABLE:
                continue
            measure = MEASURES[m.group("measure")]
            year = int(m.group("year")) if m.group("year") else edition_year - 1  # reserves: the year before
            withheld = raw in WITHHELD
            value = None if withheld else _number(raw, path, line, name)
            unit = m.group("unit")
            target.append(
                {
                    "edition": edition,
                    "commodity": commodity,
                    "measure": measure,
                    "country": country,
                    "year": year,
                    "value": value,
                    "unit": unit,
                    "estimated": "true" if m.group("est") or _noted_estimate(record, m, year) else "false",
                    "withheld": "true" if withheld else "false",
                }
            )
    return Imported(rows, totals)


def write_table(rows: list[dict], out: str | Path) -> None:
    fields = ["edition", "commodity", "measure", "country", "year", "value", "unit", "estimated", "withheld"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        value = row["value"]
        if value in (None, ""):
            value = ""
        elif float(value).is_integer():
            value = int(float(value))
        writer.writerow({**row, "value": value})
    Path(out).write_text(buf.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edition", required=True, help="e.g. MCS2024")
    parser.add_argument("--out", required=True, help="the tidy table to write (data/raw/...)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    try:
        for path in args.files:
            rows += read_world_csv(path, args.edition).rows
    except (ImportError_, OSError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_table(rows, args.out)
    print(f"{len(rows)} rows from {len(args.files)} files written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
