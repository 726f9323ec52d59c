"""Shared fixtures: a small raw-data folder for unit tests, and one real pipeline build for the e2e tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

TINY_CODES = """code,kind,name_ja,name_en,aliases
CN,country,中国,China,China (PRC)
RU,country,ロシア,Russia,
JP,country,日本,Japan,
OTH,region,その他,Others,Other countries
"""

TINY_META = """title: {ja: "テスト表", en: "Test table"}
unit: {ja: "t", en: "t"}
source: {ja: "テスト出所", en: "Test source"}
publisher: "Test"
reference_year: 2020
report_page: 26
licence: "test"
schema:
  primary_key: [year, country]
  columns:
    year: {type: integer, min: 2010, max: 2020}
    country: {type: code, kinds: [country, region]}
    value_t: {type: number, min: 0}
"""

TINY_CSV = "year,country,value_t\n2010,中国,90\n2010,ロシア,13\n2020,CN,360\n2020,RU,13\n"


@pytest.fixture
def tiny_raw(tmp_path: Path) -> Path:
    """A raw folder with one valid table (`supply`) and one code list."""
    raw = tmp_path / "raw"
    (raw / "codes").mkdir(parents=True)
    (raw / "codes" / "countries.csv").write_text(TINY_CODES, encoding="utf-8")
    (raw / "supply.meta.yaml").write_text(TINY_META, encoding="utf-8")
    (raw / "supply.csv").write_text(TINY_CSV, encoding="utf-8")
    return raw


def project_copy(dest: Path) -> Path:
    """A copy of the project's inputs and code (no results), to build and break without touching the repo."""
    for name in ("Snakefile", "environment.yml", "config", "data", "templates", "workflow"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "_incoming"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def built_copy(built: Path, dest: Path) -> Path:
    """A project copy that starts from a finished build (its results and Snakemake's records, no locks): a
    build in it reruns only what a test changes."""
    project_copy(dest)
    shutil.copytree(built / "results", dest / "results", symlinks=True)
    shutil.copytree(built / ".snakemake", dest / ".snakemake", ignore=shutil.ignore_patterns("locks", "incomplete"))
    return dest


def project_inputs(project: Path):
    """The renderer's inputs for a built project folder, as the pipeline's render job passes them."""
    from critmet.io import load_yaml
    from critmet.report.render import Inputs

    report = project / "results" / "report"
    return Inputs(
        templates_dir=project / "templates",
        text_dir=project / "templates" / "text",
        data_dir=project / "results" / "data",
        figures_dir=project / "results" / "figures",
        raw_dir=project / "data" / "raw",
        variables_json=report / "variables.json",
        config=load_yaml(project / "config" / "config.yaml"),
        root=project,
        changes_json=report / "changes.json",
    )


def run_snakemake(workdir: Path, *targets: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", "--nocolor", *targets],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The whole pipeline, built once from a copy of the project: data, figures and the three PDFs."""
    work = project_copy(tmp_path_factory.mktemp("build"))
    run_snakemake(work, "all")
    return work


ALL_DATASETS = [
    "ga_supply",
    "mg_supply",
    "ga_demand",
    "mg_demand",
    "material_flow",
    "risk",
    "screening",
    "recommendations",
    "lca",
    "policy",
    "tech_trends",
    "gan_map",
]


@pytest.fixture(scope="session")
def cleaned(tmp_path_factory) -> Path:
    """Every dataset of data/raw cleaned into a temporary folder (no Snakemake): the input of figure tests."""
    from critmet.clean import clean_dataset

    out = tmp_path_factory.mktemp("cleaned")
    for dataset in ALL_DATASETS:
        clean_dataset(dataset, ROOT / "data" / "raw", out)
    return out


def figure_kit(data_dir: Path, lang: str):
    """FigureData and Style for one language, as the figures stage builds them."""
    from critmet.figures.common import FigureData, load_labels
    from critmet.figures.style import Style
    from critmet.validate import load_codes

    codes = load_codes(ROOT / "data" / "raw" / "codes")
    return FigureData(data_dir, ROOT / "data" / "raw", codes), Style(
        lang, codes, load_labels(ROOT / "templates" / "text", lang)
    )


def draw_rendered(module, data, style, figures):
    """Draw figures the way the pipeline saves them (critmet.figures.common.draw_family: the type floor
    applied, the texts fitted inside the figure) and render each once, so a missing glyph (a warning) fails."""
    import io

    from critmet.figures.common import draw_family

    drawn = draw_family(module.__name__.rsplit(".", 1)[-1], data, style, figures)
    with style.context():
        for item in drawn.values():
            item.fig.savefig(io.BytesIO(), format="png", dpi=30)
    return drawn
