"""Supply charts: primary supply stacked by country, the recycling layer on top, the demand line, the CAGR
arrows of the periods the report annotates; and the 100% strip of country shares."""

from __future__ import annotations

import re

import numpy as np
from matplotlib.figure import Figure

from critmet.figures.common import Drawn, FigureData, estimate_note, no_remainder, stack_bars
from critmet.figures.style import Style
from critmet.report.filters import num

DATASETS = {"ga": ("ga_supply", "t"), "mg": ("mg_supply", "kt")}
HATCH = "////"


def x_positions(years: list[int]) -> dict[int, float]:
    """One slot per year; a gap of one slot where the series jumps (Mg: 2000, then 2010-2018)."""
    pos, x, prev = {}, 0.0, None
    for year in years:
        if prev is not None:
            x += 1.0 if year == prev + 1 else 1.8
        pos[year] = x
        prev = year
    return pos


def printed_cagr_periods(meta: dict) -> list[tuple[int, int]]:
    """The periods the report draws CAGR arrows for: its printed `cagr_<from>_<to>` values."""
    periods = []
    for entry in meta.get("printed") or []:
        m = re.fullmatch(r"cagr_(\d{4})_(\d{4})", entry["id"])
        if m:
            periods.append((int(m.group(1)), int(m.group(2))))
    return periods


def _stack_order(frame, style: Style) -> list[str]:
    """Countries in code-list order, 'others' last."""
    present = list(dict.fromkeys(frame["country"]))
    order = [c for c in style.codes.entries if c in present and c != "OTH"]
    return order + (["OTH"] if "OTH" in present else [])


def _layer(supply, code: str, years: list[int], value: str):
    """One country's heights by year, and which of them are estimates (the table's `status` column)."""
    rows = supply[supply["country"] == code].set_index("year").reindex(years)
    est = rows["status"].eq("estimated").to_numpy() if "status" in rows else np.zeros(len(years), dtype=bool)
    return code, rows[value].fillna(0.0).to_numpy(), est


def draw_bars(mineral: str, data: FigureData, style: Style) -> tuple[Figure, dict]:
    table, unit = DATASETS[mineral]
    supply = data.table(table)
    series = data.table(f"{table}_series").set_index("year")
    metrics = data.metrics(table)
    value = f"value_{unit}"
    years = list(series.index)
    pos = x_positions(years)
    xs = np.array([pos[y] for y in years])
    fig = Figure(figsize=style.size("supply"))
    ax = fig.add_axes((0.11, 0.25, 0.87, 0.71))
    layers = [_layer(supply, code, years, value) for code in _stack_order(supply, style)]
    marks: list = []
    drawn, bottom = stack_bars(ax, xs, layers, style, marks=marks)
    no_remainder(series["undetermined"], "the country split of supply")
    recycling = series["recycling"].to_numpy()
    rate = metrics["recycling_rate_pct"]
    ax.bar(
        xs,
        recycling,
        bottom=bottom,
        width=0.72,
        color=style.color("RECYCLING"),
        label=style.label("supply.recycling", rate=num(rate, 0 if float(rate).is_integer() else 1)),
        edgecolor="white",
        linewidth=0.3,
    )
    drawn["recycling"] = [float(h) for h in recycling]
    demand = series["demand"].to_numpy()
    (line,) = ax.plot(
        xs,
        demand,
        color=style.color("DEMAND"),
        marker="o",
        ms=2.8,
        lw=1.1,
        label=style.label("supply.demand"),
    )
    for x, d in zip(xs, demand, strict=True):
        ax.text(
            x,
            d + demand.max() * 0.025,
            num(d),
            ha="center",
            va="bottom",
            fontsize=style.config["font"]["small_size"] - 1,
        )
    # primary totals in a row of their own under the bars (inside a bar they read as China's value)
    primary = series["primary"].to_numpy()
    row_size = style.config["font"]["small_size"] - 1.2
    row_drop = style.config["font"]["small_size"] * 0.75 + 3.5  # points: below the y axis's '0'
    for x, p in zip(xs, primary, strict=True):
        ax.annotate(
            num(p),
            (x, 0),
            xycoords=ax.get_xaxis_transform(),
            xytext=(0, -row_drop),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=row_size,
        )
    ax.annotate(
        style.label("supply.primary_row"),
        (0, 0),
        xycoords="axes fraction",
        xytext=(-4, -row_drop),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=row_size,
        color=style.config["colors"]["muted"],
    )
    ax.tick_params(axis="x", pad=row_drop + row_size * 1.5 + 2)
    # CAGR arrows of the periods the report annotates, with the rate computed from the data
    top = demand.max() * 1.18
    for k, (start, end) in enumerate(printed_cagr_periods(data.meta(table))):
        rate = metrics[f"cagr_{start}_{end}"]
        y = top + k * demand.max() * 0.0
        ax.annotate(
            "",
            xy=(pos[end], y),
            xytext=(pos[start], y),
            arrowprops={"arrowstyle": "-|>", "color": style.config["colors"]["accent"], "lw": 1.2},
        )
        ax.text(
            (pos[start] + pos[end]) / 2,
            y + demand.max() * 0.03,
            style.label("supply.cagr", rate=num(rate, 1)),
            ha="center",
            va="bottom",
            fontsize=style.config["font"]["small_size"],
            color=style.config["colors"]["accent"],
            fontweight="bold",
        )
    ax.set_ylim(0, demand.max() * 1.34)
    ax.set_xticks(xs)
    ax.set_xticklabels([str(y) for y in years], rotation=0, fontsize=style.config["font"]["small_size"] - 0.5)
    ax.set_ylabel(style.label("supply.axis", unit=unit))
    ax.grid(axis="y", color=style.config["colors"]["grid"], lw=0.5)
    ax.set_axisbelow(True)
    if marks:
        estimate_note(fig, style, "supply.estimated", x=0.98, y=0.965, ha="right")
    fig.legend(
        handles=[*(c for c in ax.containers if not c.get_label().startswith("_")), line],
        loc="lower center",
        ncol=4,
        fontsize=style.config["font"]["small_size"] - 0.5,
        bbox_to_anchor=(0.55, 0.0),
        handlelength=1.0,
        columnspacing=0.9,
    )
    return fig, {
        "years": years,
        "stack": drawn,
        "estimated": [[code, years[i]] for code, i in marks],
        "demand": [float(d) for d in demand],
        "primary": [float(p) for p in primary],
    }


