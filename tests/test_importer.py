"""The USGS Mineral Commodity Summaries importer: the published layout's quirks, on our own small fixtures,
and on the real 2023 files (which must give back the project's committed table exactly)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import ROOT
from critmet.importers.usgs import ImportError_, main, read_world_csv
from critmet.validate import load_codes, validate_table

FIXTURES = Path(__file__).parent / "fixtures" / "usgs"
REFERENCE = ROOT.parent / "shared" / "reference-data" / "usgs-mcs-2023"


def test_markers_units_notes_and_world_totals():
    imported = read_world_csv(FIXTURES / "mcs2031-galli_world.csv", "MCS2031")
    by = {(r["country"], r["measure"], r["year"]): r for r in imported.rows}
    atlantis = by[("Atlantis", "production", 2029)]
    assert atlantis["value"] == 1500 and atlantis["unit"] == "kg"  # thousands separator; unit from the column
    assert atlantis["estimated"] == "true"  # said so in the notes column, for 2029 only
    withheld = by[("Atlantis", "production", 2030)]
    assert withheld["value"] is None and withheld["withheld"] == "true"  # W
    assert withheld["estimated"] == "true"  # Prod_kg_est_2030
    assert by[("Atlantis", "capacity", 2030)]["estimated"] == "true"  # "Estimated capacity"
    assert ("Korea, Republic of", "production", 2030) not in by  # the em dash: not available
    assert not any(r["measure"] == "reserves" for r in imported.rows)  # NA and XX
    assert all(not r["country"].startswith("World") for r in imported.rows)
    assert [r["value"] for r in imported.world_totals if r["measure"] == "production"] == [4200, 5000]


def test_one_file_holds_two_commodities_by_type():
    imported = read_world_csv(FIXTURES / "mcs2031-bauxi_world.csv", "MCS2031")
    kinds = {(r["commodity"], r["measure"]) for r in imported.rows}
    assert kinds == {("alumina", "production"), ("bauxite", "production"), ("bauxite", "reserves")}
    reserves = next(r for r in imported.rows if r["measure"] == "reserves")
    assert reserves["value"] == 3_500_000 and reserves["year"] == 2030  # the year before the edition


def test_unknown_files_and_values_are_refused(tmp_path):
    with pytest.raises(ImportError_, match="not a USGS MCS world file"):
        read_world_csv(tmp_path / "prices.csv", "MCS2031")
    bad = tmp_path / "mcs2031-zinc_world.csv"
    bad.write_text("Source,Country,Type,Prod_kt_2029\nMCS2031,Peru,Mine,about 1300\n", encoding="utf-8")
    with pytest.raises(ImportError_, match=r"line 2, column 'Prod_kt_2029'.*not a number"):
        read_world_csv(bad, "MCS2031")


def test_imported_table_passes_the_raw_schema(tmp_path):
    out = tmp_path / "usgs_mcs2023_world.csv"
    assert main(["--edition", "MCS2023", "--out", str(out), str(FIXTURES / "mcs2031-bauxi_world.csv")]) == 0
    (tmp_path / "usgs_mcs2023_world.meta.yaml").write_text(
        (ROOT / "data" / "raw" / "usgs_mcs2023_world.meta.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    table = validate_table(out, load_codes(ROOT / "data" / "raw" / "codes"))
    assert {r["country"] for r in table.rows} == {"AU"}


@pytest.mark.skipif(not REFERENCE.exists(), reason="the published 2023 files are not beside the project")
def test_the_published_2023_files_give_back_the_committed_table(tmp_path):
    out = tmp_path / "usgs.csv"
    assert main(["--edition", "MCS2023", "--out", str(out), *map(str, sorted(REFERENCE.glob("*_world.csv")))]) == 0
    committed = list(csv.DictReader((ROOT / "data" / "raw" / "usgs_mcs2023_world.csv").read_text().splitlines()))
    imported = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    key = lambda r: (r["commodity"], r["measure"], r["country"], r["year"])  # noqa: E731
    assert sorted(map(key, imported)) == sorted(map(key, committed))
    as_dict = {key(r): (r["value"], r["unit"], r["estimated"], r["withheld"]) for r in committed}
    for row in imported:
        value, unit, estimated, withheld = as_dict[key(row)]
        assert (float(row["value"]) if row["value"] else None) == (float(value) if value else None)
        assert (row["unit"], row["estimated"], row["withheld"]) == (unit, estimated, withheld)
