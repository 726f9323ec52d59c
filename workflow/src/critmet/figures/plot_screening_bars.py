"""Mineral screening (selection page): two bar panels sharing the candidate rows, grouped by use.

Left: the leading country's share of world refined production (axis 0-100%). Right: Japan's share of world
demand (axis 0-50%). Rows are the candidates in use-group order (semiconductor, lightweight, magnet, W alloy),
minerals within a group in code-list order. The minerals chosen for the supply-chain study (selected = yes)
are drawn in the accent colour, the others muted. The values are drawn as printed (see the table's metadata
for the registered inconsistencies: Ga 59% and Mg 88% against 98% and 84% on the material-flow pages).
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

GROUPS = ["semiconductor", "lightweight", "magnet", "w_alloy"]  # the schema's use groups, in the page's order
PANELS = [  # column, label key, axis maximum (%), tick step
    ("refined_top_country_share_pct", "bars_screening.top_panel", 100, 50),
    ("japan_demand_share_pct", "bars_screening.japan_panel", 50, 25),
]
MUTED_ALPHA = 0.45


def screening_rows(data: FigureData, style: Style):
    table = data.table("mineral_screening")
    unknown = set(table["group"]) - set(GROUPS)
    if unknown:
        raise ValueError(f"mineral_screening: use groups {sorted(unknown)} have no place in the chart")
    order = style.order("mineral")
    table = table.assign(_g=table["group"].map(GROUPS.index), _m=table["mineral"].map(order.index))
    return table.sort_values(["_g", "_m"]).drop(columns=["_g", "_m"]).reset_index(drop=True)


def _fit_columns(fig: Figure, axes, headers, titles, style: Style) -> None:
    """Lay the columns out from their measured extents: the group names and the mineral names at the left,
    then the two panels of equal width, each followed by room for the value printed past its longest bar;
    each panel's title is wrapped to the width above its panel (at BudouX phrases in Japanese)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig_w = fig.get_size_inches()[0]
    margin = 0.04

    def inches(box):
        return box.width / fig.dpi

    for _ in range(3):
        fig.draw_without_rendering()  # positions and tick labels updated, no pixels
        groups = [t for t in axes[0].texts if str(t.get_gid() or "").startswith("group:")]
        group_w = max((inches(t.get_window_extent(renderer)) for t in groups), default=0.0)
        tick_w = max(inches(t.get_window_extent(renderer)) for t in axes[0].get_yticklabels())
        left = 0.06 + group_w + 0.1 + tick_w + 0.08  # group names, gap, mineral names, tick pad
        overhang = []  # how far the values (and the last x tick label) reach past each panel's right edge
        for ax in axes:
            right = ax.get_window_extent(renderer).x1
            reach = [t.get_window_extent(renderer).x1 for t in ax.texts]
            reach += [t.get_window_extent(renderer).x1 for t in ax.get_xticklabels() if t.get_text()]
            overhang.append(max(0.0, (max(reach, default=right) - right) / fig.dpi) + 0.08)
        first = [t for t in axes[1].get_xticklabels() if t.get_text()][:1]  # "0%" reaches left of its panel
        overhang[0] += sum(inches(t.get_window_extent(renderer)) / 2 for t in first)
        width = (fig_w - margin - left - sum(overhang)) / 2
        for ax, x0 in zip(axes, (left, left + width + overhang[0]), strict=True):
            pos = ax.get_position()
            ax.set_position((x0 / fig_w, pos.y0, width / fig_w, pos.height))
        for k, (title, text) in enumerate(zip(headers, titles, strict=True)):
            room = (
                (width + overhang[k] - 0.06) * fig.dpi
                if k == 0
                else (fig_w - margin - (left + width + overhang[0])) * fig.dpi
            )
            for chars in range(len(text), 3, -1):  # the widest wrap that fits above the panel
                title.set_text(style.wrap(text, chars))
                if title.get_window_extent(renderer).width <= room:
                    break


