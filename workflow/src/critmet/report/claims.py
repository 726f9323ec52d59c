"""Claims: sentences whose wording depends on the numbers declare their condition next to them.

A text file may hold a top-level `claims:` list. Each claim names the sentence it guards (`text:`, a dotted path
into the file: `headline.0`, `lead`, `blocks.highlights.items.2`), the condition under which its wording is true
(`holds:`) and, optionally, the wording to use when it is not (`otherwise:`):

    claims:
      - text: headline.0
        holds: "mg_ore_prod_2022_share_cn > 50 and mg_primary_2022_share_cn > 50"
        otherwise: "Magnesium ore mining and smelting lean on a few countries,"

A condition is one or more comparisons joined by `and`: `<operand> <op> <operand>`, where an operand is a
variable of templates/variables.yaml or a number, and op one of > >= < <= == !=. Nothing else is accepted and
nothing is evaluated as code. When a condition fails and no `otherwise:` is given, the build stops naming the
text file, the line of the condition and the values compared. results/report/variables.md lists every claim.
"""

from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Any

from critmet.report import ReportError

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_TERM = re.compile(rf"^\s*({_NAME}|{_NUM})\s*(>=|<=|==|!=|>|<)\s*({_NAME}|{_NUM})\s*$")


def _where(node: Any, path: Path) -> str:
    return f"{getattr(node, 'file', path)}:{getattr(node, 'line', 0)}"


def parse_condition(text: str, where: str) -> list[tuple[str, str, str]]:
    """`a > 50 and b <= c` -> [("a", ">", "50"), ("b", "<=", "c")]; anything else is refused."""
    if not isinstance(text, str) or not text.strip():
        raise ReportError(f'{where}: a claim needs a condition `holds: "<variable> <op> <number or variable>"`')
    terms = []
    for part in re.split(r"\s+and\s+", text.strip()):
        m = _TERM.match(part)
        if not m:
            raise ReportError(
                f"{where}: claim condition {part.strip()!r} is not of the form "
                "'<variable or number> <op> <variable or number>' (op: > >= < <= == !=; terms joined by 'and')"
            )
        terms.append(m.groups())
    return terms


def _operand(token: str, values: dict, where: str) -> float:
    if re.fullmatch(_NUM, token):
        return float(token)
    if token not in values:
        raise ReportError(
            f"{where}: claim condition names '{token}', which is not a variable (see results/report/variables.md)"
        )
    return float(values[token])


def evaluate(text: str, values: dict, where: str) -> tuple[bool, str]:
    """(whether the condition holds, the comparison with the values filled in)."""
    ok, shown = True, []
    for left, op, right in parse_condition(text, where):
        a, b = _operand(left, values, where), _operand(right, values, where)
        holds = OPS[op](a, b)
        ok &= holds
        shown.append(f"{left} {op} {right} ({a:g} {op} {b:g}: {'true' if holds else 'false'})")
    return ok, " and ".join(shown)


def _get(node: Any, dotted: str):
    parent, key = None, None
    for part in dotted.split("."):
        parent = node
        key = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None, None, None
    return parent, key, node


def apply_claims(node: Any, values: dict, path: str | Path) -> tuple[Any, list[dict]]:
    """Check the claims of one loaded text file; substitute `otherwise:` wordings of failed claims; remove the
    `claims:` block. Returns (the text without claims, one record per claim). Raises ReportError on a failed
    claim without alternative wording."""
    path = Path(path)
    if not isinstance(node, dict) or "claims" not in node:
        return node, []
    claims = node["claims"]
    body = {k: v for k, v in node.items() if k != "claims"}
    if not isinstance(claims, list):
        raise ReportError(f"{path}: 'claims' must be a list of {{text, holds, otherwise}} entries")
    records = []
    for claim in claims:
        if not isinstance(claim, dict) or "text" not in claim or "holds" not in claim:
            raise ReportError(f"{_where(claim, path)}: a claim needs 'text' (the sentence's key) and 'holds'")
        holds_text = claim["holds"]
        where = _where(holds_text, path)
        parent, key, sentence = _get(body, str(claim["text"]))
        if parent is None or not isinstance(sentence, str):
            raise ReportError(f"{where}: claim names the sentence '{claim['text']}', which this file does not have")
        ok, shown = evaluate(holds_text, values, where)
        used = "as written"
        if not ok:
            if "otherwise" not in claim:
                raise ReportError(
                    f"{where}: the claim of '{claim['text']}' no longer holds: {shown}; "
                    "reword the sentence (and its condition) or give an 'otherwise:' wording"
                )
            parent[key] = claim["otherwise"]
            used = "otherwise"
        records.append(
            {
                "file": str(getattr(holds_text, "file", path)),
                "line": getattr(holds_text, "line", 0),
                "text": str(claim["text"]),
                "holds": str(holds_text),
                "result": shown,
                "ok": ok,
                "wording": used,
            }
        )
    return body, records


def collect_claims(text_files: list[str | Path], values: dict, load) -> list[dict]:
    """The claim records of every text file (for variables.md); a failed claim without `otherwise:` raises."""
    records = []
    for path in sorted(str(p) for p in text_files):
        records += apply_claims(load(path), values, path)[1]
    return records


def claims_markdown(records: list[dict]) -> str:
    lines = [
        "",
        "## Claims of the text files",
        "",
        "A sentence whose wording depends on the numbers declares its condition under `claims:` in its text file.",
        "",
        "| file:line | sentence | condition | holds | wording used |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['file']}:{r['line']} | `{r['text']}` | `{r['holds']}` | {'yes' if r['ok'] else 'no'} "
            f"({r['result']}) | {r['wording']} |"
        )
    if not records:
        lines.append("| – | – | – | – | – |")
    return "\n".join(lines) + "\n"


def list_variables(variables_json: Path, text_files: list[Path], md_path: Path) -> str:
    """results/report/variables.md: every variable, and every claim of the text files with whether it holds;
    the languages' text files are checked to match (nothing untranslated or missing). A failed claim without
    `otherwise:`, or a mismatch, raises ReportError. Returns a one-line summary."""
    import json

    from critmet.io import atomic_write_text
    from critmet.report.render import check_languages_match
    from critmet.report.text import load_text_file
    from critmet.report.variables import variables_markdown

    variables = json.loads(Path(variables_json).read_text(encoding="utf-8"))
    values = {name: item["value"] for name, item in variables.items()}
    records = collect_claims(text_files, values, load_text_file)
    check_languages_match([Path(t) for t in text_files], values)
    atomic_write_text(md_path, variables_markdown(variables) + claims_markdown(records))
    return f"{len(variables)} variables, {len(records)} claims ({sum(not r['ok'] for r in records)} use other wording)"
