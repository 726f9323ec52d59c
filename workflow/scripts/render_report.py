"""Rule render_report: results/report/variables.md (the variables, and every claim of the text files with whether
it holds; the languages' text files checked to match), then the executive summary in every language (HTML
preview and PDF) and the bilingual PDF joined from them (thin adapter over critmet.report.claims and
critmet.report.render.render_editions)."""

import argparse
import sys
from pathlib import Path


def main() -> int:
    from critmet.io import load_yaml
    from critmet.report import ReportError
    from critmet.report.claims import list_variables
    from critmet.report.fetcher import RefusedResource
    from critmet.report.render import Inputs, render_editions

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--langs", nargs="+", required=True, help="the languages, in the bilingual PDF's order")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--variables", required=True)
    parser.add_argument("--changes", help="results/report/changes.json (the closing page)")
    parser.add_argument("--bilingual", help="where to write the bilingual PDF (none if not given)")
    parser.add_argument("--list", help="write the list of variables and claims here (results/report/variables.md)")
    parser.add_argument("--jobs", type=int, default=1, help="processes laying out the editions side by side")
    parser.add_argument("--templates-dir", default="templates")
    parser.add_argument("--data-dir", default="results/data")
    parser.add_argument("--figures-dir", default="results/figures")
    parser.add_argument("--raw-dir", default="data/raw")
    parser.add_argument(
        "--cache",
        help="the page caches' folder (results/.cache/pages, one folder per language): slides unchanged "
        "since the last build are not laid out again",
    )
    args = parser.parse_args()
    templates = Path(args.templates_dir)
    inputs = Inputs(
        templates_dir=templates,
        text_dir=templates / "text",
        data_dir=Path(args.data_dir),
        figures_dir=Path(args.figures_dir),
        raw_dir=Path(args.raw_dir),
        variables_json=Path(args.variables),
        config=load_yaml(args.config),
        changes_json=Path(args.changes) if args.changes else None,
    )
    try:
        if args.list:
            text_files = sorted((templates / "text").rglob("*.yaml"))
            print(list_variables(inputs.variables_json, text_files, Path(args.list)))
        written = render_editions(inputs, args.langs, args.out, args.cache, args.bilingual, args.jobs)
    except (ReportError, RefusedResource) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
