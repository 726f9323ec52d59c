"""LCA waterfalls: CO2 per kg of metal, step by step along the process chain, ending at the report's total.

The report prints only the totals. A step carries a value only where lca_steps gives one from a cited
public source or a documented derivation (marked as an estimate); every other step is drawn empty, and the
part of the total no step accounts for is one hatched 'unallocated' bar, so the steps always add up to the
total and no figure is invented. The reduction levers of each step are tagged under it.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

ROUTES = {
    "ga_lca_waterfall": "GA_BAYER",
    "mg_pidgeon_lca_waterfall": "MG_PIDGEON",
    "mg_brine_lca_waterfall": "MG_BRINE",
}


def step_table(steps, route: str):
    """One row per step of the route: its value (None if no source), basis, carriers and levers."""
    rows = []
    for order, group in steps[steps["route"] == route].groupby("step_order", sort=True):
        values = group["value_kg_co2_per_kg"].dropna()
        rows.append(
            {
                "order": int(order),
                "step": group["step"].iloc[0],
                "value": float(values.sum()) if not values.empty else None,
                "basis": sorted(set(group["basis"]) - {"unallocated"}),
                "carriers": [c for c in group["energy_carrier"].dropna().unique()],
                "levers": [lv for lv in group["lever"].dropna().unique()],
                "references": [r for r in group["reference"].dropna().unique()],
            }
        )
    return rows


def draw_waterfall(route: str, rows: list[dict], total: float, style: Style) -> tuple[Figure, dict]:
    fig = Figure(figsize=style.size("lca"))
    ax = fig.add_axes((0.07, 0.4, 0.91, 0.56))
    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    n = len(rows)
    cumulative = 0.0
    steps_drawn = []
    for i, row in enumerate(rows):
        if row["value"] is None:
            ax.add_patch(
                Rectangle(
                    (i - 0.36, 0),
                    0.72,
                    total * 0.02,
                    facecolor="none",
                    edgecolor=colors["muted"],
                    linestyle=":",
                    lw=0.7,
                )
            )
            ax.text(
                i,
                total * 0.05,
                style.label("lca.no_value"),
                ha="center",
                va="bottom",
                fontsize=small - 1,
                color=colors["muted"],
            )
            steps_drawn.append(None)
            continue
        estimate = "derivation" in row["basis"]
        ax.bar(
            i,
            row["value"],
            bottom=cumulative,
            width=0.72,
            color=colors["accent"],
            alpha=0.85,
            edgecolor=colors["estimate_edge"],
            linestyle="--" if estimate else "-",
            lw=0.9,
        )
        label = num(row["value"], 1) + ("*" if estimate else "")
        ax.text(i, cumulative + row["value"] + total * 0.015, label, ha="center", va="bottom", fontsize=small)
        steps_drawn.append(row["value"])
        cumulative += row["value"]
    unallocated = total - cumulative
    ax.bar(
        n,
        unallocated,
        bottom=cumulative,
        width=0.72,
        color="white",
        hatch="////",
        edgecolor=colors["muted"],
        lw=0.6,
    )
    ax.text(
        n,
        total + total * 0.015,
        num(unallocated, 1),
        ha="center",
        va="bottom",
        fontsize=small,
        color=colors["muted"],
    )
    ax.bar(n + 1, total, width=0.72, color=colors["total"])
    ax.text(
        n + 1,
        total + total * 0.015,
        num(total, 1),
        ha="center",
        va="bottom",
        fontsize=small + 1,
        fontweight="bold",
        color=colors["total"],
    )
    for i in range(n + 1):  # connectors between the floating bars
        level = sum(v for v in steps_drawn[: i + 1] if v is not None) if i < n else total
        ax.plot([i + 0.36, i + 0.64], [level, level], color=colors["muted"], lw=0.5)
    width = 7 if style.lang == "ja" else 13
    names = [style.wrap(style.name(r["step"]), width) for r in rows]
    names += [style.wrap(style.label("lca.unallocated"), width), style.label("lca.total")]
    ax.set_xticks(range(n + 2))
    ax.set_xticklabels(names, fontsize=small - 0.8)
    name_lines = max(n.count("\n") + 1 for n in names)  # the badges start below the deepest step name
    badge_drop = 3.5 + name_lines * (small - 0.8) * 1.4 + 3  # points: tick pad, names, gap
    for i, row in enumerate(rows):  # the reduction levers under each step
        if row["levers"]:
            tag = "\n".join(style.wrap(style.label(f"lca.levers.{lv}"), width + 2) for lv in row["levers"])
            ax.annotate(
                tag,
                (i, 0),
                xycoords=ax.get_xaxis_transform(),
                xytext=(0, -badge_drop),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=small - 1.6,
                color=colors["reduction"],
                bbox={
                    "boxstyle": "round,pad=0.25",
                    "facecolor": "#eef7f1",
                    "edgecolor": colors["reduction"],
                    "lw": 0.5,
                },
            )
    ax.set_xlim(-0.6, n + 1.6)
    ax.set_ylim(0, total * 1.15)
    ax.set_ylabel(style.label("lca.axis", unit=style.label(f"lca.units.{route}")), fontsize=small)
    ax.grid(axis="y", color=colors["grid"], lw=0.5)
    ax.set_axisbelow(True)
    if any("derivation" in r["basis"] for r in rows):
        fig.text(
            0.99,
            0.01,
            style.label("lca.note_estimate"),
            fontsize=small - 1.4,
            color=colors["muted"],
            va="bottom",
            ha="right",
        )
    return fig, {"steps": steps_drawn, "unallocated": unallocated, "total": total}


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    steps = data.table("lca_steps")
    totals = data.table("lca_totals").set_index("route")
    out = {}
    for name in figures:
        route = ROUTES[name]
        rows = step_table(steps, route)
        total = float(totals.loc[route, "total_kg_co2_per_kg"])
        fig, values = draw_waterfall(route, rows, total, style)
        known = [r for r in rows if r["value"] is not None]
        parts = style.label("list_sep").join(f"{style.name(r['step'])} {num(r['value'], 1)}" for r in known)
        alt = style.label(
            "lca.alt",
            route=style.name(route),
            total=num(total, 1),
            unit=style.label(f"lca.units.{route}"),
            parts=parts or style.label("lca.none"),
            unallocated=num(values["unallocated"], 1),
        )
        out[name] = Drawn(fig, style.name(route), alt, ["lca_totals", "lca_steps"], values=values)
    return out
