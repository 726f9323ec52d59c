"""Technology-trend pages (EU, US, China): R&D by value-chain stage for the six minerals.

One figure per region, two panels sharing the mineral rows (code-list order Ga, Ge, Mg, Ti, W, REE, top to
bottom): left, 100% stacked bars of the printed stage shares; right, the number of projects.

* The printed shares are rounded, so a row adds up to 99-101. A complete row is drawn scaled to fill exactly
  100% (each segment keeps its printed label); the scale is recorded in `values`.
* A share whose `status` is 'estimated' (US REE: the 4% and 2% whose stages the print does not tell apart,
  assigned as the table's metadata explains) is drawn in a lighter tone of its stage colour and marked 'e';
  one line under the legend explains the mark.
* A stage with no row in the table has no classification (0%), as the table's metadata says.
"""

from __future__ import annotations

import math

from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from critmet.figures.common import Drawn, FigureData, lighter
from critmet.figures.style import Style
from critmet.report.filters import num

FIGURE_REGION = {"tech_trends_eu": "EUR", "tech_trends_us": "US", "tech_trends_cn": "CN"}
LABEL_IN_SEGMENT = 8.0  # %: printed shares at least this wide carry their value inside the segment
TABLES = ["tech_stage_shares", "tech_projects"]


def text_on(color: str, style: Style) -> str:
    """White on a dark fill, ink on a light one."""
    r, g, b = to_rgb(color)
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.6 else style.config["colors"]["ink"]


def mineral_label(code: str, style: Style, width: int) -> str:
    return style.label(
        "bars_common.mineral_row",
        symbol=style.label(f"bars_common.symbol.{code}"),
        name=style.wrap(style.name(code), width),
    )


def region_rows(data: FigureData, region: str, style: Style) -> tuple[list[str], dict, dict, dict]:
    """Minerals in code-list order; per mineral the shares, the stages whose share is an estimate, and the
    project count."""
    shares = data.table("tech_stage_shares")
    shares = shares[shares["region"] == region]
    projects = data.table("tech_projects")
    projects = projects[projects["region"] == region].set_index("mineral")["projects"]
    present = set(shares["mineral"]) | set(projects.index)
    minerals = [m for m in style.order("mineral") if m in present]
    stages = style.order("tech_stage")
    unknown_stage = set(shares["stage"]) - set(stages)
    if unknown_stage:
        raise ValueError(f"tech_stage_shares: stages {sorted(unknown_stage)} are not in codes/tech_stage.csv")
    if "status" not in shares:
        shares = shares.assign(status="reported")
    known: dict[str, dict[str, float]] = {}
    estimated: dict[str, list[str]] = {}
    for m in minerals:
        rows = shares[shares["mineral"] == m].set_index("stage")
        known[m] = {s: float(rows.loc[s, "share_pct"]) for s in stages if s in rows.index}
        estimated[m] = [s for s in stages if s in rows.index and rows.loc[s, "status"] == "estimated"]
    counts = {m: int(projects[m]) for m in minerals}
    return minerals, known, estimated, counts


