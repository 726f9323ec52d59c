"""What every figure family shares: loading cleaned data, drawing in each language, deterministic saving."""

from __future__ import annotations

import importlib
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from critmet.editions import join_sources, table_sources
from critmet.figures.style import Style
from critmet.io import atomic_write_bytes, atomic_write_text, load_yaml, write_json
from critmet.validate import CodeList, load_codes


@dataclass
class Drawn:
    """One drawn figure in one language, with the text that travels with it."""

    fig: Figure
    title: str
    alt: str
    sources: list[str]  # raw tables whose metadata gives the source line
    values: dict = field(default_factory=dict)  # the numbers drawn, for the metadata file


@dataclass
class FigureData:
    """The cleaned tables, metrics and raw metadata a figure family reads."""

    data_dir: Path
    raw_dir: Path
    codes: CodeList
    _cache: dict = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = pd.read_csv(self.data_dir / f"{name}.csv", keep_default_na=True)
        return self._cache[name].copy()

    def metrics(self, dataset: str) -> dict[str, float]:
        frame = self.table(f"{dataset}_metrics")
        return dict(zip(frame["metric"], frame["value"], strict=True))

    def meta(self, table: str) -> dict:
        key = f"meta:{table}"
        if key not in self._cache:
            self._cache[key] = load_yaml(self.raw_dir / f"{table}.meta.yaml")
        return self._cache[key]


def load_labels(text_dir: Path, lang: str) -> dict:
    """The figure labels of a language: templates/text/<lang>/figures*.yaml merged (a key defined twice raises)."""
    labels: dict = {}
    for path in sorted((Path(text_dir) / lang).glob("figures*.yaml")):
        for key, value in (load_yaml(path) or {}).items():
            if key in labels:
                raise ValueError(f"{path}: figure label group '{key}' is already defined in another figures*.yaml")
            labels[key] = value
    return labels


def source_line(data: FigureData, tables: list[str], lang: str) -> str:
    """'出所：…' / 'Source: …' from the metadata of the tables drawn; each source once, in order."""
    return join_sources(table_sources(data.meta, tables, data.data_dir, lang), lang)


_STYLE_ATTR = re.compile(r'style="([^"]*)"')


def _presentation_attributes(match: re.Match) -> str:
    """style="fill: #fff; stroke: none" -> fill="#fff" stroke="none" (the same rendering; WeasyPrint then
    skips a CSS parse for each of the thousands of elements, which halves the time to draw the figures)."""
    decls = (d.split(":", 1) for d in match.group(1).split(";") if ":" in d)
    return " ".join(f'{k.strip()}="{v.strip()}"' for k, v in decls)


def svg_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return _STYLE_ATTR.sub(_presentation_attributes, buf.getvalue().decode("utf-8")).encode("utf-8")


def save_figure(fig: Figure, svg_path: Path, png_path: Path, dpi: int) -> None:
    """SVG (vector, for the PDF) and, unless `dpi` is 0, PNG; byte-identical for the same inputs."""
    atomic_write_bytes(svg_path, svg_bytes(fig))
    if not dpi:
        return
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    atomic_write_bytes(png_path, buf.getvalue())


def family_module(family: str):
    return importlib.import_module(f"critmet.figures.{family}")


def enforce_type_floor(fig: Figure, floor: float) -> int:
    """Raise every text of the figure smaller than `floor` points to `floor` (the figure is placed at its
    natural size, so this is the printed size). Returns how many texts were raised."""
    from matplotlib.text import Text

    raised = 0
    for text in fig.findobj(Text):
        if text.get_text().strip() and text.get_visible() and text.get_fontsize() < floor - 1e-9:
            text.set_fontsize(floor)
            raised += 1
    return raised


