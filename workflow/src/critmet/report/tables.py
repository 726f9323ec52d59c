"""Data the page templates place as text: summary tables, source lines, discrepancy notes, mineral chips.

Numbers are formatted here, per language, from the cleaned data; templates only lay them out.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from critmet.io import load_yaml, read_json
from critmet.report.filters import num, signed
from critmet.validate import CodeList


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _float(text):
    return None if text in ("", None) else float(text)


class DataTables:
    """The cleaned data, shared by both languages; `for_lang` gives the view a template uses."""

    def __init__(self, data_dir: Path, raw_dir: Path, codes: CodeList, config: dict):
        self.data_dir, self.raw_dir, self.codes, self.config = Path(data_dir), Path(raw_dir), codes, config
        self._meta: dict[str, dict] = {}
        self._checks = [read_json(p) for p in sorted((self.data_dir / "checks").glob("*.json"))]
        self._register = {
            f"{r['table']}:{r['item']}": r for r in _rows(self.raw_dir / "discrepancy_register.csv")
        }

    def meta(self, table: str) -> dict:
        if table not in self._meta:
            self._meta[table] = load_yaml(self.raw_dir / f"{table}.meta.yaml")
        return self._meta[table]

    def rows(self, table: str) -> list[dict]:
        return _rows(self.data_dir / f"{table}.csv")

    def metrics(self, dataset: str) -> dict[str, float]:
        return {r["metric"]: float(r["value"]) for r in _rows(self.data_dir / f"{dataset}_metrics.csv")}

    def for_lang(self, lang: str) -> LangView:
        return LangView(self, lang)


@dataclass
class LangView:
    base: DataTables
    lang: str

    @property
    def colon(self) -> str:
        return "：" if self.lang == "ja" else ": "

    @property
    def list_sep(self) -> str:
        return "；" if self.lang == "ja" else "; "

    @property
    def document_date(self) -> str:
        date = dt.date.fromisoformat(self.base.config["document_date"])
        return f"{date.year}年{date.month}月" if self.lang == "ja" else date.strftime("%B %Y")

    def name(self, code: str) -> str:
        return self.base.codes.name(code, self.lang)

    # ----------------------------------------------------------------------------- blocks helpers
    @staticmethod
    def kind_ids(blocks: dict, kind: str) -> list[str]:
        return [k for k, b in (blocks or {}).items() if b.get("kind") == kind]

    def callout_ids(self, blocks: dict) -> list[str]:
        return self.kind_ids(blocks, "callouts")

    # ---------------------------------------------------------------------- sources and footnotes
    def page_tables(self, page: dict, figs: dict) -> list[str]:
        tables: list[str] = []
        for fig in page.get("figures", []):
            tables.extend(t for t in figs[fig]["tables"] if t not in tables)
        if "summary" in page:
            for t in self._dataset_tables(page["summary"]):
                if t not in tables:
                    tables.append(t)
        tables.extend(t for t in page.get("tables", []) if t not in tables)
        return tables

    def _dataset_tables(self, dataset: str) -> list[str]:
        from critmet.clean import load_registry

        return load_registry()["datasets"][dataset]["tables"]

    def sources(self, tables: list[str]) -> list[str]:
        out: list[str] = []
        for table in tables:
            text = self.base.meta(table)["source"][self.lang]
            if text not in out:
                out.append(text)
        return out

    def discrepancies(self, tables: list[str]) -> list[str]:
        """One sentence per registered inconsistency of these tables, from the register (reason in this language)."""
        out = []
        for key, entry in sorted(self.base._register.items()):
            if entry["table"] in tables:
                printed, computed = entry["printed"], entry.get("computed") or ""
                reason = entry[f"reason_{self.lang}"]
                if self.lang == "ja":
                    values = f"原本の表示値 {printed}" + (f"／再計算値 {computed}" if computed else "")
                    out.append(f"{reason}（{values}）")
                else:
                    values = f"printed {printed}" + (f", recomputed {computed}" if computed else "")
                    out.append(f"{reason} ({values})")
        return out

    # ------------------------------------------------------------------------- policy overview
    def critical_minerals(self) -> dict:
        """Mineral chips by jurisdiction and use group, with counts, from critical_minerals."""
        rows = self.base.rows("critical_minerals")
        jurisdictions = list(dict.fromkeys(r["jurisdiction"] for r in rows))
        groups: dict[str, list[dict]] = {}
        counts: dict[str, int] = {}
        list_names: dict[str, str] = {}
        for j in jurisdictions:
            mine = [r for r in rows if r["jurisdiction"] == j]
            counts[j] = len(mine)
            list_names[j] = (
                self.name(mine[0]["list"]) if mine[0]["list"] in self.base.codes.entries else mine[0]["list"]
            )
            by_group: dict[str, list[str]] = {}
            for r in mine:
                by_group.setdefault(r["use_group"] or "", []).append(r["mineral"])
            ordered = [g for g in self.base.codes.entries if g in by_group] + ([""] if "" in by_group else [])
            groups[j] = [
                {"name": self.name(g) if g else self._label_other(), "minerals": by_group[g]} for g in ordered
            ]
        return {"jurisdictions": jurisdictions, "groups": groups, "counts": counts, "list_names": list_names}

    def _label_other(self) -> str:
        return "その他" if self.lang == "ja" else "Other"

    # --------------------------------------------------------------------------- summary tables
    def supply_summary(self, dataset: str) -> dict:
        """The supply summary table (countries x start/end years and the difference), from the metrics."""
        table = (
            self.base._dataset_tables_name(dataset) if hasattr(self.base, "_dataset_tables_name") else dataset
        )
        metrics = self.base.metrics(dataset)
        meta = self.base.meta(table)
        years = meta["summary"]["years"]
        codes = meta["summary"]["rows"]
        unit = meta["unit"][self.lang]
        header = [self._word("region")] + [str(y) for y in years] + [self._diff_label(years[0], years[-1])]
        rows = []
        for code in codes + ["TOTAL"]:
            values = [
                metrics[f"total_{y}"] if code == "TOTAL" else metrics[f"value_{code}_{y}"] for y in years
            ]
            label = self._word("total") if code == "TOTAL" else self.name(code)
            rows.append([label] + [num(v, 1) for v in values] + [signed(values[-1] - values[0], 1)])
        caption = (
            meta["title"][self.lang] + f"（{unit}）"
            if self.lang == "ja"
            else meta["title"]["en"] + f" ({unit})"
        )
        return {"header": header, "rows": rows, "caption": caption}

    def _diff_label(self, start, end) -> str:
        return f"差分（{start}→{end}）" if self.lang == "ja" else f"Change {start}→{end}"

    def _word(self, key: str) -> str:
        words = {
            "region": ("国・地域", "Country/region"),
            "total": ("合計", "Total"),
            "sector": ("区分", "Segment"),
        }
        return words[key][0 if self.lang == "ja" else 1]
