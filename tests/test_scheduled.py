"""Scheduled runs: one edition, then "no change"; an edited value publishes a second edition whose change log
names it; a broken input publishes nothing and leaves latest/ byte-identical; a second run waits its turn."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from conftest import BIN, built_copy, project_copy


@pytest.fixture(scope="module")
def work(built, tmp_path_factory) -> Path:
    """A project copy that starts from the session's finished build (only what changes is rebuilt)."""
    return built_copy(built, tmp_path_factory.mktemp("scheduled"))


def scheduled(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "critmet.scheduled", "--root", str(root)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_first_run_publishes_then_no_change(work):
    first = scheduled(work)
    assert first.returncode == 0, first.stderr
    assert "published edition e0001" in first.stdout
    latest = work / "results" / "latest"
    assert latest.is_symlink() and (latest / "executive_summary.pdf").exists()
    assert "first edition" in (latest / "CHANGES.md").read_text()
    closing = PdfReader(latest / "executive_summary_en.pdf").pages[-1].extract_text()
    assert "first published edition" in " ".join(closing.split())
    manifest = (latest / "manifest.json").read_text()
    assert "data/raw/ga_supply.csv" in manifest and "templates/text/ja/p26_supply_ga.yaml" in manifest
    second = scheduled(work)
    assert second.returncode == 0 and "no change" in second.stdout
    assert len([p for p in (work / "results" / "editions").iterdir() if not p.name.startswith(".")]) == 1


def test_an_edited_value_publishes_a_second_edition_naming_it(work):
    path = work / "data" / "raw" / "mg_demand_totals.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("2015,actual,828", "2015,actual,828.4"), encoding="utf-8")
    result = scheduled(work)
    assert result.returncode == 0, result.stderr
    assert "published edition e0002" in result.stdout
    changes = (work / "results" / "latest" / "CHANGES.md").read_text()
    assert "| Magnesium demand: total, 2015 | マグネシウム需要：合計、2015年 | 828 kt | 828.4 kt |" in changes
    assert "mg_demand_bars.svg" in changes and "data/raw/mg_demand_totals.csv" in changes
    for lang, compared in (("en", "Compared with edition"), ("ja", "比較対象の版")):
        closing = " ".join(
            PdfReader(work / "results" / "latest" / f"executive_summary_{lang}.pdf").pages[-1].extract_text().split()
        )
        assert compared in closing and "e0001" in closing
        name = "Magnesium demand: total, 2015" if lang == "en" else "マグネシウム需要"
        assert name in closing and "828.0" in closing and "828.4" in closing and "total_2015" not in closing
        assert "data/raw/mg_demand_totals.csv" in closing


def test_an_appended_year_is_published_with_its_new_values(work):
    supply, line = work / "data" / "raw" / "ga_supply.csv", work / "data" / "raw" / "ga_supply_demand.csv"
    supply.write_text(
        supply.read_text(encoding="utf-8") + "2021,中国,420\n2021,ロシア,13\n2021,日本,3\n2021,その他,8\n",
        encoding="utf-8",
    )
    line.write_text(line.read_text(encoding="utf-8") + "2021,,42.5\n", encoding="utf-8")
    result = scheduled(work)
    assert result.returncode == 0, result.stderr
    changes = (work / "results" / "latest" / "CHANGES.md").read_text()
    assert "| Gallium supply: total, 2021 | ガリウム供給：合計、2021年 | – | 444 t |" in changes
    assert "| Gallium supply: China, 2021 | ガリウム供給：中国、2021年 | – | 420 t |" in changes
    assert "ga_supply_bars.svg" in changes and "mg_supply_bars.svg" not in changes  # only what depends on it
    bars = (work / "results" / "figures" / "en" / "ga_supply_bars.svg").read_text()
    assert ">2021<" in bars.replace(" ", "")
    log = (work / "results" / "logs" / "scheduled.log").read_text()
    assert "snakemake --summary" in log and "Reason:" in log


def test_a_broken_input_publishes_nothing(work):
    before = tree_hashes(work / "results" / "latest")
    target = os.readlink(work / "results" / "latest")
    path = work / "data" / "raw" / "ga_supply.csv"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace("2010,中国,90", "2010,中国,-90"), encoding="utf-8")
        result = scheduled(work)
        assert result.returncode == 1
        assert "nothing published" in result.stderr and "negative quantity" in result.stderr
        assert os.readlink(work / "results" / "latest") == target
        assert tree_hashes(work / "results" / "latest") == before
    finally:
        path.write_text(original, encoding="utf-8")


