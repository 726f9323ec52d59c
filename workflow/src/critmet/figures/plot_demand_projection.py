"""Demand projections: stacked bars by segment/sector, actual years set apart from projected ones, total
labels, CAGR arrows for the periods the report annotates (rates computed from the data), and the 100% strip
of shares by use."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from critmet.figures.common import Drawn, FigureData, estimate_note, lighter, no_remainder, stack_bars
from critmet.figures.plot_supply_bars import fit_share_strip, printed_cagr_periods, share_bars, x_positions
from critmet.figures.style import Style
from critmet.report.filters import num

DATASETS = {
    "ga": ("ga_demand", "segment", "ga_segment", "t"),
    "mg": ("mg_demand", "sector", "mg_sector", "kt"),
}


def _categories(frame, column: str, kind: str, style: Style) -> list[str]:
    present = set(frame[column])
    return [c for c in style.order(kind) if c in present]


def _layer(demand, column: str, code: str, years: list[int], value: str):
    """One segment's heights by year and which of them are estimates (the table's `value_status` column)."""
    rows = demand[demand[column] == code].set_index("year").reindex(years)
    est = rows["value_status"].eq("estimated").to_numpy() if "value_status" in rows else np.zeros(len(years), bool)
    return code, rows[value].fillna(0.0).to_numpy(), est


def draw_bars(mineral: str, data: FigureData, style: Style) -> tuple[Figure, dict]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    table, column, kind, unit = DATASETS[mineral]
    demand = data.table(table)
    series = data.table(f"{table}_series").set_index("year")
    metrics = data.metrics(table)
    years = list(series.index)
    pos = x_positions(years)
    xs = np.array([pos[y] for y in years])
    value = f"value_{unit}"
    fig = Figure(figsize=style.size(f"{table}_bars", "supply"))  # a page may size its own chart (style.yaml)
    ax = fig.add_axes((0.11, 0.24, 0.87, 0.72))
    projected = [pos[y] for y in years if series.loc[y, "status"] == "projection"]
    if projected:
        ax.axvspan(
            min(projected) - 0.6,
            max(projected) + 0.6,
            color=style.config["colors"]["projection_bg"],
            zorder=0,
        )
    layers = [_layer(demand, column, code, years, value) for code in _categories(demand, column, kind, style)]
    marks: list = []
    drawn, bottom = stack_bars(ax, xs, layers, style, width=0.7, marks=marks)
    # years with a total only (no split by use published): one neutral bar of the total, not an empty stack
    total_only = (series["assigned"] <= 1e-9).to_numpy()
    if total_only.any():
        heights = np.where(total_only, series["total"].to_numpy(), 0.0)
        ax.bar(
            xs,
            heights,
            bottom=bottom,
            width=0.7,
            color=lighter(style.config["colors"]["muted"], 0.8),
            edgecolor=style.config["colors"]["muted"],
            linewidth=0.8,
            zorder=2,
            label=style.label("demand.total_only"),
        )
        drawn["total_only"] = [float(h) for h in heights]
    no_remainder(np.where(total_only, 0.0, series["undetermined"].to_numpy()), "the split of demand by use")
    if marks:
        estimate_note(fig, style, "demand.estimated", y=0.965)
    totals = series["total"].to_numpy()
    small = style.config["font"]["small_size"]
    for x, t in zip(xs, totals, strict=True):
        ax.text(x, t + totals.max() * 0.015, num(t), ha="center", va="bottom", fontsize=small - 1.2, zorder=3)
    top = totals.max()
    for k, (start, end) in enumerate(printed_cagr_periods(data.meta(table))):
        rate = metrics[f"cagr_{start}_{end}"]
        y0, y1 = series.loc[start, "total"], series.loc[end, "total"]
        lift = top * (0.1 + 0.04 * (k % 2))
        # raised further where a year inside the span stands above the straight line: the arrow passes over
        # every value label (a label is about 0.07 of the tallest bar high at this size), never through one
        inside = [y for y in years if start < y < end]
        for y in inside:
            line = y0 + (y1 - y0) * (pos[y] - pos[start]) / (pos[end] - pos[start])
            lift = max(lift, series.loc[y, "total"] + top * 0.1 - line)
        # the last arrow's head stops left of the final year's value label (a steep arrow ending over the
        # bar's centre runs into the label's first digit: "955" on p.28); a middle arrow ends where the next
        # one starts, well above its bar
        ax.annotate(
            "",
            xy=(pos[end] - (0.45 if end == years[-1] else 0.0), y1 + lift),
            xytext=(pos[start], y0 + lift),
            arrowprops={"arrowstyle": "-|>", "color": style.config["colors"]["accent"], "lw": 1.1},
            zorder=4,
        )
        span_top = max(series.loc[y, "total"] for y in years if start <= y <= end)  # the value labels below
        ax.text(
            (pos[start] + pos[end]) / 2,
            max((y0 + y1) / 2 + lift + top * 0.03, span_top + top * 0.1),
            style.label("demand.cagr", start=start, end=end, rate=num(rate, 1)),
            ha="center",
            va="bottom",
            fontsize=small - 0.3,
            color=style.config["colors"]["accent"],
            fontweight="bold",
            zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9},
        )
    first_projection = min((y for y in years if series.loc[y, "status"] == "projection"), default=None)
    ax.set_ylim(0, top * 1.32)
    if first_projection is not None:
        ax.text(
            pos[years[0]],
            top * 1.27,
            style.label("demand.actual"),
            fontsize=small,
            color=style.config["colors"]["muted"],
        )
        ax.text(
            pos[first_projection] - 0.5,
            top * 1.27,
            style.label("demand.projection"),
            fontsize=small,
            color=style.config["colors"]["muted"],
        )
    ax.set_xticks(xs)
    ax.set_xticklabels([str(y) for y in years], fontsize=small - 1, rotation=90 if len(years) > 12 else 0)
    ax.set_ylabel(style.label("demand.axis", unit=unit))
    ax.grid(axis="y", color=style.config["colors"]["grid"], lw=0.5)
    ax.set_axisbelow(True)
    for ncol in (3, 2):  # three columns if they fit the figure's width
        legend = fig.legend(
            loc="lower center",
            ncol=ncol,
            fontsize=small - 0.8,
            bbox_to_anchor=(0.55 if ncol == 3 else 0.5, 0.0),
            handlelength=1.0,
            columnspacing=0.8,
        )
        box = legend.get_window_extent(FigureCanvasAgg(fig).get_renderer())
        if box.x0 >= 2 and box.x1 <= fig.bbox.width - 2:
            break
        legend.remove()
    return fig, {
        "years": years,
        "stack": drawn,
        "totals": [float(t) for t in totals],
        "estimated": [[code, years[i]] for code, i in marks],
    }


def draw_shares(mineral: str, data: FigureData, style: Style) -> tuple[Figure, dict]:
    """Shares by use, for the years whose split is fully known: the legend right of the bars, the axes fitted
    to the measured extents of the year labels and the title, and a segment carries
    its value only where it is tall enough for the number (plot_supply_bars.fit_share_strip)."""
    table, column, kind, unit = DATASETS[mineral]
    demand = data.table(table)
    series = data.table(f"{table}_series").set_index("year")
    shown = series["assigned"] >= 0.5 * series["total"]  # years whose split is at least half printed
    years = [y for y in series.index if shown[y]]
    pos = {y: i for i, y in enumerate(years)}
    xs = np.arange(len(years))
    fig = Figure(figsize=style.size(f"{table}_shares", "share_strip"))
    ax = fig.add_axes((0.095, 0.3, 0.885, 0.57))
    totals = series.loc[years, "total"]
    layers = []
    for code in _categories(demand, column, kind, style):
        _, heights, est = _layer(demand, column, code, years, f"value_{unit}")
        layers.append((code, heights / totals.to_numpy() * 100.0, est))

    title = style.label("demand.shares_title")
    bars = share_bars(ax, xs, years, layers, style, title, "the demand shares", width=0.6)
    drawn, marks = fit_share_strip(fig, ax, bars, style, "demand.estimated", label_min=10.0)
    return fig, {
        "years": years,
        "shares": drawn,
        "positions": pos,
        "estimated": [[code, years[i]] for code, i in marks],
    }


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    out = {}
    for name in figures:
        mineral = name.split("_")[0]
        table, column, kind, unit = DATASETS[mineral]
        metrics = data.metrics(table)
        series = data.table(f"{table}_series")
        first, last = int(series["year"].min()), int(series["year"].max())
        actual_last = int(series[series["status"] == "actual"]["year"].max())
        label_mineral = style.name(mineral.capitalize())
        if name.endswith("_bars"):
            fig, values = draw_bars(mineral, data, style)
            title = style.label("demand.title", mineral=label_mineral)
            alt = style.label(
                "demand.alt",
                mineral=label_mineral,
                first=first,
                actual_last=actual_last,
                last=last,
                v_first=num(metrics[f"total_{first}"]),
                v_actual=num(metrics[f"total_{actual_last}"]),
                v_last=num(metrics[f"total_{last}"]),
                unit=unit,
            )
            sources = [table, f"{table}_totals"]
        else:
            fig, values = draw_shares(mineral, data, style)
            title = style.label("demand.shares_title_of", mineral=label_mineral)
            parts = style.label("list_sep").join(
                f"{style.name(code)} {num(shares[-1])}%"
                for code, shares in values["shares"].items()
                if code != "undetermined"
            )
            alt = style.label("demand.shares_alt", year=values["years"][-1], parts=parts)
            sources = [table]
        out[name] = Drawn(fig, title, alt, sources, values=values)
    return out
