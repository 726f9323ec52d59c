"""Where power semiconductors are used (p.29): a log-log map of output power against switching frequency.

Device regions (kind = region) are translucent rounded rectangles over their power and frequency ranges; a
region that contains two or more others (GaN, the envelope of lateral and vertical GaN) is drawn as a dashed
outline so it does not tint the regions inside it. Regions with a practical-use entry (lateral and vertical
GaN) are highlighted and carry it, and their gallium content, under their name; a region expected only
later (vertical GaN, late 2020s) has a dashed edge. Each region name is put where it overlaps the fewest
other regions and no other label. Applications (kind = application) are small tags anchored at the
geometric centre of their ranges, a bound left empty (beyond the axis) taken at the axis edge. Every extent
is approximate; a footnote in the figure says so.
"""

from __future__ import annotations

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

FIGURE = "gan_application_map"
GRID = 13  # candidate label positions per side inside a region


def log_bounds(row, axis: dict) -> tuple[float, float, float, float]:
    """(log10 f_min, log10 f_max, log10 P_min, log10 P_max); an empty bound is the axis edge."""

    def get(col, edge):
        value = row[col]
        return math.log10(edge if value is None or (isinstance(value, float) and math.isnan(value)) else value)

    return (
        get("freq_min_hz", axis["axis_freq_min_hz"]),
        get("freq_max_hz", axis["axis_freq_max_hz"]),
        get("power_min_w", axis["axis_power_min_w"]),
        get("power_max_w", axis["axis_power_max_w"]),
    )


def tick_text(style: Style, exponent: int, unit_key: str) -> str:
    """10**exponent as '10kHz', '1MW', with SI prefixes from the label file."""
    prefixes = style.labels["policy_gan"]["prefix"]
    base = max(int(k) for k in prefixes if int(k) <= exponent)
    return style.label(
        "policy_gan.tick",
        value=num(10 ** (exponent - base)),
        prefix=prefixes[str(base)],
        unit=style.label(f"policy_gan.{unit_key}"),
    )


def _value_text(style: Style, value: float, unit_key: str) -> str:
    """A value in Hz or W for the alt text: 5000 -> '5kHz', 316228 -> '316kHz' (two or three figures)."""
    prefixes = style.labels["policy_gan"]["prefix"]
    exponent = int(math.floor(math.log10(value) + 1e-9))
    base = max(int(k) for k in prefixes if int(k) <= exponent)
    mantissa = value / 10**base
    return style.label(
        "policy_gan.tick",
        value=num(mantissa, 0 if mantissa >= 10 or mantissa == int(mantissa) else 1),
        prefix=prefixes[str(base)],
        unit=style.label(f"policy_gan.{unit_key}"),
    )


def _darker(color: str, factor: float = 0.62) -> tuple:
    """The region's colour, darkened so its name reads on the translucent fill."""
    r, g, b, _ = to_rgba(color)
    return (r * factor, g * factor, b * factor, 1.0)


def wrap_name(style: Style, text: str, width: int) -> str:
    """Wrap a name; Japanese uses the timelines' wrapper (no break inside Latin words, no orphans)."""
    from critmet.figures.plot_policy_timelines import wrap_label

    return wrap_label(style, text, width)


def _contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] and outer[2] <= inner[2] and inner[3] <= outer[3]


def _overlap(a, b) -> float:
    """Overlap area of two (x0, x1, y0, y1) rectangles."""
    w = min(a[1], b[1]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[2], b[2])
    return w * h if w > 0 and h > 0 else 0.0


def _bbox_data(ax, artist, renderer, clearance: float = 1.08):
    """A text's extent in data coordinates (x0, x1, y0, y1), widened by `clearance` about its centre."""
    ext = artist.get_window_extent(renderer).expanded(clearance, clearance + 0.04)
    (x0, y0), (x1, y1) = ax.transData.inverted().transform([[ext.x0, ext.y0], [ext.x1, ext.y1]])
    return (x0, x1, y0, y1)


