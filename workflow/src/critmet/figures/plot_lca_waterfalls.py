"""LCA waterfalls: CO2 per kg of metal, step by step along the process chain, ending at the report's total.

The report prints only the totals. lca_steps splits each total over the process steps: stoichiometric CO2
where chemistry fixes it, and for the rest a documented process model scaled to the printed total (estimates,
drawn in a lighter tone and marked 'e'). The steps climb to the total. The reduction levers are tagged under
each step.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

ROUTES = {
    "ga_lca_waterfall": "GA_BAYER",
    "mg_pidgeon_lca_waterfall": "MG_PIDGEON",
    "mg_brine_lca_waterfall": "MG_BRINE",
}


def step_table(steps, route: str):
    """One row per step of the route: its value (the sum of its carriers), how it was obtained, carriers and
    levers. basis: derivation (stoichiometric) or model_scaled (an estimate scaled to the printed total)."""
    rows = []
    for order, group in steps[steps["route"] == route].groupby("step_order", sort=True):
        rows.append(
            {
                "order": int(order),
                "step": group["step"].iloc[0],
                "value": float(group["value_kg_co2_per_kg"].sum()),
                "derived": float(group.loc[group["basis"] == "derivation", "value_kg_co2_per_kg"].sum()),
                "basis": sorted(set(group["basis"])),
                "carriers": [c for c in group["energy_carrier"].dropna().unique()],
                "levers": [lv for lv in group["lever"].dropna().unique()],
                "references": [r for r in group["reference"].dropna().unique()],
            }
        )
    return rows


def _label(value: float) -> str:
    return num(value, 1) if value >= 0.05 else "<0.1"


def draw_waterfall(route: str, rows: list[dict], total: float, style: Style) -> tuple[Figure, dict]:
    """Floating bars climbing from 0 to the total, step by step, then the total bar. The stoichiometric part of
    a step is drawn in full tone, the estimated (scaled) part in a lighter tone, its label marked 'e'."""
    fig = Figure(figsize=style.size("lca"))
    ax = fig.add_axes((0.07, 0.42, 0.91, 0.47))
    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    n = len(rows)
    cumulative = 0.0
    steps_drawn = []
    for i, row in enumerate(rows):
        derived, estimated = row["derived"], row["value"] - row["derived"]
        if derived > 0:
            ax.bar(i, derived, bottom=cumulative, width=0.72, color=colors["accent"], lw=0)
        if estimated > 0:
            ax.bar(
                i,
                estimated,
                bottom=cumulative + derived,
                width=0.72,
                color=colors["accent"],
                alpha=0.45,
                edgecolor=colors["accent"],
                lw=0.6,
            )
        label = _label(row["value"]) + (style.label("lca.estimate_mark") if estimated > 0 else "")
        ax.text(i, cumulative + row["value"] + total * 0.015, label, ha="center", va="bottom", fontsize=small)
        steps_drawn.append(row["value"])
        cumulative += row["value"]
    ax.bar(n, total, width=0.72, color=colors["total"])
    ax.text(
        n,
        total + total * 0.015,
        num(total, 1),
        ha="center",
        va="bottom",
        fontsize=small + 1,
        fontweight="bold",
        color=colors["total"],
    )
    level = 0.0
    for i in range(n):  # connectors between the floating bars
        level += steps_drawn[i]
        ax.plot([i + 0.36, i + 0.64], [level, level], color=colors["muted"], lw=0.5)
    width = 8 if style.lang == "ja" else 16
    names = [style.wrap(style.name(r["step"]), width) for r in rows] + [style.label("lca.total")]
    ax.set_xticks(range(n + 1))
    ax.set_xticklabels(names, fontsize=small - 0.8)
    name_lines = max(n.count("\n") + 1 for n in names)  # the badges start below the deepest step name
    name_pt = max(small - 0.8, style.config["font"]["floor"])  # the size the names are printed at
    badge_drop = 3.5 + name_lines * name_pt * 1.45 + 4  # points: tick pad, names, gap
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
    ax.set_xlim(-0.6, n + 0.6)
    ax.set_ylim(0, total * 1.15)
    ax.set_ylabel(style.label("lca.axis", unit=style.label(f"lca.units.{route}")), fontsize=small)
    ax.grid(axis="y", color=colors["grid"], lw=0.5)
    ax.set_axisbelow(True)
    notes = [style.label("lca.note_estimate")]
    if any(r["derived"] > 0 for r in rows):
        notes.append(style.label("lca.note_derived"))
    fig.text(0.07, 0.995, "\n".join(notes), fontsize=small - 1.4, color=colors["muted"], va="top", ha="left")
    return fig, {"steps": steps_drawn, "total": total}


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    steps = data.table("lca_steps")
    totals = data.table("lca_totals").set_index("route")
    out = {}
    for name in figures:
        route = ROUTES[name]
        rows = step_table(steps, route)
        total = float(totals.loc[route, "total_kg_co2_per_kg"])
        fig, values = draw_waterfall(route, rows, total, style)
        parts = style.label("list_sep").join(f"{style.name(r['step'])} {_label(r['value'])}" for r in rows)
        alt = style.label(
            "lca.alt",
            route=style.name(route),
            total=num(total, 1),
            unit=style.label(f"lca.units.{route}"),
            parts=parts,
        )
        out[name] = Drawn(fig, style.name(route), alt, ["lca_totals", "lca_steps"], values=values)
    return out
