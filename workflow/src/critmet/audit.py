"""The audit of the data stage: every printed value checked, every inconsistency of the report, every
normalisation applied; and the manifest with the checksum of each input and output."""

from __future__ import annotations

import csv
from pathlib import Path

from critmet.io import atomic_write_text, read_json, sha256_file, write_json

STATUS_TITLES = {
    "changed": "Printed values the updated data no longer match (fidelity to the print, not an error)",
    "discrepancy": "Inconsistencies of the report (kept as printed, registered)",
    "unchecked": "Printed values not checked (no derived value to compare with)",
    "registered-agrees": "Registered entries whose numbers agree (the register explains a conflict of wording)",
}


def _register(raw_dir: Path) -> list[dict]:
    with open(raw_dir / "discrepancy_register.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def fmt(value) -> str:
    """A value as the change lists write it: 544, 551.5 (at most 4 significant decimals, no trailing zeros)."""
    if value is None or value == "":
        return "–"
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


FIDELITY_COLUMNS = ["dataset", "table", "id", "edition", "printed", "now", "status", "change", "where"]


def fidelity_rows(checks: list[dict]) -> list[dict]:
    """Every comparison with a print: the printed value, the value now, and "print 2023: 544 → now 551.5"
    where they no longer agree because the data changed."""
    rows = []
    for c in checks:
        edition = c.get("edition", "print")
        for r in c["printed"]:
            if r.get("kind") != "fidelity":
                continue
            change = (
                f"{edition}: {fmt(r['printed'])} → now {fmt(r.get('computed'))}" if r["status"] == "changed" else ""
            )
            rows.append(
                {
                    "dataset": c["dataset"],
                    "table": r["table"],
                    "id": r["id"],
                    "edition": edition,
                    "printed": fmt(r["printed"]),
                    "now": fmt(r.get("computed")),
                    "status": r["status"],
                    "change": change,
                    "where": r.get("where", ""),
                }
            )
    return rows


def write_fidelity(checks: list[dict], path) -> None:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, FIDELITY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(fidelity_rows(checks))
    atomic_write_text(path, buf.getvalue())


def audit_markdown(checks: list[dict], register: list[dict]) -> str:
    records = [dict(r, dataset=c["dataset"]) for c in checks for r in c["printed"]]
    counts = {
        s: sum(1 for r in records if r["status"] == s)
        for s in ("ok", "discrepancy", "unchecked", "registered-agrees", "changed")
    }
    lines = [
        "# Data audit",
        "",
        f"{len(records)} values printed in the report were compared with the values derived from data/raw: "
        f"{counts['ok']} agree within rounding, {counts['discrepancy']} disagree and are registered, "
        f"{counts['unchecked']} could not be checked, {counts['changed']} no longer match because the data changed "
        f"since the print. The register lists {len(register)} inconsistencies.",
        "",
        "Consistency checks (totals equal to their parts, shares adding up) hold for every edition and stop the "
        "build. Fidelity checks compare the data with the values a print shows; they bind only while a table "
        "holds the data of that print (its rows match `print_edition.rows_sha256` in its metadata). Tables that "
        "differ: "
        + (
            ", ".join(sorted(n for c in checks for n, t in c["tables"].items() if not t.get("as_printed", True)))
            or "none"
        )
        + ".",
        "",
        "## Discrepancy register (data/raw/discrepancy_register.csv)",
        "",
        "| id | table | item | printed | recomputed | kept | reason |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for row in register:
        lines.append(
            f"| {row['id']} | {row['table']} | {row['item']} | {row['printed']} | {row['computed']} | "
            f"{row['kept']} | {row['reason_en']} |"
        )
    for status, title in STATUS_TITLES.items():
        subset = [r for r in records if r["status"] == status]
        if not subset:
            continue
        lines += [
            "",
            f"## {title}",
            "",
            "| table | printed id | printed | derived | where |",
            "|---|---|---:|---:|---|",
        ]
        for r in subset:
            derived = "" if r.get("computed") is None else f"{r['computed']:.4g}"
            if status == "changed":
                derived = f"{r.get('edition', 'print')}: {fmt(r['printed'])} → now {fmt(r.get('computed'))}"
            lines.append(f"| {r['table']} | {r['id']} | {r['printed']} | {derived} | {r['where']} |")
    estimated = [(name, t) for c in checks for name, t in c["tables"].items() if t.get("estimated")]
    if estimated:
        lines += ["", "## Estimates in the raw tables (drawn in a lighter tone and marked e)", ""]
        for name, t in estimated:
            lines.append(f"- `{name}`: {t['estimated']} estimated value(s)")
            lines += [f"  - {method}" for method in t.get("estimates", [])]
    notes = [(c["dataset"], name, t["notes"]) for c in checks for name, t in c["tables"].items() if t["notes"]]
    lines += ["", "## Normalisations applied to raw input", ""]
    if notes:
        lines += [f"- `{name}` ({dataset}): {'; '.join(n)}" for dataset, name, n in notes]
    else:
        lines.append("None: every raw table was clean UTF-8 with plain numbers.")
    return "\n".join(lines) + "\n"


def write_audit(raw_dir, data_dir, audit_path, manifest_path, fidelity_path=None) -> dict:
    raw_dir, data_dir = Path(raw_dir), Path(data_dir)
    checks = [read_json(p) for p in sorted((data_dir / "checks").glob("*.json"))]
    register = _register(raw_dir)
    atomic_write_text(audit_path, audit_markdown(checks, register))
    if fidelity_path:
        write_fidelity(checks, fidelity_path)
    inputs = sorted(
        p for p in raw_dir.rglob("*") if p.is_file() and "_incoming" not in p.parts and p.suffix in (".csv", ".yaml")
    )
    outputs = sorted(
        p for p in data_dir.rglob("*") if p.is_file() and p.suffix in (".csv", ".json") and p.name != "manifest.json"
    )
    manifest = {
        "inputs": {str(p): sha256_file(p) for p in inputs},
        "outputs": {str(p): sha256_file(p) for p in outputs},
    }
    write_json(manifest_path, manifest)
    return manifest