def share_bars(ax, xs, years, layers, style: Style, title: str, what: str, width: float = 0.72):
    """The drawing step of a 100% strip for `fit_share_strip`: `bars(label_min)` clears the axes, stacks the
    `layers` (shares in %, which must fill each bar: `what` names them in the error), sets the 0-100% axis,
    the year labels and the title, and returns (drawn, marks)."""
    small = style.config["font"]["small_size"]

    def bars(label_min: float):
        ax.cla()
        marks: list = []
        drawn, bottom = stack_bars(ax, xs, layers, style, width=width, label_min=label_min, marks=marks)
        no_remainder(100.0 - bottom, what)
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 50, 100])
        ax.set_yticklabels(["0%", "50%", "100%"])
        ax.set_xticks(xs)
        ax.set_xticklabels([str(y) for y in years], fontsize=small - 1)
        ax.set_title(title, fontsize=small + 0.5, loc="left")
        return drawn, marks

    return bars


def fit_share_strip(fig: Figure, ax, bars, style: Style, note_key: str | None = None, label_min: float = 9.0):
    """Lay out a 100% strip from measured extents: the legend in one column right of the bars, the year
    labels inside the figure, the title under its top; then draw again (`bars(label_min)` draws the axes and
    returns (drawn, marks)) so that a segment carries its value only where the number fits. The estimate
    note (if any segment is estimated) stands beside the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    height_pt = fig.get_size_inches()[1] * 72
    to_fig = fig.transFigure.inverted()
    small = style.config["font"]["small_size"]
    drawn, marks = bars(label_min)
    handles, names = ax.get_legend_handles_labels()
    top_y = 1.0 - 2.0 / height_pt
    legend = fig.legend(
        handles,
        names,
        loc="upper right",
        bbox_to_anchor=(1.0, top_y),
        ncol=1,
        fontsize=small - 1.2,
        handlelength=0.9,
        labelspacing=0.3,
        borderpad=0.0,
        borderaxespad=0.0,
        frameon=False,
    )
    right_x = to_fig.transform((legend.get_window_extent(renderer).x0, 0))[0] - 6.0 / (fig.get_size_inches()[0] * 72)
    floor_y = 2.0 / height_pt
    note = None
    if marks and note_key:
        estimate_note(fig, style, note_key, x=right_x, y=top_y, ha="right")  # beside the title
        note = fig.texts[-1]
        note.set_va("top")
    for _ in range(6):
        fig.draw_without_rendering()  # positions and tick labels updated, no pixels
        p = ax.get_position()
        box = ax.get_tightbbox(renderer)
        low = to_fig.transform((0, ax.xaxis.get_tightbbox(renderer).y0))[1]
        high = to_fig.transform((0, ax.title.get_window_extent(renderer).y1))[1]
        over = 0.0  # an "e" over a full bar must stay under the note
        if note is not None and ax.texts:
            marks_top = to_fig.transform((0, max(t.get_window_extent(renderer).y1 for t in ax.texts)))[1]
            note_bottom = to_fig.transform((0, note.get_window_extent(renderer).y0))[1] - 2.0 / height_pt
            over = max(0.0, marks_top - note_bottom)
        left = to_fig.transform((box.x0, 0))[0]
        if low >= floor_y - 1e-4 and high <= top_y + 1e-4 and over <= 1e-4 and left >= 0.005 and p.x1 <= right_x + 1e-4:
            break
        y0 = p.y0 + (floor_y - low)
        y1 = p.y1 - max(high - top_y, over)
        x0 = p.x0 + (0.005 - left)
        ax.set_position((x0, y0, right_x - x0, y1 - y0))
    number_pt = style.config["font"]["floor"] * 1.25 + 2.0  # a value's height with a little room
    needed = max(label_min, 100.0 * number_pt / (ax.get_position().height * height_pt))
    if needed > label_min:
        drawn, marks = bars(needed)
    return drawn, marks


def draw_shares(mineral: str, data: FigureData, style: Style) -> tuple[Figure, dict]:
    table, unit = DATASETS[mineral]
    supply = data.table(table)
    series = data.table(f"{table}_series").set_index("year")
    years = list(series.index)
    pos = x_positions(years)
    xs = np.array([pos[y] for y in years])
    fig = Figure(figsize=style.size("share_strip"))
    ax = fig.add_axes((0.095, 0.27, 0.885, 0.6))
    value = f"value_{unit}"
    layers = []
    for code in _stack_order(supply, style):
        _, heights, est = _layer(supply, code, years, value)
        layers.append((code, heights / series["primary"].to_numpy() * 100.0, est))

    bars = share_bars(ax, xs, years, layers, style, style.label("supply.shares_title"), "the supply shares")
    drawn, marks = fit_share_strip(fig, ax, bars, style, "supply.estimated", label_min=9.0)
    return fig, {"years": years, "shares": drawn, "estimated": [[code, years[i]] for code, i in marks]}


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    out = {}
    for name in figures:
        mineral = name.split("_")[0]
        table, unit = DATASETS[mineral]
        series = data.table(f"{table}_series")
        metrics = data.metrics(table)
        first, last = int(series["year"].min()), int(series["year"].max())
        if name.endswith("_bars"):
            fig, values = draw_bars(mineral, data, style)
            title = style.label("supply.title", mineral=style.name(mineral.capitalize()))
            alt = style.label(
                "supply.alt",
                mineral=style.name(mineral.capitalize()),
                first=first,
                last=last,
                total_first=num(metrics[f"total_{first}"]),
                total_last=num(metrics[f"total_{last}"]),
                unit=unit,
                china=num(metrics[f"value_CN_{last}"]),
                demand=num(metrics[f"demand_{last}"]),
            )
            sources = [table, f"{table}_demand"]
        else:
            fig, values = draw_shares(mineral, data, style)
            title = style.label("supply.shares_title_of", mineral=style.name(mineral.capitalize()))
            alt = style.label(
                "supply.shares_alt",
                first=first,
                last=last,
                share_first=num(metrics[f"share_CN_{first}"]),
                share_last=num(metrics[f"share_CN_{last}"]),
            )
            sources = [table]
        out[name] = Drawn(fig, title, alt, sources, values=values)
    return out