def draw_screening(rows, style: Style) -> Figure:
    colors = style.config["colors"]
    font = style.config["font"]
    small = font["small_size"]
    fig = Figure(figsize=style.size("screening"))  # the figure column of the selection page (99 mm), its height
    fig_w, fig_h = fig.get_size_inches()
    top_in, bottom_in = 0.62, 0.62  # panel titles; x tick labels and the legend
    bottom, height = bottom_in / fig_h, (fig_h - top_in - bottom_in) / fig_h
    lefts_in, width_in = (1.22, 2.78), 1.08
    n = len(rows)
    selected = rows["selected"] == "yes"
    axes, headers = [], []
    for (column, label_key, xmax, step), left_in in zip(PANELS, lefts_in, strict=True):
        ax = fig.add_axes((left_in / fig_w, bottom, width_in / fig_w, height), sharey=axes[0] if axes else None)
        for i, row in rows.iterrows():
            value = float(row[column])
            chosen = bool(selected[i])
            bar = ax.barh(
                i,
                value,
                height=0.6,
                color=colors["accent"] if chosen else colors["muted"],
                alpha=1.0 if chosen else MUTED_ALPHA,
            )
            bar.patches[0].set_gid(f"{column}:{row['mineral']}")
            ax.text(
                value + xmax * 0.025,
                i,
                f"{num(value)}%",
                ha="left",
                va="center",
                fontsize=small,
                color=colors["ink"],
                fontweight="bold" if chosen else "normal",
                clip_on=False,
                gid=f"value:{column}:{row['mineral']}",
            )
        ax.set_xlim(0, xmax)
        ticks = list(range(0, xmax + 1, step))
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{num(t)}%" for t in ticks])
        ax.tick_params(axis="x", length=2)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_color(colors["muted"])
        ax.xaxis.grid(True, color=colors["grid"], lw=0.6)
        ax.set_axisbelow(True)
        header = ax.set_title(
            style.label(label_key),
            loc="left",
            fontsize=small + 0.5,
            fontweight="bold",
            color=colors["ink"],
            linespacing=1.15,
        )
        axes.append(ax)
        headers.append(header)
    ax0 = axes[0]
    ax0.set_ylim(n - 0.5, -0.5)
    ax0.set_yticks(range(n))
    width = 7 if style.lang == "ja" else 11
    ax0.set_yticklabels(
        [
            style.label(
                "bars_common.mineral_row",
                symbol=style.label(f"bars_common.symbol.{m}"),
                name=style.wrap(style.name(m), width),
            )
            for m in rows["mineral"]
        ],
        linespacing=1.0,
    )
    for tick, chosen in zip(ax0.get_yticklabels(), selected, strict=True):
        tick.set_fontweight("bold" if chosen else "normal")
        tick.set_color(colors["accent"] if chosen else colors["ink"])
    axes[1].tick_params(axis="y", labelleft=False)
    # use groups: a name in the left column, a thin rule between groups
    across = blended_transform_factory(fig.transFigure, ax0.transData)
    for group in [g for g in GROUPS if g in set(rows["group"])]:
        idx = rows.index[rows["group"] == group]
        ax0.text(
            0.06 / fig_w,
            (idx.min() + idx.max()) / 2,
            style.wrap(style.label(f"bars_screening.group.{group}"), 5 if style.lang == "ja" else 15),
            transform=across,
            ha="left",
            va="center",
            rotation=0 if style.lang == "ja" else 90,  # long English names run up the side of their rows
            rotation_mode="anchor" if style.lang == "ja" else "default",
            fontsize=small,
            color=colors["ink"],
            fontweight="bold",
            gid=f"group:{group}",
        )
        if idx.min() > 0:  # drawn on the figure, above both panels
            fig.add_artist(
                Line2D(
                    [0.04 / fig_w, 1.0 - 0.04 / fig_w],  # across the figure, inside it
                    [idx.min() - 0.5] * 2,
                    transform=across,
                    color=colors["grid"],
                    lw=0.8,
                )
            )
    _fit_columns(fig, axes, headers, [style.label(key) for _, key, _, _ in PANELS], style)
    handles = [
        Patch(facecolor=colors["accent"], label=style.label("bars_screening.selected")),
        Patch(facecolor=colors["muted"], alpha=MUTED_ALPHA, label=style.label("bars_screening.not_selected")),
    ]
    fig.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.06 / fig_w, 0.02),
        ncol=2,
        frameon=False,
        fontsize=small,
        handlelength=1.0,
        handleheight=0.9,
        handletextpad=0.4,
        columnspacing=1.2,
        borderaxespad=0.0,
    )
    return fig


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    out = {}
    sep = style.label("list_sep")
    for name in figures:
        if name != "mineral_screening_bars":
            raise KeyError(f"plot_screening_bars draws mineral_screening_bars, not {name!r}")
        rows = screening_rows(data, style)
        fig = draw_screening(rows, style)

        def parts(column, rows=rows):
            return sep.join(
                style.label("bars_common.part", name=style.label(f"bars_common.symbol.{m}"), value=f"{num(v)}%")
                for m, v in zip(rows["mineral"], rows[column], strict=True)
            )

        chosen = rows[rows["selected"] == "yes"]["mineral"]
        alt = style.label(
            "bars_screening.alt",
            top=parts("refined_top_country_share_pct"),
            japan=parts("japan_demand_share_pct"),
            selected=sep.join(style.label(f"bars_common.symbol.{m}") for m in chosen),
        )
        values = {
            "rows": list(rows["mineral"]),
            "groups": dict(zip(rows["mineral"], rows["group"], strict=True)),
            "refined_top_country_share_pct": {
                m: float(v) for m, v in zip(rows["mineral"], rows["refined_top_country_share_pct"], strict=True)
            },
            "japan_demand_share_pct": {
                m: float(v) for m, v in zip(rows["mineral"], rows["japan_demand_share_pct"], strict=True)
            },
            "selected": list(chosen),
        }
        out[name] = Drawn(fig, style.label("bars_screening.title"), alt, ["mineral_screening"], values=values)
    return out
