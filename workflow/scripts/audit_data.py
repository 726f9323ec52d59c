"""Rule audit_data: the audit of printed values and inconsistencies, and the checksum manifest."""

import argparse


def main() -> int:
    from critmet.audit import write_audit

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw-dir", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--audit", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--fidelity", help="CSV of every comparison with the print (printed, now, change)")
    args = parser.parse_args()
    manifest = write_audit(args.raw_dir, args.data_dir, args.audit, args.manifest, args.fidelity)
    print(f"audit written; manifest of {len(manifest['inputs'])} inputs and {len(manifest['outputs'])} outputs")
    return 0


if __name__ == "__main__":
    from critmet.worker import run

    raise SystemExit(run(__file__, main))
