"""Risk strips (material-flow pages) and risk radars (issues pages), from risk_profile.

Axes 1-4 carry the share of risk countries in %; axes 5-6 a qualitative level (future demand growth,
recycling). The report prints no radar values: the radar plots the same numbers as the strip, on a ring
scale where the outer ring is 100% (or the level 'high'). An unknown value is never drawn as zero risk: the
shape is drawn only between neighbouring known axes, leaving an open wedge at the unknown axis, which carries
a hollow marker and the word "unknown".
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

LEVEL_RING = {
    "high": 0.9,
    "low": 0.25,
}  # position of a qualitative level on the radar (0 centre, 1 outer ring)


def _value_text(row, style: Style) -> str:
    if not math.isnan(row["share_pct"]):
        return f"{num(row['share_pct'])}%"
    return style.label(f"risk.level.{row['level']}")


def _risk_color(row, style: Style) -> str:
    """Darker red for higher risk; grey where the level is unknown."""
    if not math.isnan(row["share_pct"]):
        ring = row["share_pct"] / 100.0
    else:
        ring = LEVEL_RING.get(row["level"])
    if ring is None:
        return style.config["colors"]["OTH"]
    ramp = ["#fde0dd", "#fa9fb5", "#f768a1", "#c51b8a", "#7a0177"]
    return ramp[min(4, int(ring * 5))]


def draw_strip(rows, mineral: str, style: Style) -> Figure:
    """One box per axis: the value over the axis' caption, the caption wrapped (at BudouX phrases in
    Japanese) to the measured width of its box."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=style.size("strip"))
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, 6)
    ax.set_ylim(0, 1)
    ax.axis("off")
    to_data = ax.transData.inverted()
    shares = rows["share_pct"]
    choke = rows.loc[shares.idxmax(), "axis_no"] if shares.notna().any() else None
    small = style.config["font"]["small_size"]
    box_bottom, box_top = 0.04, 0.7  # over the boxes: the choke-point label (centred at 0.9) and its arrow
    for i, (_, row) in enumerate(rows.iterrows()):
        color = _risk_color(row, style)
        box = FancyBboxPatch(
            (i + 0.05, box_bottom),
            0.9,
            box_top - box_bottom,
            boxstyle="round,pad=0.0,rounding_size=0.05",
            facecolor=color,
            edgecolor="white",
            linewidth=1.0,
        )
        ax.add_patch(box)
        dark = color in ("#c51b8a", "#7a0177")
        ink = "white" if dark else style.config["colors"]["ink"]
        caption = ax.text(
            i + 0.5,
            box_bottom + 0.04,
            "",
            ha="center",
            va="bottom",
            multialignment="center",
            fontsize=small - 0.3,
            linespacing=1.05,
            color=ink,
        )
        name = style.name(row["axis"])
        room = (ax.transData.transform((0.84, 0)) - ax.transData.transform((0, 0)))[0]
        for width in range(len(name), 2, -1):  # the widest wrap that fits the box
            caption.set_text(f"{row['axis_no']} " + style.wrap(name, width))
            if caption.get_window_extent(renderer).width <= room:
                break
        caption_top = to_data.transform((0, caption.get_window_extent(renderer).y1))[1]
        ax.text(
            i + 0.5,
            (caption_top + box_top) / 2,
            _value_text(row, style),
            ha="center",
            va="center",
            fontsize=11,
            fontweight="bold",
            color=ink,
        )
        if row["axis_no"] == choke:
            ax.text(
                i + 0.5,
                0.9,
                style.label("risk.choke_point"),
                ha="center",
                va="center",
                fontsize=small,
                fontweight="bold",
                color=style.config["colors"]["CN"],
            )
            ax.annotate(
                "",
                xy=(i + 0.5, box_top + 0.01),
                xytext=(i + 0.5, 0.8),
                arrowprops={"arrowstyle": "-|>", "color": style.config["colors"]["CN"], "lw": 1.0},
            )
    return fig


