"""End to end: the real Snakemake workflow over data/raw (in a copy of the project), its cleaned totals
against the numbers the report prints, incremental rebuilds, and bad input that stops the build while
every earlier output stays byte-identical."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import project_copy, run_snakemake


def metrics(work: Path, dataset: str) -> dict[str, float]:
    frame = pd.read_csv(work / "results" / "data" / f"{dataset}_metrics.csv")
    return dict(zip(frame["metric"], frame["value"], strict=True))


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "logs" not in p.parts
    }


# ------------------------------------------------------------------------------------------ the build
def test_cleaned_totals_match_the_report(built):
    ga, mg = metrics(built, "ga_supply"), metrics(built, "mg_supply")
    assert (ga["total_2010"], ga["total_2020"]) == (127, 382)
    assert ga["value_CN_2020"] == 360
    assert ga["cagr_2010_2015"] == pytest.approx(20.7, abs=0.05)
    assert ga["cagr_2015_2020"] == pytest.approx(3.2, abs=0.05)
    assert [round(mg[f"total_{y}"], 1) for y in (2000, 2018)] == [406.2, 946.2]
    assert mg["total_2010"] == pytest.approx(644.5, abs=0.05)  # the table prints 644.6 (registered)
    assert mg["cagr_2010_2018"] == pytest.approx(4.9, abs=0.05)
    flow = metrics(built, "material_flow")
    assert flow["total_GA_PRIMARY_2022"] == pytest.approx(551)
    assert flow["total_MG_PRIMARY_2022"] == pytest.approx(1020)
    assert flow["total_MG_RESERVES_2022"] == pytest.approx(6843)
    assert flow["usgs_total_MG_ORE_2022"] == pytest.approx(27.13)
    demand = metrics(built, "mg_demand")
    assert demand["total_2035"] == pytest.approx(1989.8)  # the sectors' sum; the table prints 1,954.0 (registered)
    assert demand["cagr_2010_2020"] == pytest.approx(6.2, abs=0.05)
    assert metrics(built, "lca")["total_GA_BAYER"] == 205


def test_audit_lists_every_registered_inconsistency(built):
    audit = (built / "results" / "data" / "audit.md").read_text(encoding="utf-8")
    register = pd.read_csv(built / "data" / "raw" / "discrepancy_register.csv")
    for item_id in register["id"]:
        assert f"| {item_id} |" in audit
    assert "1,954" in audit or "1954" in audit
    assert re.search(r"\d+ values printed in the report were compared", audit)
    checks = [json.loads(p.read_text()) for p in (built / "results" / "data" / "checks").glob("*.json")]
    statuses = {r["status"] for c in checks for r in c["printed"]}
    assert "discrepancy" in statuses and "ok" in statuses
    assert statuses <= {"ok", "discrepancy", "unchecked", "registered-agrees"}  # no "changed": the 2023 data


def test_manifest_has_a_checksum_for_every_input_and_output(built):
    manifest = json.loads((built / "results" / "data" / "manifest.json").read_text())
    assert "data/raw/ga_supply.csv" in manifest["inputs"]
    assert "results/data/ga_supply_metrics.csv" in manifest["outputs"]
    digest = hashlib.sha256((built / "data" / "raw" / "ga_supply.csv").read_bytes()).hexdigest()
    assert manifest["inputs"]["data/raw/ga_supply.csv"] == digest


def test_lint_is_clean_and_dag_has_named_rules(built):
    lint = run_snakemake(built, "--lint", check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Lints for" not in lint.stdout + lint.stderr
    dag = run_snakemake(built, "-n", "--forceall", "all")
    for rule in (
        "clean_ga_supply",
        "plot_flow_pies",
        "audit_data",
        "compute_variables",
        "render_report",
    ):
        assert re.search(rf"^{rule}\s+\d+$", dag.stdout + dag.stderr, re.M), rule


def planned_jobs(work: Path) -> set[str]:
    result = run_snakemake(work, "-n", "all")
    out = result.stdout + result.stderr
    table = out.split("Job stats:")[1] if "Job stats:" in out else ""
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+$", table, re.M)} - {"job", "total", "all"}


def test_editing_one_raw_table_reruns_only_what_depends_on_it(built):
    assert planned_jobs(built) == set()
    path = built / "data" / "raw" / "mg_demand_totals.csv"
    original = path.read_text(encoding="utf-8")
    try:
        path.touch()  # a new time stamp alone, same content: Snakemake compares checksums, nothing reruns
        assert planned_jobs(built) == set()
        path.write_text(original.replace("2015,actual,828", "2015,actual,828.4"), encoding="utf-8")
        jobs = planned_jobs(built)
        assert {"clean_mg_demand", "plot_mg_demand_projection", "render_report"} <= jobs
        assert not any(j.startswith("clean_") and j != "clean_mg_demand" for j in jobs)
        assert "plot_ga_supply_bars" not in jobs and "plot_flow_pies" not in jobs
    finally:
        path.write_text(original, encoding="utf-8")


def test_editing_a_text_file_rebuilds_only_the_pdfs(built):
    path = built / "templates" / "text" / "en" / "p26_supply_ga.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "# an edit\n", encoding="utf-8")
        # one job: the list of variables and claims (a text file may declare claims) and the PDFs (the
        # Japanese slides come from the page cache); no data, no figure
        assert planned_jobs(built) == {"render_report"}
    finally:
        path.write_text(original, encoding="utf-8")


# ----------------------------------------------------------------------------------------- bad input
BAD_INPUTS = {
    "missing column": (
        "ga_supply.csv",
        lambda t: t.replace("year,country,value_t", "year,country"),
        "missing column",
    ),
    "extra column": (
        "ga_supply.csv",
        lambda t: t.replace("status\n", "status,extra\n").replace("\n2", ",x\n2"),
        "unexpected column 'extra'",
    ),
    "wrong type": ("ga_supply.csv", lambda t: t.replace("2010,中国,90", "2010,中国,ninety"), "not a number"),
    "empty file": ("ga_supply.csv", lambda t: "", "the file is empty"),
    "negative quantity": (
        "ga_supply.csv",
        lambda t: t.replace("2010,中国,90", "2010,中国,-90"),
        "negative quantity",
    ),
    "duplicate key": ("ga_supply.csv", lambda t: t + "2010,中国,91\n", "duplicate key"),
    "unknown country": (
        "ga_supply.csv",
        lambda t: t.replace("2010,ロシア,13", "2010,ロシヤ,13"),
        "unknown country/region",
    ),
    "year out of range": (
        "ga_supply.csv",
        lambda t: t.replace("2010,日本,5", "2041,日本,5"),
        "year out of range",
    ),
    "not UTF-8": ("ga_supply.csv", "cp932", "not UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_stops_the_build_and_keeps_outputs(built, case):
    name, change, needle = BAD_INPUTS[case]
    path = built / "data" / "raw" / name
    original = path.read_bytes()
    before = hashes(built / "results")
    try:
        if change == "cp932":
            path.write_bytes(original.decode("utf-8").encode("cp932"))
        else:
            path.write_text(change(original.decode("utf-8")), encoding="utf-8")
        result = run_snakemake(built, "all", check=False)
        message = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"data/raw/{name}" in message and needle in message
        if case not in ("empty file", "not UTF-8", "missing column", "extra column"):
            assert re.search(r"line \d+, column '", message), message[-2000:]
        assert hashes(built / "results") == before
    finally:
        path.write_bytes(original)


def test_shares_that_do_not_add_up_stop_the_build(built):
    path = built / "data" / "raw" / "reco_shares.csv"
    original = path.read_text(encoding="utf-8")
    before = hashes(built / "results")
    try:
        path.write_text(original.replace("RECO_ZINC,OTH,53", "RECO_ZINC,OTH,63"), encoding="utf-8")
        result = run_snakemake(built, "all", check=False)
        message = result.stdout + result.stderr
        assert result.returncode != 0
        assert "reco_shares.csv" in message and "add up to" in message and "110" in message
        assert hashes(built / "results") == before
    finally:
        path.write_text(original, encoding="utf-8")


def test_a_total_that_disagrees_with_its_parts_stops_the_build(built):
    """A consistency check (issue 11: the Mg 2035 total against its sectors) holds for every edition."""
    path = built / "data" / "raw" / "mg_demand_totals.csv"
    original = path.read_text(encoding="utf-8")
    before = hashes(built / "results")
    try:
        path.write_text(original.replace("2035,projection,1990", "2035,projection,2100"), encoding="utf-8")
        result = run_snakemake(built, "all", check=False)
        log = (built / "results" / "logs" / "clean_mg_demand.log").read_text(encoding="utf-8")
        assert result.returncode != 0
        assert "mg_demand_totals.csv, line 15, column 'total_kt'" in log
        assert "1989.8 where 2100 is expected" in log
        assert "discrepancy_register.csv" in log  # says how to record a real inconsistency
        assert hashes(built / "results") == before
    finally:
        path.write_text(original, encoding="utf-8")


def test_messy_but_unambiguous_input_is_normalised_and_noted(tmp_path, built):
    work = project_copy(tmp_path)
    path = work / "data" / "raw" / "mg_demand_totals.csv"
    text = path.read_text(encoding="utf-8").replace("2035,projection,1990", '２０３５, projection ,"1,990"')
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    shutil.copytree(built / "results", work / "results")
    run_snakemake(work, "results/data/audit.md")
    audit = (work / "results" / "data" / "audit.md").read_text(encoding="utf-8")
    line = next(entry for entry in audit.splitlines() if "`mg_demand_totals`" in entry)
    for note in ("byte-order mark", "full-width", "thousands separators", "stray spaces"):
        assert note in line
    assert metrics(work, "mg_demand")["total_2035"] == pytest.approx(1989.8)


def test_every_figure_exists_in_both_languages(built):
    import yaml

    registry = yaml.safe_load((built / "workflow" / "registry.yaml").read_text())
    figures = [f for family in registry["figures"].values() for f in family["figures"]]
    assert len(figures) == 35
    for name in figures:
        for lang in ("ja", "en"):
            assert (built / "results" / "figures" / lang / f"{name}.svg").stat().st_size > 1000, (name, lang)
            # PNGs only when config asks for them (figures.png_previews, off by default)
            assert not (built / "results" / "figures" / lang / f"{name}.png").exists(), (name, lang)
        meta = json.loads((built / "results" / "figures" / "meta" / f"{name}.json").read_text())
        for key in ("title", "alt", "source"):
            assert set(meta[key]) == {"ja", "en"} and all(meta[key].values()), (name, key)


def test_png_previews_are_drawn_when_config_asks_for_them(built):
    import yaml

    families = yaml.safe_load((built / "workflow" / "registry.yaml").read_text())["figures"]
    out = run_snakemake(built, "-n", "-p", "all", "--config", "figures={'png_previews': true, 'png_dpi': 110}")
    text = out.stdout + out.stderr
    assert all(re.search(rf"^{family}\s+1$", text, re.M) for family in families), text[-3000:]
    assert re.search(r"Missing output files: .*results/figures/(ja|en)/ga_supply_bars\.png", text)
    assert "--dpi 110" in text
    default = run_snakemake(built, "-n", "-p", "--forceall", "all")  # without the option: no PNG is planned
    assert ".png" not in default.stdout + default.stderr and "--dpi 0" in default.stdout + default.stderr


def test_provenance_report_lists_every_figure_with_its_captions(built):
    out = run_snakemake(built, "--report", "results/report/provenance.html")
    assert "Report created" in out.stdout + out.stderr
    html = (built / "results" / "report" / "provenance.html").read_text(encoding="utf-8")
    assert html.count('"rule": "plot_') >= 70  # 35 figures x 2 languages
    assert "critmet.figures.plot_supply_bars" in html and "Alt text: Refined Gallium supply" in html
    assert "382 t in 2020" in html
    caption = (built / "results" / "figures" / "meta" / "ga_supply_bars.rst").read_text(encoding="utf-8")
    assert "ガリウム製錬品の供給推移" in caption and "Refined Gallium supply" in caption and "Source:" in caption
