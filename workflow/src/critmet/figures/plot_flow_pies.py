"""Share pies of the material-flow pages: country shares at each stage, the total in the centre, and the
concentration (top-country share, Herfindahl-Hirschman index) under the pie."""

from __future__ import annotations

from matplotlib.figure import Figure

from critmet.figures.common import Drawn, FigureData, fit_inside, lighter
from critmet.figures.style import Style
from critmet.report.filters import num

FIGURE_PIES = {
    "ga_pie_alumina_2021": "GA_ALUMINA_2021",
    "ga_pie_zinc_2021": "GA_ZINC_2021",
    "ga_pie_primary_2022": "GA_PRIMARY_2022",
    "ga_pie_imports_2022": "GA_IMPORTS_2022",
    "mg_pie_reserves_2022": "MG_RESERVES_2022",
    "mg_pie_ore_2022": "MG_ORE_2022",
    "mg_pie_primary_2022": "MG_PRIMARY_2022",
    "mg_pie_imports_2022": "MG_IMPORTS_2022",
}
WEDGE_WIDTH = 0.34  # the ring's width, as a share of the radius (a hole wide enough for a four-digit total)
LABEL_ON_WEDGE = 8.0  # % : larger slices are named beside the wedge; smaller ones in the legend below


def share_text(size: float, estimated: bool) -> str:
    """A slice's share as drawn: whole percent as printed; an estimate keeps its decimal (1.5, not 2) and
    carries the 'e' mark."""
    if estimated:
        return num(size, 0 if float(size).is_integer() else 1) + "%e"
    return num(size) + "%"


def draw_pie(slices, total: float, unit: str, style: Style, note: str = "") -> Figure:
    """A donut of the slices (printed order), the total over its unit in the centre; small slices listed
    below it, and the concentration note under that list. A slice whose `status` is 'estimated' is drawn in
    a lighter tone and its share marked 'e' (the note then explains the mark). The parts are stacked from
    the bottom by their measured extents, so the pie takes the height the legend and note leave."""
    import math

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Patch

    fig = Figure(figsize=style.size("pie"))
    renderer = FigureCanvasAgg(fig).get_renderer()
    height_pt = fig.get_size_inches()[1] * 72
    gap = 3.0 / height_pt  # 3 pt between stacked parts, in figure fraction
    sizes = list(slices["share_pct"])
    estimated = list(slices["status"].eq("estimated")) if "status" in slices else [False] * len(sizes)
    colors = [
        lighter(style.color(c)) if e else style.color(c) for c, e in zip(slices["country"], estimated, strict=True)
    ]
    labels = [style.name(c) for c in slices["country"]]
    shown = [share_text(size, e) for size, e in zip(sizes, estimated, strict=True)]
    if any(estimated):
        note = f"{note}\n{style.label('pies.estimated')}" if note else style.label("pies.estimated")
    small = style.config["font"]["small_size"]
    bottom = 0.02
    if note:
        text = fig.text(
            0.5, bottom, note, ha="center", va="bottom", fontsize=small - 0.5, color=style.config["colors"]["muted"]
        )
        bottom = fig.transFigure.inverted().transform((0, text.get_window_extent(renderer).y1))[1] + gap
    legend_items = [
        Patch(facecolor=color, edgecolor="none", label=f"{label} {text}")
        for size, color, label, text in zip(sizes, colors, labels, shown, strict=True)
        if size < LABEL_ON_WEDGE
    ]
    # two columns if they fit the figure's width (with tighter spacing if need be), else one: a one-column
    # list of four names takes the height the pie needs
    layouts = [(2, 0.8, 0.4, 0.9), (2, 0.4, 0.25, 0.6), (1, 0.8, 0.4, 0.9)] if legend_items else []
    for ncol, columnspacing, handletextpad, handlelength in layouts:
        legend = fig.legend(
            handles=legend_items,
            loc="lower center",
            bbox_to_anchor=(0.5, bottom),
            ncol=ncol,
            labelspacing=0.5 if ncol > 1 else 0.25,
            borderpad=0.0,
            frameon=False,
            fontsize=small - 0.5,
            handlelength=handlelength,
            handleheight=0.9,
            columnspacing=columnspacing,
            handletextpad=handletextpad,
        )
        box = legend.get_window_extent(renderer)
        if box.width <= fig.bbox.width - 1 or ncol == 1:
            bottom = fig.transFigure.inverted().transform((0, box.y1))[1] + gap
            break
        legend.remove()
    ax = fig.add_axes((0.0, bottom, 1.0, 0.98 - bottom))
    wedges, _ = ax.pie(
        sizes,
        colors=colors,
        startangle=90,
        counterclock=False,
        wedgeprops={"width": WEDGE_WIDTH, "edgecolor": "white", "linewidth": 0.8},
    )
    outside_labels, label_xy = [], []
    for wedge, size, label, text in zip(wedges, sizes, labels, shown, strict=True):
        if size >= LABEL_ON_WEDGE:  # named, with its share, beside the wedge
            angle = math.radians((wedge.theta1 + wedge.theta2) / 2)
            x, y = math.cos(angle), math.sin(angle)
            label_xy.append((1.1 * x, 1.1 * y))
            outside_labels.append(
                ax.text(
                    1.1 * x,
                    1.1 * y,
                    f"{label} {text}" if abs(y) > 0.7 else f"{label}\n{text}",  # one line
                    ha="left" if x > 0.2 else ("right" if x < -0.2 else "center"),
                    va="bottom" if y > 0.7 else ("top" if y < -0.7 else "center"),
                    multialignment="center",
                    fontsize=small,
                    linespacing=1.1,
                )
            )
    # the total over its unit, 1.5 pt either side of the centre line
    centre = ax.annotate(
        num(total, 0 if total >= 10 else 1),
        (0, 0),
        xytext=(0, 1.5),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=11,
        fontweight="bold",
        color=style.config["colors"]["total"],
    )
    unit_text = ax.annotate(
        unit, (0, 0), xytext=(0, -1.5), textcoords="offset points", ha="center", va="top", fontsize=small
    )
    ax.set_xlim(-1.8, 1.8)
    ax.set_ylim(-1.32, 1.32)
    ax.set_aspect("equal")
    ax.axis("off")
    _keep_inside(fig, outside_labels)
    # a name under the pie stays above the legend, one over it inside the figure: the pie shrinks until so
    floor_y, ceiling_y = bottom, 1.0 - 2.0 / height_pt
    to_fig = fig.transFigure.inverted()
    for _ in range(8):
        boxes = [t.get_window_extent(renderer) for t in outside_labels]
        low = to_fig.transform((0, min((b.y0 for b in boxes), default=1.0)))[1]
        high = to_fig.transform((0, max((b.y1 for b in boxes), default=0.0)))[1]
        if low >= floor_y and high <= ceiling_y:
            break
        p = ax.get_position()
        raise_by = max(0.0, floor_y - low) * 2.2  # the pie's centre moves half as far as the axes' edge
        lower_by = max(0.0, high - ceiling_y) * 2.2
        ax.set_position((p.x0, p.y0 + raise_by, p.width, p.height - raise_by - lower_by))
        for t, (x, y) in zip(outside_labels, label_xy, strict=True):
            t.set_position((x, y))
        _keep_inside(fig, outside_labels)
    # the total and its unit fit the hole with a margin: every corner of their boxes lies inside the ring,
    # so a wide number ("6,843") is set smaller (never under the type floor) instead of touching the ring
    fit_inside(fig)  # as the figures stage will (a no-op then): the pie is measured where it is drawn
    ax.apply_aspect()
    cx, cy = ax.transData.transform((0, 0))
    radius = ax.transData.transform((1 - WEDGE_WIDTH, 0))[0] - cx - 1.5 * fig.dpi / 72  # 1.5 pt clear of the ring
    floor = style.config["font"]["floor"]

    def reach() -> float:
        boxes = [t.get_window_extent(renderer) for t in (centre, unit_text)]
        return max(math.hypot(x - cx, y - cy) for b in boxes for x in (b.x0, b.x1) for y in (b.y0, b.y1))

    while reach() > radius and centre.get_fontsize() > floor:
        centre.set_fontsize(max(floor, centre.get_fontsize() - 0.5))
    return fig