def draw_radar(rows, mineral: str, style: Style) -> tuple[Figure, list[float | None]]:
    fig = Figure(figsize=style.size("radar_issues"))
    ax = fig.add_axes((0.28, 0.175, 0.44, 0.6), projection="polar")
    n = len(rows)
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rlabel_position(180.0 / n)
    angles = [2 * math.pi * k / n for k in range(n)]
    rings = []
    for _, row in rows.iterrows():
        if not math.isnan(row["share_pct"]):
            rings.append(row["share_pct"] / 100.0)
        else:
            rings.append(LEVEL_RING.get(row["level"]))
    red = style.config["colors"]["CN"]
    for k in range(n):  # the shape between neighbouring known axes only: an unknown axis leaves an open wedge
        a0, r0, a1, r1 = angles[k], rings[k], angles[(k + 1) % n], rings[(k + 1) % n]
        a1 = a1 if a1 > a0 else a1 + 2 * math.pi
        if r0 is None or r1 is None:
            continue
        ax.fill([0.0, a0, a1], [0.0, r0, r1], color=red, alpha=0.18, lw=0)
        ax.plot([a0, a1], [r0, r1], color=red, lw=1.4)
    known = [(a, r) for a, r in zip(angles, rings, strict=True) if r is not None]
    ax.plot([a for a, _ in known], [r for _, r in known], ls="none", color=red, marker="o", ms=3)
    for a, r in zip(angles, rings, strict=True):
        if r is None:
            muted = style.config["colors"]["muted"]
            ax.plot([a], [0.5], ls="none", marker="o", ms=7, color=muted, mfc="white", mec=muted)
            ax.text(a, 0.5, "?", ha="center", va="center", fontsize=6, color=style.config["colors"]["muted"])
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(
        ["25%", "50%", "75%", ""],  # the outer ring (100%) is named by the note under the radar
        fontsize=style.config["font"]["small_size"] - 1.5,
        color=style.config["colors"]["muted"],
    )
    ax.set_xticks(angles)
    width = 9 if style.lang == "ja" else 16
    labels = [
        f"{r['axis_no']} " + style.wrap(style.name(r["axis"]), width) + f"\n{_value_text(r, style)}"
        for _, r in rows.iterrows()
    ]
    ax.set_xticklabels(labels, fontsize=style.config["font"]["small_size"] - 0.5)
    ax.tick_params(axis="x", pad=14)
    ax.grid(color=style.config["colors"]["grid"], lw=0.6)
    ax.spines["polar"].set_color(style.config["colors"]["grid"])
    fig.text(
        0.5,
        0.01,
        style.wrap(style.label("risk.radar_note"), 40 if style.lang == "ja" else 70),
        ha="center",
        va="bottom",
        fontsize=style.config["font"]["small_size"] - 1.2,
        color=style.config["colors"]["muted"],
    )
    return fig, rings


def _radar_title_and_note(fig: Figure, rows, mineral: str, data: FigureData, style: Style) -> str:
    """The radar's title (top left) and, under it, what the recycling axis means for Japan, from the
    recycling rates: Japan's rate where it is known, else how the other regions' rates compare."""
    small = style.config["font"]["small_size"]
    ink, accent = style.config["colors"]["ink"], style.config["colors"]["accent"]
    fig.text(
        0.02,
        0.985,
        style.label("risk.radar_title_of", mineral=style.name(mineral)),
        ha="left",
        va="top",
        fontsize=small + 1,
        fontweight="bold",
        color=ink,
        gid="radar_title",
    )
    rates = data.table("recycling_rates")
    rates = rates[rates["mineral"] == mineral].set_index("region")
    axis = rows[rows["axis"] == "RISK_RECYCLING"]
    if axis.empty or "JP" not in rates.index:
        return ""
    jp = rates.loc["JP", "rate_pct"]
    others = rates.drop(index="JP")["rate_pct"].dropna()
    if not math.isnan(jp):
        text = style.label("risk.radar_recycling_jp", rate=num(jp), year=int(rates.loc["JP", "year"]))
    elif len(others):
        parts = style.label("list_sep").join(
            style.label("risk.radar_recycling_region", region=style.name(r), rate=num(v)) for r, v in others.items()
        )
        text = style.label("risk.radar_recycling_others", rates=parts)
    else:
        return ""
    text = style.label(
        "risk.radar_axis_note", no=int(axis["axis_no"].iloc[0]), axis=style.name("RISK_RECYCLING"), text=text
    )
    fig.text(
        0.02,
        0.905,
        style.wrap(text, 13 if style.lang == "ja" else 24),
        ha="left",
        va="top",
        fontsize=small - 0.5,
        color=accent,
        linespacing=1.15,
        gid="radar_annotation",
    )
    return text


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    risk = data.table("risk_profile").sort_values(["mineral", "axis_no"])
    out = {}
    for name in figures:
        mineral = "Ga" if name.startswith("ga_") else "Mg"
        rows = risk[risk["mineral"] == mineral].reset_index(drop=True)
        parts = style.label("list_sep").join(
            f"{style.name(r['axis'])} {_value_text(r, style)}" for _, r in rows.iterrows()
        )
        if name.endswith("_strip"):
            fig = draw_strip(rows, mineral, style)
            values = {
                "axes": {
                    int(r["axis_no"]): (None if math.isnan(r["share_pct"]) else float(r["share_pct"]))
                    for _, r in rows.iterrows()
                }
            }
            title = style.label("risk.strip_title", mineral=style.name(mineral))
        else:
            fig, rings = draw_radar(rows, mineral, style)
            values = {"rings": rings}
            title = style.label("risk.radar_title_of", mineral=style.name(mineral))
            values["annotation"] = _radar_title_and_note(fig, rows, mineral, data, style)
        alt = style.label("risk.alt", title=title, parts=parts)
        out[name] = Drawn(fig, title, alt, ["risk_profile"], values=values)
    return out
