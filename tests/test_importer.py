"""The USGS Mineral Commodity Summaries importer: the published layout's quirks, on our own small fixtures,
and on the real 2023 files (which must give back the project's committed table exactly)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import ROOT, built_copy, project_copy, run_snakemake
from critmet.importers.usgs import ImportError_, main, read_world_csv
from critmet.validate import load_codes, validate_table

FIXTURES = Path(__file__).parent / "fixtures" / "usgs"
MESSY = FIXTURES / "mcs2024_messy"  # an invented MCS2024 edition, laid out as messily as real releases
REFERENCE = next(
    (
        p / "shared" / "reference-data" / "usgs-mcs-2023"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared" / "reference-data" / "usgs-mcs-2023").exists()
    ),
    ROOT.parent / "shared" / "reference-data" / "usgs-mcs-2023",
)
CODES = load_codes(ROOT / "data" / "raw" / "codes")


def known(name: str) -> bool:
    return CODES.resolve(name, ["country", "region"]) is not None


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


def test_messy_release_footnotes_renamed_columns_and_empty_rows():
    """Footnote marks glued to names (a glued e = estimate), trailing empty rows and columns, quoted numbers with
    thousands separators, a year column without a unit (`Production 2023e`), `Capacity_t_2023`."""
    imported = read_world_csv(MESSY / "mcs2024-galli_world.csv", "MCS2024", known)
    by = {(r["country"], r["measure"], r["year"]): r for r in imported.rows}
    assert {r["country"] for r in imported.rows} == {
        "United States",
        "China",
        "Japan",
        "Kazakhstan",
        "Korea, Republic of",
        "Russia",
        "Other countries",
    }
    china = by[("China", "production", 2023)]
    assert china["value"] == 600 and china["unit"] == "t" and china["estimated"] == "true"  # unit from Prod_t_2022
    assert by[("China", "production", 2022)]["estimated"] == "true"  # "Chinae": the glued e
    assert by[("Korea, Republic of", "production", 2022)]["estimated"] == "false"
    assert by[("China", "capacity", 2023)]["value"] == 1000  # "1,000"
    assert ("Kazakhstan", "production", 2022) not in by  # an empty cell: a country that comes
    assert ("Other countries", "production", 2023) not in by  # the em dash
    assert sorted(r["value"] for r in imported.world_totals if r["measure"] == "production") == [601, 650]
    assert len(imported.rows) == 19  # nothing from the trailing empty rows
    mg = read_world_csv(MESSY / "mcs2024-mgmet_world.csv", "MCS2024", known)
    assert sum(r["value"] for r in mg.rows if r["year"] == 2023 and r["value"]) == 1110  # = World total (rounded)5


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        ("Source,Country,Type,Production 2023e", "MCS2031,Peru,Mine,5", r"line 1, column 'Production 2023e'.*no unit"),
        ("Source,Country,Type,Prod_kt", "MCS2031,Peru,Mine,5", r"line 1, column 'Prod_kt'.*no year"),
        ("Source,Country,Type,Prod_kt_2030", "MCS2031,Peru,Mine,5,7", r"line 2, column 5.*beyond the last named"),
        ("Source,Country,Type,Prod_kt_2030", "MCS2031,,Mine,5", r"line 2, column 'Country': empty"),
        ("Source,Land,Type,Prod_kt_2030", "MCS2031,Peru,Mine,5", r"line 1: no Country column"),
    ],
)
def test_unreadable_layouts_name_file_line_and_column(tmp_path, header, row, message):
    bad = tmp_path / "mcs2031-zinc_world.csv"
    bad.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(ImportError_, match=message) as err:
        read_world_csv(bad, "MCS2031", known)
    assert str(bad) in str(err.value)


def test_an_unknown_country_names_the_dropped_file_line_and_column(tmp_path):
    from critmet.clean import import_usgs
    from critmet.validate import RawDataError

    dropped = tmp_path / "mcs2024-galli_world.csv"
    text = (MESSY / "mcs2024-galli_world.csv").read_text(encoding="utf-8-sig")
    dropped.write_text(text.replace("Kazakhstan", "Atlantis"), encoding="utf-8")
    with pytest.raises(RawDataError) as err:
        import_usgs(ROOT / "data" / "raw", CODES, [str(dropped)], "MCS2024")
    message = str(err.value)
    assert message.startswith(f"{dropped}, line 5, column 'Country': unknown country (value: 'Atlantis')")
    assert "usgs_mcs2023_world.csv" not in message  # not the temporary merged table


def test_world_files_outside_the_project_are_refused(tmp_path):
    from critmet.importers.usgs import check_inside

    outside = tmp_path / "mcs2024-galli_world.csv"
    outside.write_text("x", encoding="utf-8")
    with pytest.raises(ImportError_, match=r"config/config.yaml, usgs.world_files: .*outside the project"):
        check_inside(ROOT, [str(outside)])
    with pytest.raises(ImportError_, match=r"'\.\./elsewhere.csv' resolves to .*outside the project"):
        check_inside(ROOT, ["../elsewhere.csv"])
    assert check_inside(ROOT, ["data/raw/usgs_mcs2023_world.csv"])  # inside: accepted


def test_a_messy_new_edition_named_in_config_moves_pies_years_titles_numbers_and_sources(built, tmp_path):
    """End to end: the invented MCS2024 files dropped into the project and named in config, nothing else
    edited. The pies move to the edition's latest year (2023), their totals, shares and HHI follow, and so do
    the narrative, the chart titles and the source lines of both PDFs."""
    import shutil

    import pandas as pd
    from pypdf import PdfReader

    (tmp_path / "work").mkdir()
    work = built_copy(built, tmp_path / "work")
    (work / "sources").mkdir()
    for path in MESSY.glob("*.csv"):
        shutil.copy(path, work / "sources" / path.name)
    config = work / "config" / "config.yaml"
    original = config.read_text(encoding="utf-8")
    assert "  edition: MCS2023\n  world_files: {}" in original
    config.write_text(
        original.replace(
            "  edition: MCS2023\n  world_files: {}",
            "  edition: MCS2024\n  world_files: {galli: sources/mcs2024-galli_world.csv, "
            "mgmet: sources/mcs2024-mgmet_world.csv}",
        ),
        encoding="utf-8",
    )
    run_snakemake(work, "all")
    data = work / "results" / "data"
    metrics = pd.read_csv(data / "material_flow_metrics.csv").set_index("metric")["value"]
    assert metrics["year_GA_PRIMARY_2022"] == 2023 and metrics["year_MG_PRIMARY_2022"] == 2023
    assert metrics["year_MG_RESERVES_2022"] == 2022  # magnesite: not in the dropped files, stays MCS2023
    assert metrics["total_GA_PRIMARY_2022"] == pytest.approx(650)
    assert metrics["total_MG_PRIMARY_2022"] == pytest.approx(1110)
    shares = pd.read_csv(data / "material_flow_shares.csv")
    ga = shares[shares["pie"] == "GA_PRIMARY_2022"].set_index("country")["share_pct"]
    assert ga["CN"] == pytest.approx(100 * 600 / 650) and ga["KZ"] == pytest.approx(100 * 40 / 650)
    assert "UA" not in ga.index  # a country that went
    named = ga.drop("OTH", errors="ignore") / 100
    assert metrics["hhi_GA_PRIMARY_2022"] == pytest.approx(10_000 * (named**2).sum(), rel=1e-6)
    report = work / "results" / "report"
    en = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(report / "executive_summary_en.pdf").pages)
    ja = "".join("".join(p.extract_text().split()) for p in PdfReader(report / "executive_summary_ja.pdf").pages)
    assert "Refined (primary) gallium (2023, world 650 t): China 92%" in en
    assert "Refined (primary) magnesium (2023, world 1,110 kt)" in en
    assert "Ore reserves (2022," in en  # magnesite untouched
    assert "Mineral Commodity Summaries 2024" in en
    assert "2023年、世界計650t" in ja and "2023年、世界計1,110kt" in ja
    assert "Primary gallium production (2023)" in en and "Primary magnesium production (2023)" in en  # titles
    assert "マグネシウム製錬品（一次Mg）生産量（2023年）" in ja
    assert "Magnesium ore reserves (2022)" in en


def test_the_build_refuses_a_world_file_outside_the_project(tmp_path):
    """Named in config, a world file outside the project stops the build at start-up, naming it."""
    outside = tmp_path / "mcs2024-galli_world.csv"
    outside.write_text((MESSY / "mcs2024-galli_world.csv").read_text(encoding="utf-8-sig"), encoding="utf-8")
    (tmp_path / "work").mkdir()
    work = project_copy(tmp_path / "work")
    config = work / "config" / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "  edition: MCS2023\n  world_files: {}", f"  edition: MCS2024\n  world_files: {{galli: {outside}}}"
        ),
        encoding="utf-8",
    )
    result = run_snakemake(work, "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "config/config.yaml, line 19, key 'usgs.world_files.galli': the file is outside the project" in output
    assert f"(value: '{outside}')" in output
