# Helpers and target lists shared by the rule files. Loaded once per run; no job runs here.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "src"))

# A fork server holds pandas, matplotlib and WeasyPrint imported while the jobs run (critmet.worker);
# each job's adapter hands its work to it, or runs by itself when there is none.
from critmet.worker import SOCKET_ENV, runs_jobs, start as start_worker, stop as stop_worker

WORKER = {}


def _start_worker():
    WORKER["handle"] = start_worker(os.getpid())
    if WORKER["handle"]:
        os.environ[SOCKET_ENV] = WORKER["handle"][0]


# Started first thing while the workflow is parsed, so that its imports (about a second) overlap the preflight
# and Snakemake's building of the DAG, unless the command line only looks at the workflow (a dry run, a graph,
# a lint); else when jobs start. If the preflight stops the run, it stops the server.
if workflow.is_main_process and runs_jobs(sys.argv[1:]):
    _start_worker()


from critmet.io import load_yaml
from critmet.lifeline import OWNER_ENV, token
from critmet.preflight import PreflightError, one_line, preflight
from critmet.validate import RawDataError

# Every input is checked before any job is scheduled (critmet.preflight: config, page structure, paths, and
# every raw table, cached by checksum): a problem stops the run here with one line naming the file, line,
# column or key and value, and leaves all earlier outputs untouched. No traceback: the line is the message.
try:
    preflight(workflow.basedir)
except (PreflightError, RawDataError) as err:
    print(f"error: {one_line(err, workflow.basedir)}", file=sys.stderr)
    stop_worker(WORKER.get("handle"))
    raise SystemExit(1) from None

# The jobs of this run die with this Snakemake process, even when it is killed (critmet.lifeline).
os.environ[OWNER_ENV] = token()

RAW = "data/raw"
REGISTRY = load_yaml(Path(workflow.basedir) / "workflow" / "registry.yaml")
DATASETS = REGISTRY["datasets"]
FIGURES = REGISTRY["figures"]
LANGS = config["languages"]
PNG_PREVIEWS = config["figures"].get("png_previews", False)  # PNGs of the charts besides the SVGs
TEXT_DIR = "templates/text"

USGS_FILES = [config["usgs"]["world_files"][k] for k in sorted(config["usgs"]["world_files"])]


def usgs_files(dataset):
    """Published USGS world CSVs named in config, for the datasets that read the USGS table."""
    tables = list(DATASETS[dataset]["tables"]) + [
        t for used in DATASETS[dataset].get("uses", []) for t in DATASETS[used]["tables"]
    ]
    return USGS_FILES if "usgs_mcs2023_world" in tables else []


def raw_files(dataset, with_uses=False):
    """The raw CSVs and metadata sidecars of one dataset (and of the datasets it checks against)."""
    tables = list(DATASETS[dataset]["tables"])
    if with_uses:
        tables += [t for used in DATASETS[dataset].get("uses", []) for t in DATASETS[used]["tables"]]
    return [f"{RAW}/{t}.csv" for t in tables] + [f"{RAW}/{t}.meta.yaml" for t in tables]


def clean_outputs(dataset):
    """The cleaned tables a dataset writes: one per raw table, its derived tables, and its metrics."""
    spec = DATASETS[dataset]
    return [f"results/data/{t}.csv" for t in spec["tables"] + spec.get("derived", [])] + [
        f"results/data/{dataset}_metrics.csv"
    ]


def dataset_files(*datasets):
    """All cleaned outputs of the given datasets (inputs of a figure rule)."""
    return [f for d in datasets for f in clean_outputs(d)]


def figure_outputs(family):
    """SVG (and, with figures.png_previews, PNG) in each language, plus the figure's bilingual metadata
    (caption, alt text, source)."""
    names = FIGURES[family]["figures"]
    return {
        "svg": [f"results/figures/{lang}/{n}.svg" for n in names for lang in LANGS],
        "png": [f"results/figures/{lang}/{n}.png" for n in names for lang in LANGS if PNG_PREVIEWS],
        "meta": [f"results/figures/meta/{n}.json" for n in names],
        "caption": [f"results/figures/meta/{n}.rst" for n in names],
    }