def fit_inside(fig: Figure, pad_in: float = 0.04, rounds: int = 3) -> None:
    """Keep every text inside the figure box (the page clips a chart at its box): where labels, ticks or a
    legend reach past an edge, the axes are moved and shrunk so that the whole drawing fits, by up to
    `rounds` passes. Texts placed in figure coordinates keep their place."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    renderer = FigureCanvasAgg(fig).get_renderer()
    width, height = fig.get_size_inches()
    for _ in range(rounds):
        box = fig.get_tightbbox(renderer)
        if box is None:
            return
        x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
        if x0 >= -1e-3 and y0 >= -1e-3 and x1 <= width + 1e-3 and y1 <= height + 1e-3:
            return
        sx = (width - 2 * pad_in) / max(x1 - x0, 1e-6) if (x0 < 0 or x1 > width) else 1.0
        sy = (height - 2 * pad_in) / max(y1 - y0, 1e-6) if (y0 < 0 or y1 > height) else 1.0
        ox = pad_in - x0 * sx if sx != 1.0 else 0.0
        oy = pad_in - y0 * sy if sy != 1.0 else 0.0
        for ax in fig.axes:
            p = ax.get_position()
            ax.set_position(
                Bbox.from_extents(
                    (p.x0 * width * sx + ox) / width,
                    (p.y0 * height * sy + oy) / height,
                    (p.x1 * width * sx + ox) / width,
                    (p.y1 * height * sy + oy) / height,
                )
            )


@contextmanager
def type_floor(floor: float):
    """While figures are drawn, no font is smaller than `floor` points: a size asked for below it is raised
    when the text is made, so every layout step (legend widths, label fitting, spacing) measures the text
    at the size it is printed."""
    from matplotlib.font_manager import FontProperties

    original = FontProperties.set_size

    def set_size(self, size):
        original(self, size)
        if self.get_size_in_points() < floor - 1e-9:
            original(self, floor)

    FontProperties.set_size = set_size
    try:
        yield
    finally:
        FontProperties.set_size = original


def draw_family(module: str, data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    """Draw the named figures of a family module in one language (inside the style context); no chart
    text is smaller than the style's floor."""
    with style.context(), type_floor(style.config["font"]["floor"]):
        drawn = family_module(module).draw(data, style, figures)
        for item in drawn.values():
            enforce_type_floor(item.fig, style.config["font"]["floor"])
            fit_inside(item.fig)
    return drawn


def plot_family(module: str, figures: list[str], data_dir, raw_dir, text_dir, out_dir, langs, dpi=110) -> None:
    """Draw and save every figure of a family in each language, plus one bilingual metadata file each."""
    import matplotlib.pyplot as plt

    data_dir, raw_dir, text_dir, out_dir = map(Path, (data_dir, raw_dir, text_dir, out_dir))
    data = FigureData(data_dir, raw_dir, load_codes(raw_dir / "codes"))
    meta: dict[str, dict] = {}
    for lang in langs:
        style = Style(lang, data.codes, load_labels(text_dir, lang))
        drawn = draw_family(module, data, style, figures)
        if sorted(drawn) != sorted(figures):
            raise ValueError(f"{module} drew {sorted(drawn)}, but the registry lists {sorted(figures)}")
        for name, item in drawn.items():
            with style.context():
                save_figure(item.fig, out_dir / lang / f"{name}.svg", out_dir / lang / f"{name}.png", dpi)
            plt.close(item.fig)
            entry = meta.setdefault(
                name,
                {
                    "id": name,
                    "module": module,
                    "title": {},
                    "alt": {},
                    "source": {},
                    "tables": item.sources,
                    "values": item.values,
                },
            )
            entry["title"][lang] = item.title
            entry["alt"][lang] = item.alt
            entry["source"][lang] = source_line(data, item.sources, lang)
    for name, entry in meta.items():
        write_json(out_dir / "meta" / f"{name}.json", entry)
        atomic_write_text(out_dir / "meta" / f"{name}.rst", caption_rst(entry))


def caption_rst(entry: dict) -> str:
    """The figure's caption for Snakemake's provenance report: title, source and alt text in each language."""
    lines = []
    for lang in entry["title"]:
        lines += [
            f"**{entry['title'][lang]}** ({lang})",
            "",
            f"Source: {entry['source'][lang]}",
            "",
            f"Alt text: {entry['alt'][lang]}",
            "",
        ]
    lines.append(f"Drawn by ``critmet.figures.{entry['module']}`` from the tables {', '.join(entry['tables'])}.")
    return "\n".join(lines) + "\n"