def _keep_inside(fig: Figure, texts) -> None:
    """Shift a slice's name sideways until it lies inside the figure (a name beside a wide slice near
    the left or right edge would otherwise be cut)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    margin = 2.0  # pixels
    for text in texts:
        box = text.get_window_extent(renderer)
        shift = max(0.0, margin - box.x0) - max(0.0, box.x1 - (fig.bbox.width - margin))
        if shift:
            x, y = text.get_position()
            to_data = text.axes.transData.inverted()
            x0, _ = to_data.transform((0, 0))
            x1, _ = to_data.transform((shift, 0))
            text.set_x(x + (x1 - x0))


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    shares = data.table("material_flow_shares")
    totals = data.table("material_flow_totals").set_index("pie")
    metrics = data.metrics("material_flow")
    out = {}
    for name in figures:
        pie = FIGURE_PIES[name]
        slices = shares[shares["pie"] == pie]
        spec = totals.loc[pie]
        total = metrics[f"total_{pie}"]
        year = int(metrics[f"year_{pie}"])
        title = style.label("pies.title", name=style.name(pie), year=year)
        top = metrics[f"top_share_{pie}"]
        hhi = metrics[f"hhi_{pie}"]
        top_code = slices[slices["country"] != "OTH"].sort_values("share_pct").iloc[-1]["country"]
        note = style.label("pies.concentration", top=style.name(top_code), share=num(top), hhi=num(hhi))
        fig = draw_pie(slices, total, spec["unit"], style, note)
        parts = style.label("list_sep").join(
            f"{style.name(c)} {share_text(s, st == 'estimated')}"
            for c, s, st in zip(slices["country"], slices["share_pct"], slices["status"], strict=True)
        )
        alt = style.label("pies.alt", title=title, total=num(total), unit=spec["unit"], parts=parts, hhi=num(hhi))
        tables = (
            ["usgs_mcs2023_world", "material_flow_totals"]
            if spec["basis"] == "usgs"
            else ["material_flow_pies", "material_flow_totals"]
        )
        out[name] = Drawn(
            fig,
            title,
            alt,
            tables,
            values={
                "slices": {c: round(float(s), 4) for c, s in zip(slices["country"], slices["share_pct"], strict=True)},
                "estimated": [
                    c for c, st in zip(slices["country"], slices["status"], strict=True) if st == "estimated"
                ],
                "total": total,
                "unit": spec["unit"],
                "basis": spec["basis"],
                "year": year,
                "top_share": top,
                "hhi": hhi,
            },
        )
    return out