def _fit_left_margin(fig: Figure, ax, left: float, width: float) -> None:
    """Widen the left margin so that the longest mineral label fits inside the figure (the right end of
    the panel stays where it is)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig_w = fig.get_size_inches()[0]
    widest = max((t.get_window_extent(renderer).width / fig.dpi for t in ax.get_yticklabels()), default=0.0)
    needed = (widest + 4 / 72 + 0.06) / fig_w  # label, tick pad, margin to the figure edge
    if needed > left:
        pos = ax.get_position()
        ax.set_position((needed, pos.y0, left + width - needed, pos.height))


def draw_region(region: str, minerals, known, estimated, counts, style: Style) -> tuple[Figure, dict]:
    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    stages = style.order("tech_stage")
    fig = Figure(figsize=style.size("wide"))
    fig_w, fig_h = fig.get_size_inches()
    ncol = 3 if style.lang == "ja" else 2  # legend columns (the chart is 4.75 in wide; English names are longer)
    any_estimate = any(estimated[m] for m in minerals)
    # + one row for the line that explains the estimate mark (kept when there is none: the same layout)
    legend_rows = math.ceil(len(stages) / ncol) + 1
    row_in = 0.19  # height of one legend row, inches
    bottom_in = 0.10 + row_in * legend_rows + 0.34  # legend, then room for the x tick labels
    top_in = 0.34  # panel titles
    left, bottom, height = 0.165, bottom_in / fig_h, (fig_h - bottom_in - top_in) / fig_h
    ax = fig.add_axes((left, bottom, 0.535, height))
    axn = fig.add_axes((0.77, bottom, 0.2, height), sharey=ax)  # a clear gap: "100%" and "0" never meet
    ys = {m: i for i, m in enumerate(minerals)}
    drawn: dict[str, dict] = {}
    for m in minerals:
        y = ys[m]
        total = sum(known[m].values())
        scale = 100.0 / total if total > 0 else 1.0
        x = 0.0
        segments = {}
        marked: list[tuple[float, float]] = []  # estimated segments too thin to carry their value
        for s in stages:
            if s not in known[m]:
                continue
            width = known[m][s] * scale
            est = s in estimated[m]
            color = lighter(style.color(s)) if est else style.color(s)
            bar = ax.barh(y, width, left=x, height=0.62, color=color, edgecolor="white", linewidth=0.6)
            bar.patches[0].set_gid(f"share:{m}:{s}")
            if known[m][s] >= LABEL_IN_SEGMENT:
                ax.text(
                    x + width / 2,
                    y,
                    f"{num(known[m][s])}%" + ("e" if est else ""),
                    ha="center",
                    va="center",
                    fontsize=small,
                    color=text_on(color, style),
                    gid=f"label:{m}:{s}",
                )
            elif est:
                marked.append((x, x + width))
            segments[s] = width
            x += width
        if marked:  # one 'e' above the thin estimated segments of the row
            ax.text(
                (marked[0][0] + marked[-1][1]) / 2,
                y - 0.31,
                "e",
                ha="center",
                va="bottom",
                fontsize=small - 1,
                color=colors["ink"],
                gid=f"estimate:{m}",
            )
        drawn[m] = {"scale": round(scale, 6), "widths": {k: round(v, 6) for k, v in segments.items()}}
    ax.set_xlim(0, 100)
    ax.set_ylim(len(minerals) - 0.5, -0.5)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xticklabels([f"{v}%" for v in (0, 25, 50, 75, 100)])
    ax.set_yticks(range(len(minerals)))
    width = 8 if style.lang == "ja" else 12  # "Rare earth / elements": the panel keeps its width
    ax.set_yticklabels([mineral_label(m, style, width) for m in minerals], linespacing=1.0)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.tick_params(axis="x", length=2)
    ax.spines["left"].set_visible(False)
    _fit_left_margin(fig, ax, left, 0.70 - left)
    ax.set_title(
        style.label("bars_tech.shares_panel"),
        loc="left",
        fontsize=style.config["font"]["size"],
        fontweight="bold",
        color=colors["ink"],
    )
    # project counts
    top = max(counts.values()) if counts else 1
    for m in minerals:
        bar = axn.barh(ys[m], counts[m], height=0.62, color=colors["muted"])  # neutral: not a stage colour
        bar.patches[0].set_gid(f"projects:{m}")
        axn.text(
            counts[m] + top * 0.03,
            ys[m],
            num(counts[m]),
            ha="left",
            va="center",
            fontsize=small,
            color=colors["ink"],
            gid=f"count:{m}",
        )
    axn.set_xlim(0, top * 1.22)
    axn.tick_params(axis="y", left=False, labelleft=False)
    axn.tick_params(axis="x", length=2)
    axn.spines["left"].set_color(colors["muted"])
    axn.set_title(
        style.label("bars_tech.projects_panel"),
        loc="left",
        fontsize=style.config["font"]["size"],
        fontweight="bold",
        color=colors["ink"],
    )
    # legend of stages (all six, so a colour means the same stage on every page), then the estimate mark
    handles = [Patch(facecolor=style.color(s), edgecolor="none", label=style.name(s)) for s in stages]
    nrows = math.ceil(len(handles) / ncol)
    ordered = [handles[r * ncol + c] for c in range(ncol) for r in range(nrows) if r * ncol + c < len(handles)]
    legend_top = (0.10 + row_in * legend_rows) / fig_h
    common = {
        "loc": "upper left",
        "frameon": False,
        "fontsize": small,
        "handlelength": 1.0,
        "handleheight": 0.9,
        "handletextpad": 0.4,
        "borderaxespad": 0.0,
        "borderpad": 0.0,
        "labelspacing": 0.45,
    }
    fig.legend(handles=ordered, bbox_to_anchor=(left - 0.005, legend_top), ncol=ncol, columnspacing=1.2, **common)
    if any_estimate:
        fig.text(
            left - 0.005,
            legend_top - row_in * (nrows + 0.25) / fig_h,
            style.label("bars_tech.estimated"),
            ha="left",
            va="top",
            fontsize=small - 0.5,
            color=colors["muted"],
        )
    return fig, drawn


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    sep = style.label("list_sep")
    out = {}
    for name in figures:
        region = FIGURE_REGION[name]
        minerals, known, estimated, counts = region_rows(data, region, style)
        fig, drawn = draw_region(region, minerals, known, estimated, counts, style)
        region_name = style.name(region)
        rows = []
        for m in minerals:
            parts = [
                style.label(
                    "bars_common.part", name=style.name(s), value=f"{num(v)}%" + (" e" if s in estimated[m] else "")
                )
                for s, v in known[m].items()
            ]
            rows.append(
                style.label("bars_tech.alt_row", mineral=style.label(f"bars_common.symbol.{m}"), parts=sep.join(parts))
            )
        projects = sep.join(
            style.label("bars_tech.alt_count", mineral=style.label(f"bars_common.symbol.{m}"), count=num(counts[m]))
            for m in minerals
        )
        alt = style.label("bars_tech.alt", region=region_name, shares=sep.join(rows), projects=projects)
        title = style.label("bars_tech.title", region=region_name)
        values = {
            "minerals": minerals,
            "shares": {m: known[m] for m in minerals},
            "estimated": {m: estimated[m] for m in minerals if estimated[m]},
            "drawn": drawn,
            "projects": counts,
        }
        out[name] = Drawn(fig, title, alt, TABLES, values=values)
    return out
