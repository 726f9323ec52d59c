"""Recommendation pages (Ga, Mg): 100% bars of production shares by country, and a small recycling-rate panel.

Top: one 100% bar per item (Ga: alumina, zinc, refined gallium; Mg: ore, salt-lake brine, refined magnesium),
split by country in the printed order, each segment in its country's colour; the % is written inside a
segment of at least 8%, and narrower segments are named with their % under the bar's right end.
Bottom: recycling rates (Ga: Japan's rate, read as in-process recycling, with its year; Mg: end-of-life rates
of Japan, Europe and the United States). A rate the report does not give (Japan's Mg rate) is written as 'no
data' where the bar would start: it is not drawn as a zero bar.
"""

from __future__ import annotations

import math

from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

FIGURE_MINERAL = {"ga_reco_bars": "Ga", "mg_reco_bars": "Mg"}
MINERAL_ITEMS = {  # which reco_item bars each page shows, top to bottom (codes/reco_item.csv)
    "Ga": ["RECO_ALUMINA", "RECO_ZINC", "RECO_GALLIUM"],
    "Mg": ["RECO_MG_ORE", "RECO_SALT_LAKE", "RECO_MAGNESIUM"],
}
LABEL_IN_SEGMENT = 8.0  # %
TABLES = ["reco_shares", "recycling_rates"]


def text_on(color: str, style: Style) -> str:
    r, g, b = to_rgb(color)
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.6 else style.config["colors"]["ink"]


def rate_row_label(row, style: Style) -> str:
    region = style.name(row["region"])
    if isinstance(row["year"], float) and math.isnan(row["year"]):
        return style.label("bars_reco.rate_row", region=region)
    return style.label("bars_reco.rate_row_year", region=region, year=int(row["year"]))