def test_a_total_that_no_longer_equals_its_parts_stops_naming_file_line_and_column(work):
    """A consistency error found while the data are cleaned (not by the preflight): the scheduler's output
    leads with the one-line message, exit 1, and nothing is published."""
    before = tree_hashes(work / "results" / "latest")
    target = os.readlink(work / "results" / "latest")
    path = work / "data" / "raw" / "ga_demand.csv"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(
            original.replace("2020,純度6N以上（GaAs）,actual,158,", "2020,純度6N以上（GaAs）,actual,198,"),
            encoding="utf-8",
        )
        assert path.read_text(encoding="utf-8") != original
        result = scheduled(work)
        assert result.returncode == 1, result.stderr
        first = result.stderr.splitlines()[:2]
        assert first[0].startswith("build failed; nothing published"), first
        assert first[1].startswith("error: data/raw/ga_demand_totals.csv, line 12, column 'total_t':"), first
        assert "431 where 391 is expected" in first[1]
        assert os.readlink(work / "results" / "latest") == target
        assert tree_hashes(work / "results" / "latest") == before
    finally:
        path.write_text(original, encoding="utf-8")


def test_failure_messages_are_the_one_line_errors_each_once():
    from critmet.scheduled import failure_messages

    lines = [
        "Select jobs to execute...",
        "Error: data/raw/x.csv, line 3, column 'v': bad (value: '1'); expected 2",
        "    error: data/raw/x.csv, line 3, column 'v': bad (value: '1'); expected 2",
        "RuleException: ...",
        "invalid raw data: data/raw/y.csv, line 1: wrong delimiter",
    ]
    assert failure_messages(lines) == [
        "error: data/raw/x.csv, line 3, column 'v': bad (value: '1'); expected 2",
        "error: data/raw/y.csv, line 1: wrong delimiter",
    ]
    assert failure_messages(["Finished job 3."]) == []


def test_a_second_run_while_one_holds_the_lock_exits_cleanly(work):
    with open(work / "results" / ".scheduled.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = scheduled(work)
    assert result.returncode == 3
    assert "another scheduled run is in progress" in result.stderr


def test_a_run_killed_midway_is_followed_by_a_clean_recovery(work):
    import signal
    import time

    for path in (work / "templates" / "text" / "ja").glob("p2*.yaml"):  # something to rebuild
        path.write_text(path.read_text(encoding="utf-8") + "# edit\n", encoding="utf-8")
    latest_before = os.readlink(work / "results" / "latest")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "critmet.scheduled", "--root", str(work)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    log = work / "results" / "logs" / "scheduled.log"
    while time.monotonic() < deadline and "render_report" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the scheduler, Snakemake and its jobs, mid-render
    proc.wait()
    assert os.readlink(work / "results" / "latest") == latest_before  # nothing half-published
    result = scheduled(work)
    assert result.returncode == 0, result.stderr
    assert "no change" in result.stdout or "published edition" in result.stdout
    latest = work / "results" / "latest"
    assert (latest / "executive_summary.pdf").stat().st_size > 100_000


def test_naming_a_new_usgs_edition_in_config_updates_pies_numbers_and_sources(work):
    """A newer edition's published file (a fixture with made-up numbers: China 620 t and a new country,
    Kazakhstan, 60 t in its latest year, 2023) named in config: the pie moves to that year, its total, the
    concentration and the narrative follow it, and the source lines name the edition."""
    fixture = Path(__file__).parent / "fixtures" / "usgs" / "mcs2024-galli_world.csv"
    (work / "sources").mkdir(exist_ok=True)
    shutil.copy(fixture, work / "sources" / fixture.name)
    config = work / "config" / "config.yaml"
    original = config.read_text(encoding="utf-8")
    config.write_text(
        original.replace(
            "  edition: MCS2023\n  world_files: {}",
            f"  edition: MCS2024\n  world_files: {{galli: sources/{fixture.name}}}",
        ),
        encoding="utf-8",
    )
    result = scheduled(work)
    assert result.returncode == 0, result.stderr + (work / "results" / "logs" / "scheduled.log").read_text()[-3000:]
    assert "published edition" in result.stdout
    shares = pd.read_csv(work / "results" / "data" / "material_flow_shares.csv")
    pie = shares[shares["pie"] == "GA_PRIMARY_2022"].set_index("country")["share_pct"]
    assert pie["CN"] == pytest.approx(100 * 620 / 690) and pie["KZ"] == pytest.approx(100 * 60 / 690)
    latest = work / "results" / "latest"
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(latest / "executive_summary_en.pdf").pages)
    assert "(2023, world 690 t)" in text and "Kazakhstan" in text
    assert "Mineral Commodity Summaries 2024" in text
    changes = (latest / "CHANGES.md").read_text()
    assert "| Material flow: total, Primary gallium production | " in changes and " | 551 t | 690 t |" in changes
    assert "Primary gallium production, Kazakhstan |" in changes  # a country that was not there before
    assert "sources/mcs2024-galli_world.csv" in changes


