"""Importer for the USGS Mineral Commodity Summaries data-release "world" CSVs, in their layout as published.

    python -m critmet.importers.usgs --edition MCS2024 --out data/raw/usgs_mcs2023_world.csv \\
        mcs2024-galli_world.csv mcs2024-mgmet_world.csv mcs2024-mgcomp_world.csv mcs2024-bauxi_world.csv ...

writes the project's tidy table (edition, commodity, measure, country, year, value, unit, estimated, withheld)
from the published files, so that a new edition is a file drop and one command. The published layout has:
a UTF-8 byte-order mark; units inside the column names (`Prod_kg_2021`, `Prod_kt_est_2022`, `Reserves_kt`,
`Cap_kg_2022`), which change between editions; notes columns; `W` (withheld), `NA`, `XX` and `—` markers;
thousands separators; and "World total (rounded)" rows, which are totals, not countries (they are returned
separately, to check the country rows against).

Real releases are messier, and all of this is read too: footnote marks glued to names (`Japane`, `Russiae`,
`Other countries4`, `World total (rounded)8`; a glued `e` marks an estimate), trailing empty rows and columns,
quoted numbers with thousands separators (`"1,200"`), renamed year columns (`Prod_t_est_2023`,
`Production 2023e`, `Capacity, kt, 2023`), and countries that come and go. Anything else stops with one message
naming the file, line and column.
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

COLUMN = re.compile(
    r"^(?P<measure>prod(?:uction)?|reserves|cap(?:acity)?)"
    r"(?:[\s_,]+\(?(?P<unit>kg|kt|t|mt)\)?)?"
    r"(?P<est>[\s_,]+est(?:imated?)?\.?)?"
    r"(?:[\s_,]+(?P<year>\d{4})(?P<e>e)?)?\s*$",
    re.I,
)
MEASURES = {"prod": "production", "reserves": "reserves", "cap": "capacity"}
UNITS = {"kg": "kg", "kt": "kt", "t": "t", "mt": "Mt"}
FOOTNOTE = re.compile(r"^(?P<name>.*?[^\d\s])(?P<marks>\d+)$")
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


def _measure(match: re.Match) -> str:
    word = match.group("measure").lower()
    return MEASURES["prod" if word.startswith("prod") else "cap" if word.startswith("cap") else "reserves"]


def strip_footnotes(name: str, known=None) -> tuple[str, bool]:
    """A country name without the footnote marks USGS glues to it: trailing digits (`Other countries4`,
    `World total (rounded)8`) and a trailing `e` for an estimate (`Japane`, `Russiae`), the latter only when
    the name without it is a known country and the name with it is not. Returns the name and whether an `e`
    (estimated) was removed."""
    m = FOOTNOTE.match(name)
    if m:
        name = m.group("name").rstrip()
    if known is not None and name.endswith("e") and not known(name) and known(name[:-1]):
        return name[:-1], True
    return name, False


def _number(text: str, path: Path, line: int, column: str) -> float:
    cleaned = re.sub(r"[\s,\u00a0\u202f]", "", unicodedata.normalize("NFKC", text))
    try:
        return float(cleaned)
    except ValueError:
        raise ImportError_(
            f"{path}, line {line}, column '{column}': {text!r} is not a number or a known marker (W, NA, XX, —)"
        ) from None


def _noted_estimate(record: dict, column: str, year: int) -> bool:
    """The notes column of a measure may say a value is estimated ('Production in 2021 is also estimated',
    'Estimated capacity'); a year named in the note limits it to that year."""
    note = (record.get(column) or "").lower()
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


def _value_columns(header: list[str], path: Path) -> dict[int, dict]:
    """The value columns of a header: measure, unit, year and estimate flag of each, by position."""
    found: dict[int, dict] = {}
    for i, name in enumerate(header):
        m = COLUMN.match(name)
        if m:
            found[i] = {
                "name": name,
                "measure": _measure(m),
                "unit": UNITS[m.group("unit").lower()] if m.group("unit") else None,
                "est": bool(m.group("est") or m.group("e")),
                "year": int(m.group("year")) if m.group("year") else None,
                "notes": None,
            }
    for col in found.values():  # a column without a unit takes the unit of its measure's other columns
        if col["unit"] is None:
            units = {c["unit"] for c in found.values() if c["measure"] == col["measure"] and c["unit"]}
            if len(units) != 1:
                raise ImportError_(
                    f"{path}, line 1, column '{col['name']}': no unit in the column name and none to take from "
                    f"the other {col['measure']} columns; expected a unit (kg, t, kt, Mt), e.g. Prod_kt_2023"
                )
            col["unit"] = units.pop()
        words = {"production": ("prod", "production"), "capacity": ("cap", "capacity"), "reserves": ("reserves",)}
        notes = [n for n in header for w in words[col["measure"]] if n.lower() in (f"{w}_notes", f"{w} notes")]
        col["notes"] = notes[0] if notes else None
    return found


def read_world_csv(path: str | Path, edition: str, known=None) -> Imported:
    """Read one published world CSV. `known(name)` tells whether a country name resolves to a code; with it,
    a glued estimate mark (`Japane`) is told apart from a name that ends in e."""
    path = Path(path)
    stem = commodity_of(path)
    edition_year = int(re.search(r"\d{4}", edition).group(0))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportError_(f"{path}, line {line}: text is not UTF-8; expected the CSV as published (UTF-8)") from None
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ImportError_(f"{path}: not a readable CSV ({exc})") from None
    header = [_clean_name(h) for h in (records[0] if records else [])]
    while header and not header[-1]:  # trailing empty columns
        header.pop()
    lower = [h.lower() for h in header]
    value_columns = _value_columns(header, path)
    if "country" not in lower or not value_columns:
        raise ImportError_(
            f"{path}, line 1: no Country column or no production/reserves/capacity value columns "
            f"(header: {header}); expected e.g. Source,Country,Type,Prod_kg_2022,Prod_kg_est_2023,Reserves_kg"
        )
    country_at = lower.index("country")
    type_at = lower.index("type") if "type" in lower else None
    rows, totals = [], []
    for line, cells in enumerate(records[1:], start=2):
        if not any(c.strip() for c in cells):  # trailing (or stray) empty rows
            continue
        extra = [c for c in cells[len(header) :] if c.strip()]
        if extra:
            raise ImportError_(
                f"{path}, line {line}, column {len(header) + 1}: a value ({extra[0]!r}) beyond the last named "
                f"column; expected at most {len(header)} columns"
            )
        cells = cells + [""] * (len(header) - len(cells))
        record = dict(zip(header, cells, strict=False))
        raw_name = _clean_name(cells[country_at])
        if not raw_name:
            raise ImportError_(f"{path}, line {line}, column 'Country': empty; expected a country name")
        country, estimated_mark = strip_footnotes(raw_name, known)
        commodity = COMMODITIES[stem](cells[type_at] if type_at is not None else "")
        target = totals if country.lower().startswith("world total") else rows
        for i, col in value_columns.items():
            cell = cells[i].strip()
            if cell in NOT_AVAILABLE:
                continue
            year = col["year"] if col["year"] is not None else edition_year - 1  # reserves: the year before
            if col["year"] is None and col["measure"] != "reserves":
                raise ImportError_(
                    f"{path}, line 1, column '{col['name']}': no year in the column name; expected e.g. "
                    f"Prod_kt_{edition_year - 1}"
                )
            withheld = cell in WITHHELD
            value = None if withheld else _number(cell, path, line, col["name"])
            noted = col["notes"] is not None and _noted_estimate(record, col["notes"], year)
            target.append(
                {
                    "edition": edition,
                    "commodity": commodity,
                    "measure": col["measure"],
                    "country": country,
                    "year": year,
                    "value": value,
                    "unit": col["unit"],
                    "estimated": "true" if col["est"] or noted or estimated_mark else "false",
                    "withheld": "true" if withheld else "false",
                    "source": f"{path}, line {line}",
                    "source_path": str(path),
                    "source_line": line,
                }
            )
    return Imported(rows, totals)


def check_inside(root: str | Path, files: list[str]) -> list[Path]:
    """The world files named in config, resolved; each must exist and lie inside the project (a symbolic
    link is followed), else one message naming it."""
    root = Path(root).resolve()
    resolved = []
    for name in files:
        path = (root / name).resolve()
        if path != root and root not in path.parents:
            raise ImportError_(
                f"config/config.yaml, usgs.world_files: {name!r} resolves to {path}, outside the project "
                f"({root}); expected a file inside the project, e.g. sources/mcs2024-galli_world.csv"
            )
        if not path.is_file():
            raise ImportError_(
                f"config/config.yaml, usgs.world_files: {name!r} does not exist; expected a published USGS "
                "world CSV inside the project"
            )
        resolved.append(path)
    return resolved


def write_table(rows: list[dict], out: str | Path) -> None:
    fields = ["edition", "commodity", "measure", "country", "year", "value", "unit", "estimated", "withheld"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
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
    parser.add_argument("--codes", default="data/raw/codes", help="the project's code lists (country names)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    try:
        known = None
        if Path(args.codes).is_dir():
            from critmet.validate import load_codes

            codes = load_codes(args.codes)
            known = lambda name: codes.resolve(name, ["country", "region"]) is not None  # noqa: E731
        for path in args.files:
            rows += read_world_csv(path, args.edition, known).rows
    except (ImportError_, OSError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_table(rows, args.out)
    print(f"{len(rows)} rows from {len(args.files)} files written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
