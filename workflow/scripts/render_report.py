"""Rule render_edition: the executive summary in one language, its HTML preview and PDF (thin adapter over
critmet.report.render; the bilingual PDF joins the editions: merge_editions.py)."""

import argparse
import sys
from pathlib import Path


def main() -> int:
    from critmet.io import load_yaml
    from critmet.report import ReportError
    from critmet.report.fetcher import RefusedResource
    from critmet.report.render import Inputs, render_edition

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--lang", required=True, help="the language of the edition")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--variables", required=True)
    parser.add_argument("--changes", help="results/report/changes.json (the closing page)")
    parser.add_argument("--templates-dir", default="templates")
    parser.add_argument("--data-dir", default="results/data")
    parser.add_argument("--figures-dir", default="results/figures")
    parser.add_argument("--raw-dir", default="data/raw")
    parser.add_argument(
        "--cache",
        help="one language's page cache (results/.cache/pages/<lang>): slides unchanged "
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
        written = render_edition(inputs, args.lang, args.out, args.cache)
    except (ReportError, RefusedResource) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