def test_exit_code_2_when_results_cannot_be_written(work):
    """A read-only results/ (a read-only bind mount in a private mount namespace): one line, exit 2."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("no private mount namespace here (needs unshare as root)")
    results = work / "results"
    script = (
        f"mount --bind {results} {results} && mount -o remount,bind,ro {results} && "
        f"exec {sys.executable} -m critmet.scheduled --root {work}"
    )
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "publishing failed: cannot write to" in result.stderr and "Read-only file system" in result.stderr


def test_a_failed_or_killed_publish_leaves_nothing_behind_and_is_not_numbered_twice(work, monkeypatch):
    from critmet import scheduled as sched

    editions = work / "results" / "editions"
    text = work / "templates" / "text" / "en" / "p27_supply_mg.yaml"
    original = text.read_text(encoding="utf-8")
    latest = os.readlink(work / "results" / "latest")
    try:
        text.write_text(original + "# a new edition\n", encoding="utf-8")
        with monkeypatch.context() as patch:  # the disk fills up while the edition is written
            patch.setattr(sched, "write_json", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
            with pytest.raises(OSError):
                sched.publish(work)
        assert [p.name for p in editions.iterdir() if p.name.startswith(".")] == []
        assert os.readlink(work / "results" / "latest") == latest
        before = sorted(p.name for p in editions.iterdir())
        with monkeypatch.context() as patch:  # killed after writing the edition, before switching latest
            patch.setattr(sched, "_switch_latest", lambda *a: (_ for _ in ()).throw(SystemExit(137)))
            with pytest.raises(SystemExit):
                sched.publish(work)
        (orphan,) = sorted(set(p.name for p in editions.iterdir()) - set(before))
        (work / "results" / ".latest.99999").symlink_to(Path("editions") / orphan)  # a kill's stray link
        assert sched.publish(work) == orphan  # the same content keeps its number
        assert os.readlink(work / "results" / "latest") == f"editions/{orphan}"
        assert sorted(p.name for p in editions.iterdir()) == sorted([*before, orphan])
        assert list((work / "results").glob(".latest.*")) == []
        assert sched.publish(work) is None  # and nothing is left to publish
    finally:
        text.write_text(original, encoding="utf-8")


def test_deploy_examples_call_the_entry_point_so_exit_codes_reach_the_scheduler():
    deploy = Path(__file__).resolve().parents[1] / "deploy"
    files = [deploy / "crontab.example", deploy / "critmet-report.service", deploy / "github-actions" / "scheduled.yml"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "python -m critmet.scheduled" in text, path
        assert "make scheduled" not in "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#")), path
    assert "SuccessExitStatus=3" in (deploy / "critmet-report.service").read_text()


def test_the_change_log_names_values_biggest_first_and_pairs_a_moved_year():
    """Human names in both languages; quantities before growth rates and indices; the largest change first;
    a metric that moved to a later year is one change, not a value that vanished."""
    from critmet.editions import Namer, value_changes

    root = Path(__file__).resolve().parents[1]
    old = {
        "ga_supply": {"value_CN_2020": 360.0, "total_2020": 382.0, "cagr_2015_2020": 3.2},
        "material_flow": {"total_GA_PRIMARY_2022": 551.0, "hhi_GA_PRIMARY_2022": 9000.0},
    }
    new = {
        "ga_supply": {"value_CN_2020": 365.0, "total_2020": 387.0, "cagr_2015_2020": 3.5},
        "material_flow": {"total_GA_PRIMARY_2023": 661.0, "hhi_GA_PRIMARY_2023": 8300.0},
    }
    changes = value_changes(new, old, Namer(root))
    names = [c["name_en"] for c in changes]
    assert names[:3] == [
        "Material flow: total, Primary gallium production (from 2022)",
        "Gallium supply: China, 2020",
        "Gallium supply: total, 2020",
    ]
    assert names[3] == "Gallium supply: CAGR, 2015–2020" and names[4].startswith("Material flow: HHI")
    moved = changes[0]
    assert (moved["previous_metric"], moved["metric"], moved["before"], moved["now"]) == (
        "total_GA_PRIMARY_2022",
        "total_GA_PRIMARY_2023",
        551.0,
        661.0,
    )
    assert changes[1]["name_ja"] == "ガリウム供給：中国、2020年"
    assert all(c["before"] is not None and c["now"] is not None for c in changes)  # nothing "→ –"


def test_the_change_log_lists_a_fact_once_with_its_unit():
    """A quantity and the check that recomputes it (Ga demand and the demand line it is checked against)
    changed alike: one row, under the shorter id; each change carries its unit."""
    from critmet.editions import value_changes

    old = {"ga_supply": {"demand_2020": 544.0, "demand_line_2020": 544.0, "share_CN_2020": 94.2}}
    new = {"ga_supply": {"demand_2020": 551.475, "demand_line_2020": 551.475, "share_CN_2020": 94.3}}
    units = {"ga_supply": {"demand_2020": "t", "demand_line_2020": "t", "share_CN_2020": "%"}}
    changes = value_changes(new, old, units=units)
    assert [(c["metric"], c["unit"]) for c in changes] == [("demand_2020", "t"), ("share_CN_2020", "%")]


def test_the_change_log_lists_values_that_now_differ_from_the_print(tmp_path):
    """CHANGES.md names each value that an update moved away from the print it was compared with, as
    "2023 print: 544 → now 551.5" (fidelity.csv status 'changed'); values that agree are not listed."""
    from critmet.editions import Namer
    from critmet.scheduled import print_differences

    root = project_copy(tmp_path)
    data = root / "results" / "data"
    data.mkdir(parents=True)
    (data / "fidelity.csv").write_text(
        "dataset,table,id,edition,printed,now,status,change,where\n"
        "ga_supply,ga_supply,demand_2020,2023 print,544,551.475,changed,2023 print: 544 → now 551.475,chart\n"
        "ga_supply,ga_supply,demand_2019,2023 print,547,547,ok,,chart\n",
        encoding="utf-8",
    )
    lines = print_differences(root, Namer(root))
    assert "| Gallium supply: demand, 2020 | ガリウム供給：需要、2020年 | 2023 print: 544 | 551.475 |" in lines
    assert not any("2019" in line for line in lines)
    (data / "fidelity.csv").write_text("dataset,table,id,edition,printed,now,status,change,where\n", encoding="utf-8")
    assert print_differences(root, Namer(root)) == []
