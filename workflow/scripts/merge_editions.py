"""Rule render_bilingual: the bilingual PDF joined from the language editions (thin adapter over
critmet.report.merge; no second layout)."""

import argparse
import sys
from pathlib import Path


def main() -> int:
    from critmet.report import ReportError
    from critmet.report.merge import merge_editions

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--langs", nargs="+", required=True, help="languages, in the order of the bilingual PDF")
    parser.add_argument("--pdfs", nargs="+", required=True, help="the edition PDFs, in the same order")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        written = merge_editions([Path(p) for p in args.pdfs], args.langs, args.out)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