def in_provenance_report(family, path):
    """Flag a figure for Snakemake's HTML report (`make provenance`), with its bilingual caption."""
    name, lang = Path(path).stem, Path(path).parent.name
    return report(
        path,
        caption=f"../../results/figures/meta/{name}.rst",
        category="Figures",
        subcategory=family,
        labels={"figure": name, "language": lang},
    )


FIGURE_TARGETS = [f for fam in FIGURES for kind in figure_outputs(fam).values() for f in kind]
CODE_FILES = sorted(str(p) for p in Path(RAW, "codes").glob("*.csv"))
TEXT_FILES = sorted(str(p) for p in Path(TEXT_DIR).rglob("*.yaml"))
STYLE_FILES = ["workflow/src/critmet/figures/style.yaml"]


def code_files(*parts):
    """The package modules a job runs, as its inputs. Editing the code reruns the job (shell jobs have no
    'code' rerun trigger of its own)."""
    root = Path("workflow/src/critmet")
    files = []
    for part in parts:
        path = root / part
        files += sorted(str(p) for p in path.rglob("*.py")) if path.is_dir() else [str(path)]
    return files


def latest_edition_manifest(wildcards):
    """The manifest of the latest published edition, if there is one (the closing page compares with it)."""
    path = Path("results/latest/manifest.json")
    return [str(path)] if path.exists() else []


def report_inputs(langs):
    """What a rendering reads: the variables, the checks (footnotes), the figures and text of its
    languages, templates, stylesheets, page structure, config, the register and the report code."""
    return {
        "variables": rules.compute_variables.output.json,
        "changes": rules.describe_changes.output.json,
        "checks": expand("results/data/checks/{dataset}.json", dataset=DATASETS),
        "figures": [
            f
            for f in FIGURE_TARGETS
            if f.endswith((".json", ".rst")) or (f.endswith(".svg") and any(f"/{l}/" in f for l in langs))
        ],
        "text": [f for f in TEXT_FILES if any(f"/{l}/" in f for l in langs)],
        "templates": sorted(str(p) for p in Path("templates").rglob("*.j2")),
        "css": sorted(str(p) for p in Path("templates/css").glob("*.css")),
        "pages": "templates/pages.yaml",
        "config": "config/config.yaml",
        "register": f"{RAW}/discrepancy_register.csv",
        "code": code_files("report"),
    }


# An output restored by update() after a failed job holds an older run's content, and one written by a job
# that did not finish is not that job's output: neither may pass as up to date, so the job is redone
# (critmet.build; after a failure, and again here in case the failed run was itself killed).
from critmet.build import mark_restored_outputs, redo_restored_outputs

for _restored in redo_restored_outputs(Path(workflow.basedir)) + mark_restored_outputs(
    Path(workflow.basedir),
    [f for d in DATASETS for f in clean_outputs(d)]
    + [f"results/data/checks/{d}.json" for d in DATASETS]
    + ["results/data/audit.md", "results/data/manifest.json"]
    + FIGURE_TARGETS
    + [
        f"results/report/{n}"
        for n in ("variables.json", "variables.md", "changes.json", "executive_summary.pdf")
    ]
    + [f"results/report/executive_summary_{l}.{x}" for l in LANGS for x in ("pdf", "html")],
):
    print(f"note: {_restored} is not the output of a finished job; it will be rebuilt", file=sys.stderr)


onstart:
    if not WORKER.get("handle"):
        _start_worker()


def _end_of_run():
    """Stop the fork server; cancel the timers of Snakemake's job rate limiter (--max-jobs-per-timespan),
    which starts a one-second threading.Timer after each pass of its scheduler. The scheduler has finished
    when this runs, and Python would wait for the last timer before exiting (up to a second added to every
    run, a no-op included)."""
    import threading

    stop_worker(WORKER.get("handle"))
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


onsuccess:
    _end_of_run()


onerror:
    _end_of_run()
    logs = [
        Path(p) for p in (log if isinstance(log, (list, tuple)) else [log]) if p
    ]  # a path, or a list of them
    redo_restored_outputs(Path(workflow.basedir), logs or None)
