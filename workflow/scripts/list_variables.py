"""Rule list_variables: results/report/variables.md, the variables and every claim of the text files with
whether it holds (thin adapter over critmet.report.variables and critmet.report.claims). It also checks that
the language versions of each text file have the same structure (nothing untranslated or missing): the
editions are rendered one language per job, so this is the one job that sees both."""

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    from critmet.io import atomic_write_text
    from critmet.report import ReportError
    from critmet.report.claims import claims_markdown, collect_claims
    from critmet.report.render import check_languages_match
    from critmet.report.text import load_text_file
    from critmet.report.variables import variables_markdown

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", required=True)
    parser.add_argument("--md", required=True)
    parser.add_argument("text", nargs="*")
    args = parser.parse_args()
    with open(args.json, encoding="utf-8") as fh:
        variables = json.load(fh)
    values = {name: item["value"] for name, item in variables.items()}
    try:
        records = collect_claims(args.text, values, load_text_file)
        check_languages_match([Path(t) for t in args.text], values)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    atomic_write_text(args.md, variables_markdown(variables) + claims_markdown(records))
    print(f"{len(variables)} variables, {len(records)} claims ({sum(not r['ok'] for r in records)} use other wording)")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
