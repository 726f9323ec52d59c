"""Rule describe_changes: what changed since the latest published edition (thin adapter over critmet.editions)."""

import argparse
from pathlib import Path


def main() -> int:
    from critmet.editions import describe
    from critmet.io import write_json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--latest", help="results/latest/manifest.json, when an edition has been published")
    args = parser.parse_args()
    changes = describe(Path("."), Path(args.data_dir), Path(args.latest) if args.latest else None)
    write_json(args.out, changes)
    print("first edition" if changes["first"] else f"{len(changes['values'])} values changed")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