def draw_reco(mineral: str, shares, rates, style: Style) -> tuple[Figure, dict]:
    colors = style.config["colors"]
    font = style.config["font"]
    small = font["small_size"]
    sep = style.label("list_sep")
    items = [i for i in MINERAL_ITEMS[mineral] if i in set(shares["item"])]
    missing = set(shares["item"]) - set(items)
    if missing:
        raise ValueError(f"reco_shares: items {sorted(missing)} have no place on the {mineral} page")
    # --- shares: item name above each bar, small segments named below it
    item_in = 0.43
    share_top_in = 0.42  # under the panel title, with room for the first item name
    share_h_in = item_in * len(items)
    # the figure column's width (style.yaml `reco`), as high as its two panels need (at most the slot's
    # height), so that the mini flow under it keeps its room
    fig_w, slot_h = style.size("reco")
    fig_h = min(slot_h, share_top_in + share_h_in + 0.04 + 0.30 + 0.24 + 0.23 * len(rates) + 0.42)
    fig = Figure(figsize=(fig_w, fig_h))
    left_in, right_in = 0.95, 0.25
    axes_w = (fig_w - left_in - right_in) / fig_w
    share_left_in = 0.1  # the share bars use the full width; the item names sit above them
    ax = fig.add_axes(
        (
            share_left_in / fig_w,
            (fig_h - share_top_in - share_h_in) / fig_h,
            (fig_w - share_left_in - right_in) / fig_w,
            share_h_in / fig_h,
        )
    )
    ax.set_xlim(0, 100)
    ax.set_ylim(len(items) - 0.05, -0.5)
    ax.axis("off")
    fig.text(
        0.06 / fig_w,
        1 - 0.08 / fig_h,
        style.label("bars_reco.shares_panel"),
        ha="left",
        va="top",
        fontsize=font["size"],
        fontweight="bold",
        color=colors["ink"],
    )
    countries: list[str] = []
    drawn: dict[str, dict] = {}
    for i, item in enumerate(items):
        rows = shares[shares["item"] == item]
        ax.text(
            0,
            i - 0.3,
            style.name(item),
            ha="left",
            va="bottom",
            fontsize=small + 0.5,
            color=colors["ink"],
            gid=f"item:{item}",
        )
        x = 0.0
        narrow = []
        drawn[item] = {}
        for _, row in rows.iterrows():
            country, share = row["country"], float(row["share_pct"])
            color = style.color(country)
            bar = ax.barh(i, share, left=x, height=0.42, color=color, edgecolor="white", linewidth=0.6)
            bar.patches[0].set_gid(f"share:{item}:{country}")
            if share >= LABEL_IN_SEGMENT:
                ax.text(
                    x + share / 2,
                    i,
                    f"{num(share)}%",
                    ha="center",
                    va="center",
                    fontsize=small,
                    color=text_on(color, style),
                    fontweight="bold",
                    gid=f"label:{item}:{country}",
                )
            else:
                narrow.append(style.label("bars_common.part", name=style.name(country), value=f"{num(share)}%"))
            if country not in countries:
                countries.append(country)
            drawn[item][country] = share
            x += share
        if narrow:
            ax.text(
                100,
                i + 0.25,
                sep.join(narrow),
                ha="right",
                va="top",
                fontsize=small - 0.5,
                color=colors["ink"],
                gid=f"narrow:{item}",
            )
    handles = [Patch(facecolor=style.color(c), edgecolor="none", label=style.name(c)) for c in countries]
    legend_top_in = share_top_in + share_h_in + 0.04
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(share_left_in / fig_w, 1 - legend_top_in / fig_h),
        ncol=len(handles),
        frameon=False,
        fontsize=small,
        handlelength=1.0,
        handleheight=0.9,
        handletextpad=0.4,
        columnspacing=1.0,
        borderaxespad=0.0,
        borderpad=0.0,
    )
    # --- recycling rates
    rate_title_in = legend_top_in + 0.30
    fig.text(
        0.06 / fig_w,
        1 - rate_title_in / fig_h,
        style.label(f"bars_reco.rate_panel.{mineral}"),
        ha="left",
        va="top",
        fontsize=font["size"],
        fontweight="bold",
        color=colors["ink"],
    )
    row_in = 0.23
    rate_h_in = row_in * len(rates)
    rate_top_in = rate_title_in + 0.24
    axr = fig.add_axes((left_in / fig_w, (fig_h - rate_top_in - rate_h_in) / fig_h, axes_w, rate_h_in / fig_h))
    rate_values: dict[str, float | None] = {}
    for i, (_, row) in enumerate(rates.iterrows()):
        region = row["region"]
        if isinstance(row["rate_pct"], float) and math.isnan(row["rate_pct"]):
            axr.text(
                1.5,
                i,
                style.label("bars_reco.no_data"),
                ha="left",
                va="center",
                fontsize=small,
                color=colors["muted"],
                gid=f"nodata:{region}",
            )
            rate_values[region] = None
            continue
        rate = float(row["rate_pct"])
        bar = axr.barh(i, rate, height=0.6, color=style.color(region))
        bar.patches[0].set_gid(f"rate:{region}")
        axr.text(
            rate + 1.5,
            i,
            f"{num(rate)}%",
            ha="left",
            va="center",
            fontsize=small,
            color=colors["ink"],
            fontweight="bold",
            gid=f"ratelabel:{region}",
        )
        rate_values[region] = rate
    axr.set_xlim(0, 100)
    axr.set_ylim(len(rates) - 0.5, -0.5)
    axr.set_yticks(range(len(rates)))
    axr.set_yticklabels([rate_row_label(r, style) for _, r in rates.iterrows()])
    axr.set_xticks([0, 25, 50, 75, 100])
    axr.set_xticklabels([f"{v}%" for v in (0, 25, 50, 75, 100)])
    axr.tick_params(axis="y", length=0)
    axr.tick_params(axis="x", length=2)
    axr.spines["left"].set_color(colors["muted"])
    axr.xaxis.grid(True, color=colors["grid"], lw=0.6)
    axr.set_axisbelow(True)
    return fig, {"shares": drawn, "rates": rate_values}


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    shares_all = data.table("reco_bars")  # China from the material-flow pie as drawn (derive.reco_bars)
    rates_all = data.table("recycling_rates")
    sep = style.label("list_sep")
    out = {}
    for name in figures:
        mineral = FIGURE_MINERAL[name]
        shares = shares_all[shares_all["item"].isin(MINERAL_ITEMS[mineral])]
        rates = rates_all[rates_all["mineral"] == mineral].reset_index(drop=True)
        fig, values = draw_reco(mineral, shares, rates, style)
        share_text = sep.join(
            style.label(
                "bars_reco.alt_item",
                item=style.name(item),
                parts=sep.join(
                    style.label("bars_common.part", name=style.name(c), value=f"{num(v)}%") for c, v in split.items()
                ),
            )
            for item, split in values["shares"].items()
        )
        rate_text = sep.join(
            style.label(
                "bars_common.part",
                name=rate_row_label(r, style),
                value=style.label("bars_reco.no_data")
                if values["rates"][r["region"]] is None
                else f"{num(values['rates'][r['region']])}%",
            )
            for _, r in rates.iterrows()
        )
        mineral_name = style.name(mineral)
        alt = style.label(
            "bars_reco.alt",
            mineral=mineral_name,
            shares=share_text,
            rate_panel=style.label(f"bars_reco.rate_panel.{mineral}"),
            rates=rate_text,
        )
        values["rate_years"] = {
            r["region"]: (None if math.isnan(r["year"]) else int(r["year"])) for _, r in rates.iterrows()
        }
        out[name] = Drawn(fig, style.label("bars_reco.title", mineral=mineral_name), alt, TABLES, values=values)
    return out