def draw_map(frame, axis: dict, style: Style) -> tuple[Figure, dict]:
    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    order = style.order("device_class")
    frame = frame.assign(_rank=[order.index(c) for c in frame["device_class"]]).sort_values("_rank")
    regions = frame[frame["kind"] == "region"]
    apps = frame[frame["kind"] == "application"]

    fig = Figure(figsize=style.size("gan_map"))
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.add_axes((0.14, 0.235, 0.80, 0.745))
    lx = (math.log10(axis["axis_freq_min_hz"]), math.log10(axis["axis_freq_max_hz"]))
    ly = (math.log10(axis["axis_power_min_w"]), math.log10(axis["axis_power_max_w"]))
    ax.set_xlim(*lx)
    ax.set_ylim(*ly)
    xt = list(range(math.ceil(lx[0]), math.floor(lx[1]) + 1))
    yt = list(range(math.ceil(ly[0]), math.floor(ly[1]) + 1))
    ax.set_xticks(xt)
    ax.set_xticklabels([tick_text(style, e, "unit_freq") for e in xt])
    ax.tick_params(axis="x", pad=6)  # the first frequency stays clear of the lowest power at the corner
    ax.set_yticks(yt)
    ax.set_yticklabels([tick_text(style, e, "unit_power") for e in yt])
    ax.set_xlabel(style.label("policy_gan.x_label"))
    y_label = style.label("policy_gan.y_label")
    if style.lang == "ja" and len(y_label) <= 6:  # short Japanese label: upright characters, stacked
        ax.set_ylabel("\n".join(y_label), rotation=0, va="center", linespacing=1.0, labelpad=8)
    else:
        ax.set_ylabel(y_label)
    ax.grid(color=colors["grid"], lw=0.6)
    ax.set_axisbelow(True)
    ax.spines["top"].set_visible(True)
    ax.spines["right"].set_visible(True)

    rects = {r["device_class"]: log_bounds(r, axis) for _, r in regions.iterrows()}
    envelopes = {c for c, b in rects.items() if sum(_contains(b, o) for k, o in rects.items() if k != c) >= 2}
    drawn_regions = {}
    # larger regions first, so smaller ones lie on top
    for _, row in sorted(
        regions.iterrows(),
        key=lambda r: (
            -(rects[r[1]["device_class"]][1] - rects[r[1]["device_class"]][0])
            * (rects[r[1]["device_class"]][3] - rects[r[1]["device_class"]][2])
        ),
    ):
        code = row["device_class"]
        x0, x1, y0, y1 = rects[code]
        color = style.color(code)
        highlighted = isinstance(row["practical_use"], str)
        late = row["practical_use"] == "late_2020s"
        if code in envelopes:
            face, lw, ls = "none", 1.3, (0, (5, 2.5))
        else:
            face = to_rgba(color, 0.38 if highlighted else 0.16)
            lw, ls = (1.8 if highlighted else 0.9), ((0, (4, 2)) if late else "-")
        patch = FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.12",
            facecolor=face,
            edgecolor=color,
            lw=lw,
            ls=ls,
            zorder=2 if highlighted else 1.5,
            gid=f"region:{code}",
        )
        ax.add_patch(patch)
        drawn_regions[code] = patch

    # application tags anchored at the geometric centre of their ranges; the alignment (which side of the
    # anchor the tag extends to) keeps each tag inside the axes and clear of the tags already placed
    taken = []
    app_values = {}
    alignments = [
        ("center", "center"),
        ("center", "top"),
        ("center", "bottom"),
        ("left", "center"),
        ("right", "center"),
        ("left", "top"),
        ("right", "top"),
        ("left", "bottom"),
        ("right", "bottom"),
    ]
    pending = []
    for _, row in apps.iterrows():
        code = row["device_class"]
        fx0, fx1, py0, py1 = log_bounds(row, axis)
        cx, cy = (fx0 + fx1) / 2, (py0 + py1) / 2
        text = wrap_name(style, style.name(code), 13 if style.lang == "ja" else 18)
        artist = ax.annotate(
            text,
            xy=(cx, cy),
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=small - 0.5,
            color=colors["ink"],
            linespacing=1.05,
            zorder=5,
            gid=f"app:{code}",
            bbox={
                "boxstyle": "round,pad=0.2,rounding_size=0.3",
                "facecolor": "white",
                "alpha": 0.9,
                "edgecolor": colors["muted"],
                "linewidth": 0.5,
            },
        )
        inside = []
        inset = 2.5  # points between a tag and the axis edge it is aligned to
        for ha, va in alignments:
            artist.set_horizontalalignment(ha)
            artist.set_verticalalignment(va)
            artist.xyann = (
                {"left": inset, "right": -inset}.get(ha, 0),
                {"bottom": inset, "top": -inset}.get(va, 0),
            )
            b = _bbox_data(ax, artist, renderer, clearance=1.0)
            eps = 0.02
            if b[0] >= lx[0] - eps and b[1] <= lx[1] + eps and b[2] >= ly[0] - eps and b[3] <= ly[1] + eps:
                inside.append((ha, va, artist.xyann, b))
        pending.append((code, artist, inside))
        app_values[code] = {"freq_hz": round(10**cx, 6), "power_w": round(10**cy, 6)}
    for code, artist, inside in sorted(pending, key=lambda p: len(p[2])):  # the most constrained first
        if not inside:
            raise ValueError(f"gan_application_map: the tag of {code} does not fit inside the axes")
        free = [c for c in inside if all(_overlap(c[3], t) == 0 for t in taken)]
        ha, va, offset, b = (free or inside)[0]
        artist.set_horizontalalignment(ha)
        artist.set_verticalalignment(va)
        artist.xyann = offset
        taken.append(_bbox_data(ax, artist, renderer))

    # region names: where the name overlaps the fewest other regions and no other label
    label_values = {}
    by_size = sorted(rects, key=lambda c: (rects[c][1] - rects[c][0]) * (rects[c][3] - rects[c][2]))
    for code in by_size:
        row = regions[regions["device_class"] == code].iloc[0]
        name = style.name(code)
        if isinstance(row["practical_use"], str):
            name = style.label(
                "policy_gan.region_status",
                name=name,
                status=style.label(f"policy_gan.practical_use.{row['practical_use']}"),
                amount=style.label(f"policy_gan.ga_amount.{row['ga_amount']}")
                if isinstance(row["ga_amount"], str)
                else "",
            )
        x0, x1, y0, y1 = rects[code]
        artist = ax.text(
            0,
            0,
            name,
            ha="center",
            va="center",
            fontsize=small,
            fontweight="bold",
            color=_darker(style.color(code)),
            linespacing=1.05,
            zorder=6,
            gid=f"name:{code}",
        )
        best = None
        for i in range(GRID):
            for j in range(GRID):
                px = x0 + (x1 - x0) * (i + 0.5) / GRID
                py = y0 + (y1 - y0) * (j + 0.5) / GRID
                artist.set_position((px, py))
                b = _bbox_data(ax, artist, renderer)
                area = (b[1] - b[0]) * (b[3] - b[2])
                outside = area - _overlap(b, (x0, x1, y0, y1))  # part of the name outside its own region
                off_axes = area - _overlap(b, (lx[0], lx[1], ly[0], ly[1]))
                clash = sum(_overlap(b, t) for t in taken)
                others = sum(_overlap(b, rects[o]) * (0.3 if o in envelopes else 1.0) for o in rects if o != code)
                centre = math.hypot(px - (x0 + x1) / 2, py - (y0 + y1) / 2)
                score = (1000 * (clash + off_axes) + 50 * outside + others) / area + 0.01 * centre
                if best is None or score < best[0]:
                    best = (score, px, py, b)
        artist.set_position((best[1], best[2]))
        taken.append(best[3])
        label_values[code] = {
            "freq_hz": [round(10**x0, 6), round(10**x1, 6)],
            "power_w": [round(10**y0, 6), round(10**y1, 6)],
        }

    if (frame["extent"] == "approximate").any():
        fig.text(
            0.02,
            0.015,
            style.wrap(style.label("policy_gan.footnote"), 42 if style.lang == "ja" else 80),
            ha="left",
            va="bottom",
            fontsize=small - 1.0,
            color=colors["muted"],
            linespacing=1.1,
            gid="footnote",
        )
    info = {
        "regions": {c: label_values[c] for c in rects},
        "applications": app_values,
        "envelopes": sorted(envelopes),
    }
    return fig, info


