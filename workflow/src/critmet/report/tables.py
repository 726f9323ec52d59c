"""Data the page templates place as text: summary tables, source lines, mineral chips, the data-notes appendix.

Numbers are formatted here, per language, from the cleaned data; templates only lay them out.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from critmet.editions import join_sources, table_sources
from critmet.io import load_yaml, read_json
from critmet.report.filters import num, signed
from critmet.validate import CodeList


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class DataTables:
    """The cleaned data, shared by both languages; `for_lang` gives the view a template uses."""

    def __init__(self, data_dir: Path, raw_dir: Path, codes: CodeList, config: dict):
        self.data_dir, self.raw_dir, self.codes, self.config = Path(data_dir), Path(raw_dir), codes, config
        self._meta: dict[str, dict] = {}
        self._checks = [read_json(p) for p in sorted((self.data_dir / "checks").glob("*.json"))]
        self._register = {f"{r['table']}:{r['item']}": r for r in _rows(self.raw_dir / "discrepancy_register.csv")}

    def meta(self, table: str) -> dict:
        if table not in self._meta:
            self._meta[table] = load_yaml(self.raw_dir / f"{table}.meta.yaml")
        return self._meta[table]

    def rows(self, table: str) -> list[dict]:
        return _rows(self.data_dir / f"{table}.csv")

    def metrics(self, dataset: str) -> dict[str, float]:
        return {r["metric"]: float(r["value"]) for r in _rows(self.data_dir / f"{dataset}_metrics.csv")}

    def for_lang(self, lang: str, labels: dict) -> LangView:
        return LangView(self, lang, labels)


@dataclass
class LangView:
    base: DataTables
    lang: str
    labels: dict

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
            for t in self._dataset_tables(page["summary"]["dataset"]):
                if t not in tables:
                    tables.append(t)
        tables.extend(t for t in page.get("tables", []) if t not in tables)
        return tables

    def _dataset_tables(self, dataset: str) -> list[str]:
        from critmet.clean import load_registry

        return load_registry()["datasets"][dataset]["tables"]

    def sources(self, tables: list[str]) -> list[str]:
        return table_sources(self.base.meta, tables, self.base.data_dir, self.lang)

    def join_sources(self, texts: list[str]) -> str:
        """Source lines as one line (critmet.editions.join_sources)."""
        return join_sources(texts, self.lang)

    def edition_sources(self, pages: list[dict], figs: dict, texts: dict, sections: tuple = ()) -> dict:
        """The closing page's list of where the figures come from: consecutive content pages with the same
        source lines form one row (page range, page titles, reference years of their tables, source lines),
        with the span of reference years and the number of source tables over them. `sections`: only the
        pages of these sections (all when empty)."""
        rows: list[dict] = []
        tables_used: list[str] = []
        for page in pages:
            if page.get("kind") != "content" or (sections and page.get("section") not in sections):
                continue
            tables = self.page_tables(page, figs)
            if not tables:
                continue
            tables_used.extend(t for t in tables if t not in tables_used)
            sources = self.sources(tables)
            years = sorted({int(self.base.meta(t)["reference_year"]) for t in tables})
            title = texts[page["id"]]["title"]
            last = rows[-1] if rows else None
            if last and last["sources"] == sources and last["last"] + 1 >= page["number"] - 1:
                last["last"] = page["number"]
                last["years"] = sorted(set(last["years"]) | set(years))
                if title not in last["titles"]:
                    last["titles"].append(title)
                continue
            rows.append(
                {"first": page["number"], "last": page["number"], "titles": [title], "years": years, "sources": sources}
            )
        for row in rows:
            row["pages"] = str(row["first"]) if row["first"] == row["last"] else f"{row['first']}–{row['last']}"
            row["year_text"] = "–".join(str(y) for y in row["years"][:: max(1, len(row["years"]) - 1)])
        years = sorted({y for row in rows for y in row["years"]})
        return {
            "rows": rows,
            "year_min": years[0] if years else None,
            "year_max": years[-1] if years else None,
            "tables": len(tables_used),
        }

    def data_notes(self) -> dict:
        """The optional appendix "Notes on the data" (config: appendix.data_notes): every entry of the
        discrepancy register, and each raw table's notes on how it was compiled, in this language.
        The slides themselves carry source lines and ordinary footnotes only."""
        register = []
        for entry in sorted(self.base._register.values(), key=lambda e: e["id"]):
            pages = [p for p in (entry.get("pages") or "").split(";") if p]
            register.append(
                {
                    "id": entry["id"],
                    "pages": ", ".join(pages) if pages else "–",
                    "printed": entry["printed"],
                    "computed": entry["computed"],
                    "reason": entry[f"reason_{self.lang}"],
                }
            )
        tables = []
        for path in sorted(self.base.raw_dir.glob("*.meta.yaml")):
            meta = self.base.meta(path.name[: -len(".meta.yaml")])
            notes = meta.get("notes")
            if isinstance(notes, dict) and notes.get(self.lang):
                page = meta.get("report_page") or 0
                tables.append({"page": page, "title": meta["title"][self.lang], "notes": notes[self.lang]})
        tables.sort(key=lambda t: (t["page"], t["title"]))
        return {"register": register, "tables": tables}

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
                {"name": self.name(g) if g else self._label("other"), "minerals": by_group[g]} for g in ordered
            ]
        return {"jurisdictions": jurisdictions, "groups": groups, "counts": counts, "list_names": list_names}

    # --------------------------------------------------------------------------- summary tables
    def _label(self, key: str) -> str:
        return self.labels[key]

    def supply_summary(self, spec: dict) -> dict:
        """The supply summary table: countries x the given years, and the change first -> last year."""
        dataset, years = spec["dataset"], spec["years"]
        metrics = self.base.metrics(dataset)
        meta = self.base.meta(dataset)
        codes = list(dict.fromkeys(r["country"] for r in self.base.rows(dataset)))
        header = [self._label("region")] + [str(y) for y in years] + [self._diff_label(years[0], years[-1])]
        rows = []
        for code in codes + ["TOTAL"]:
            key = "total_{y}" if code == "TOTAL" else f"value_{code}_{{y}}"
            values = [metrics.get(key.format(y=y)) for y in years]
            label = self._label("total") if code == "TOTAL" else self.name(code)
            cells = [num(v, 1) if v is not None else "–" for v in values]
            change = signed(values[-1] - values[0], 1) if None not in (values[0], values[-1]) else "–"
            rows.append({"cells": [label, *cells, change], "cls": "total" if code == "TOTAL" else ""})
        return {"header": header, "rows": rows, "caption": self._caption(meta)}

    def demand_summary(self, spec: dict) -> dict:
        """The demand table: segments (grouped where the report groups them) x years, and the change
        from the first projected... to the last year, plus qualitative device rows where given."""
        dataset, years = spec["dataset"], spec["years"]
        metrics = self.base.metrics(dataset)
        meta = self.base.meta(dataset)
        column = "segment" if "segment" in self.base.rows(dataset)[0] else "sector"
        codes = list(dict.fromkeys(r[column] for r in self.base.rows(dataset)))
        groups = spec.get("groups", {})
        diff_from = years[1] if len(years) == 3 else years[0]
        header = [self._label("segment")] + [str(y) for y in years] + [self._diff_label(diff_from, years[-1])]
        rows = []

        def row(key: str, label: str, cls: str) -> dict:
            values = [metrics.get(key.format(y=y)) for y in years]
            first = values[years.index(diff_from)]
            change = signed(values[-1] - first, 1) if None not in (first, values[-1]) else "–"
            return {
                "cells": [label, *[num(v, 1) if v is not None else "–" for v in values], change],
                "cls": cls,
            }

        grouped = {m for members in groups.values() for m in members}
        for name, members in groups.items():
            rows.append(row(f"value_{name}_{{y}}", self.name(name), "group"))
            rows.extend(row(f"value_{m}_{{y}}", self.name(m), "sub") for m in members)
        rows.extend(row(f"value_{c}_{{y}}", self.name(c), "") for c in codes if c not in grouped)
        rows.append(row("total_{y}", self._label("total"), "total"))
        if "levels" in spec:
            levels = self.base.rows(spec["levels"])
            for device in dict.fromkeys(r["device"] for r in levels):
                mine = {int(r["year"]): r for r in levels if r["device"] == device}
                label = device if self.lang == "ja" else next(iter(mine.values()))["device_en"]
                cells = [self.name(mine[y]["level"]) if y in mine else "–" for y in years]
                rows.append({"cells": [label, *cells, ""], "cls": "sub level"})
        return {"header": header, "rows": rows, "caption": self._caption(meta)}

    def _caption(self, meta: dict) -> str:
        unit = meta["unit"][self.lang]
        return f"{meta['title'][self.lang]}（{unit}）" if self.lang == "ja" else f"{meta['title']['en']} ({unit})"

    def _diff_label(self, start, end) -> str:
        return self._label("difference_span").format(start=start, end=end)
