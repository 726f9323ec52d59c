"""Rule clean_<dataset>: validate and clean one dataset (thin adapter over critmet.clean.clean_dataset)."""

import argparse
import sys

from critmet.clean import clean_dataset
from critmet.validate import RawDataError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--raw-dir", required=True)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    try:
        result = clean_dataset(args.dataset, args.raw_dir, args.out_dir)
    except RawDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    statuses = [r["status"] for r in result["printed"]]
    print(
        f"{args.dataset}: {len(statuses)} printed values: "
        + ", ".join(f"{s} {statuses.count(s)}" for s in sorted(set(statuses)))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