# ------------------------------------------------------------------------------ cross-sections
CROSS = "gan_cross_sections"
# A schematic, not to scale: layers bottom to top as (label key, height, colour key); electrodes as
# (letter key, x0, x1, on top?). Units are those of a 10 x 10 drawing box per device.
CROSS_LAYERS = {
    "DC_GAN_LATERAL": [
        ("si_substrate", 3.2, "#b8bec6"),
        ("buffer", 1.2, "#dde3ea"),
        ("gan_channel", 1.6, "#9cc3e6"),
        ("algan_barrier", 0.6, "#cfe2f3"),
    ],
    "DC_GAN_VERTICAL": [("gan_substrate", 2.6, "#6fa8dc"), ("gan_drift", 2.8, "#9cc3e6"), ("p_gan", 1.0, "#cfe2f3")],
}
CROSS_ELECTRODES = {
    "DC_GAN_LATERAL": [("source", 0.4, 2.0, True), ("gate", 4.2, 5.4, True), ("drain", 7.6, 9.2, True)],
    "DC_GAN_VERTICAL": [
        ("source", 0.4, 2.6, True),
        ("gate", 3.9, 5.7, True),
        ("source", 7.0, 9.2, True),
        ("drain", 0.0, 9.6, False),
    ],
}


def draw_cross_sections(frame, style: Style) -> tuple[Figure, dict]:
    """Lateral GaN (GaN on Si) and vertical GaN (GaN on GaN) side by side, as schematic cross-sections:
    layers, electrodes (source, gate, drain) and the path of the current, with each device's practical-use
    status and gallium content from the table."""
    from matplotlib.patches import FancyArrowPatch, Rectangle

    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    fig = Figure(figsize=style.size("cross"))
    rows = frame[frame["kind"] == "region"].set_index("device_class")
    info: dict[str, dict] = {}
    electrode_color = "#e8a33d"
    for k, device in enumerate(CROSS_LAYERS):
        ax = fig.add_axes((0.01 + k * 0.5, 0.13, 0.48, 0.66))
        ax.set_xlim(-0.2, 17.0)  # the drawing is 9.6 wide: the rest holds the layer names
        ax.set_ylim(-1.2, 8.6)
        ax.axis("off")
        row = rows.loc[device]
        status = style.label(
            "policy_gan.region_status",
            name=style.name(device),
            status=style.label(f"policy_gan.practical_use.{row['practical_use']}"),
            amount=style.label(f"policy_gan.ga_amount.{row['ga_amount']}"),
        ).split("\n")
        fig.text(
            0.02 + k * 0.5,
            0.975,
            status[0],
            ha="left",
            va="top",
            fontsize=small + 1,
            fontweight="bold",
            color=colors["ink"],
            gid=f"cross_title:{device}",
        )
        fig.text(
            0.02 + k * 0.5,
            0.975 - ((small + 1) * 1.4 + 2) / 72 / fig.get_size_inches()[1],  # under the title's printed height
            status[1],
            ha="left",
            va="top",
            fontsize=small,
            color=colors["accent"],
            gid=f"cross_status:{device}",
        )
        y = 0.0
        layers = []
        label_y = -math.inf  # a thin layer's name is moved up so that no two names touch
        for key, height, color in CROSS_LAYERS[device]:
            label_y = max(y + height / 2, label_y + 1.35)
            ax.add_patch(
                Rectangle((0, y), 9.6, height, facecolor=color, edgecolor="white", lw=0.8, gid=f"layer:{device}:{key}")
            )
            ax.text(
                9.9,
                label_y,
                style.label(f"policy_gan.cross.{key}"),
                ha="left",
                va="center",
                fontsize=small - 0.8,
                color=colors["ink"],
                gid=f"layer_label:{device}:{key}",
            )
            layers.append(key)
            y += height
        top = y
        electrodes = []
        for key, x0, x1, on_top in CROSS_ELECTRODES[device]:
            ey = top if on_top else -0.8
            ax.add_patch(
                Rectangle(
                    (x0, ey),
                    x1 - x0,
                    0.8,
                    facecolor=electrode_color,
                    edgecolor="none",
                    gid=f"electrode:{device}:{key}:{'top' if on_top else 'bottom'}",
                )
            )
            ax.text(
                (x0 + x1) / 2,
                ey + 0.4,
                style.label(f"policy_gan.cross.{key}_short"),
                ha="center",
                va="center",
                fontsize=small - 0.8,
                fontweight="bold",
                color="white",
            )
            electrodes.append((key, "top" if on_top else "bottom"))
        if device == "DC_GAN_LATERAL":  # the current flows sideways in the channel under the barrier
            y_ch = top - 0.6 - 0.45
            start, end = (1.2, y_ch), (8.4, y_ch)
        else:  # the current flows down through the drift layer and the substrate to the back contact
            start, end = (4.8, top - 1.3), (4.8, 0.3)
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>,head_length=4,head_width=2.2",
                color=colors["CN"],
                lw=1.3,
                gid=f"current:{device}",
            )
        )
        info[device] = {
            "layers": layers,
            "electrodes": electrodes,
            "current": [start, end],
            "practical_use": row["practical_use"],
            "ga_amount": row["ga_amount"],
        }
    fig.text(
        0.01,
        0.01,
        style.label("policy_gan.cross.note"),
        ha="left",
        va="bottom",
        fontsize=small - 1,
        color=colors["muted"],
        gid="cross_note",
    )
    return fig, info


