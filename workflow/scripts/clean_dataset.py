"""Rule clean_<dataset>: validate and clean one dataset (thin adapter over critmet.clean.clean_dataset).

The raw folder is the one holding the discrepancy register; the cleaned tables go beside the checks folder.
"""

import argparse
import sys
from pathlib import Path


def main() -> int:
    from critmet.clean import clean_dataset
    from critmet.importers.usgs import ImportError_
    from critmet.validate import RawDataError

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--register", required=True, help="data/raw/discrepancy_register.csv")
    parser.add_argument("--checks", required=True, help="results/data/checks/<dataset>.json")
    parser.add_argument("--usgs-edition", default=None, help="edition of the --usgs-files (config usgs.edition)")
    parser.add_argument("--usgs-files", nargs="*", default=[], help="published USGS MCS world CSVs (config)")
    args = parser.parse_args()
    raw_dir, out_dir = Path(args.register).parent, Path(args.checks).parent.parent
    try:
        result = clean_dataset(
            args.dataset, raw_dir, out_dir, usgs_files=args.usgs_files, usgs_edition=args.usgs_edition
        )
    except (RawDataError, ImportError_) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    statuses = [r["status"] for r in result["printed"]]
    counts = ", ".join(f"{s} {statuses.count(s)}" for s in sorted(set(statuses)))
    print(f"{args.dataset}: {len(statuses)} printed values: {counts}")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