ESTIMATE_TONE = 0.5  # an estimated segment is its colour mixed this much with white (USGS marks estimates "e")


def lighter(color: str, amount: float = ESTIMATE_TONE) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return tuple(c + (1.0 - c) * amount for c in to_rgb(color))


def stack_bars(ax, xs, layers, style, width: float = 0.72, label_min: float | None = None, zorder: int = 2, marks=None):
    """Stacked bars, one layer per category code (colour and name from the style); a segment at least
    `label_min` tall carries its value. A layer may carry a third item, a mask of estimated segments: those are
    drawn in a lighter tone and marked "e" (with their value where labelled). Returns ({code: heights drawn},
    the running top of the stack); the estimated segments are appended to `marks` as (code, bar index)."""
    import numpy as np

    from critmet.report.filters import num

    bottom = np.zeros(len(xs))
    drawn: dict[str, list[float]] = {}
    marked: list[tuple[str, int]] = [] if marks is None else marks
    unlabelled: dict[int, list[tuple[float, float]]] = {}
    small = style.config["font"]["small_size"]
    for layer in layers:
        code, heights = layer[0], np.asarray(layer[1], dtype=float)
        est = np.asarray(layer[2], dtype=bool) if len(layer) > 2 else np.zeros(len(xs), dtype=bool)
        ax.bar(
            xs,
            np.where(est, 0.0, heights),
            bottom=bottom,
            width=width,
            color=style.color(code),
            label=style.name(code),
            edgecolor="white",
            linewidth=0.3,
            zorder=zorder,
        )
        if est.any():
            ax.bar(
                xs,
                np.where(est, heights, 0.0),
                bottom=bottom,
                width=width,
                color=lighter(style.color(code)),
                label="_estimated",
                edgecolor="white",
                linewidth=0.3,
                zorder=zorder,
            )
        for i, (x, b, h) in enumerate(zip(xs, bottom, heights, strict=True)):
            labelled = label_min is not None and h >= label_min
            if labelled:
                ax.text(
                    x,
                    b + h / 2,
                    num(h) + ("e" if est[i] else ""),
                    ha="center",
                    va="center",
                    color=style.config["colors"]["ink"] if est[i] else "white",
                    fontsize=small - 1.3,
                )
            elif est[i] and h > 0:
                unlabelled.setdefault(i, []).append((b, b + h))
            if est[i] and h > 0:
                marked.append((code, i))
        drawn[code] = [float(h) for h in heights]
        bottom = bottom + heights
    for i, spans in unlabelled.items():  # one "e" beside each bar, level with its unlabelled estimated segments
        low, high = min(s[0] for s in spans), max(s[1] for s in spans)
        ax.annotate(
            "e",
            (xs[i] + width / 2, (low + high) / 2),
            xytext=(1.5, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=small - 2,
            color=style.config["colors"]["ink"],
        )
    return drawn, bottom


def estimate_note(fig, style, key: str, x: float = 0.01, y: float = 0.01, ha: str = "left") -> None:
    """The one footnote line that explains the estimate marking."""
    fig.text(
        x,
        y,
        style.label(key),
        ha=ha,
        va="bottom",
        fontsize=style.config["font"]["small_size"] - 1.2,
        color=style.config["colors"]["muted"],
    )


def no_remainder(rest, what: str, tolerance: float = 1e-6) -> None:
    """A stack is drawn from complete data only: every cell of the tables it draws holds a value (estimates
    marked as such), which validation enforces (the value columns are not nullable). A part of a stack that no
    category can be given is therefore a bug, not something to draw."""
    import numpy as np

    worst = float(np.max(np.abs(np.asarray(rest, dtype=float)), initial=0.0))
    if worst > tolerance:
        raise ValueError(f"{what}: {worst:.6g} of a stack has no category; the cleaned data should be complete")