def cross_sections(data: FigureData, style: Style) -> Drawn:
    frame = data.table("gan_application_map")
    fig, info = draw_cross_sections(frame, style)
    title = style.label("policy_gan.cross.title")
    alt = style.label("policy_gan.cross.alt", title=title)
    return Drawn(fig, title, alt, ["gan_application_map"], values=info)


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    out = {}
    for name in figures:
        if name == CROSS:
            out[name] = cross_sections(data, style)
            continue
        if name != FIGURE:
            raise ValueError(f"plot_gan_map does not draw {name!r}")
        frame = data.table("gan_application_map")
        metrics = data.metrics("gan_map")
        axis = {
            k: float(metrics[k])
            for k in ("axis_freq_min_hz", "axis_freq_max_hz", "axis_power_min_w", "axis_power_max_w")
        }
        fig, info = draw_map(frame, axis, style)
        title = style.label("policy_gan.title")
        sep = style.label("list_sep")

        def hz(v):
            return _value_text(style, v, "unit_freq")

        def w(v):
            return _value_text(style, v, "unit_power")

        regions = sep.join(
            style.label(
                "policy_gan.alt_region",
                name=style.name(c),
                pmin=w(v["power_w"][0]),
                pmax=w(v["power_w"][1]),
                fmin=hz(v["freq_hz"][0]),
                fmax=hz(v["freq_hz"][1]),
            )
            for c, v in info["regions"].items()
        )
        apps = sep.join(
            style.label("policy_gan.alt_app", name=style.name(c), f=hz(v["freq_hz"]), p=w(v["power_w"]))
            for c, v in info["applications"].items()
        )
        alt = style.label(
            "policy_gan.alt",
            title=title,
            fmin=hz(axis["axis_freq_min_hz"]),
            fmax=hz(axis["axis_freq_max_hz"]),
            pmin=w(axis["axis_power_min_w"]),
            pmax=w(axis["axis_power_max_w"]),
            regions=regions,
            apps=apps,
        )
        values = {"axis": axis, "extent": sorted(set(frame["extent"])), **info}
        out[name] = Drawn(fig, title, alt, ["gan_application_map"], values=values)
    return out
