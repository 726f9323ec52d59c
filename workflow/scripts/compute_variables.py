"""Rule compute_variables: the numbers the text may use (thin adapter over critmet.report.variables)."""

import argparse
import sys


def main() -> int:
    from critmet.io import atomic_write_text, write_json
    from critmet.report import ReportError
    from critmet.report.variables import compute_variables, variables_markdown

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--md", help="also write the list (the workflow's report job writes it with the claims)")
    args = parser.parse_args()
    try:
        variables = compute_variables(args.spec, args.data_dir)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_json(args.json, variables)
    if args.md:
        atomic_write_text(args.md, variables_markdown(variables))
    print(f"{len(variables)} variables")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
