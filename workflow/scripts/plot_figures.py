"""Rules plot_*: draw one figure family in every language (thin adapter over critmet.figures.common)."""

import argparse


def main() -> int:
    from critmet.figures.common import plot_family

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", required=True, help="critmet.figures module that draws the family")
    parser.add_argument("--figures", nargs="+", required=True)
    parser.add_argument("--langs", nargs="+", required=True)
    parser.add_argument("--dpi", type=int, default=110, help="PNG resolution; 0: no PNG")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--raw-dir", required=True)
    parser.add_argument("--text-dir", required=True)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    plot_family(
        args.module,
        args.figures,
        args.data_dir,
        args.raw_dir,
        args.text_dir,
        args.out_dir,
        args.langs,
        args.dpi,
    )
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
