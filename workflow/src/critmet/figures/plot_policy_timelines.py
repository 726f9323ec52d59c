"""Policy timelines of the EU, the US and China (pp.6-8) and the mineral-selection funnel (p.10).

Timelines: one horizontal lane per policy lane of the jurisdiction (codes/policy_lane.csv, in code-list
order, only lanes holding events), 2010-2023 with a tick per year. Each dated event (kind = event) is a
marker at its date (YYYY-MM -> year + (month - 1) / 12; a year-only date at mid-year) with a boxed label
beside it. Boxes are packed greedily in tiers inside their lane, each marker on its own box's tier (no
leader lines), so no two labels overlap; the label size is the largest at which every lane fits, shared by
the timelines of one language. Undated events (策定中) sit in a column at the right end under an 'in
preparation' header. Update arrows (kind = update_marker) run in a strip at the bottom of their lane, from
the date of the event in from_event (or from the left edge when the revised plan predates the axis) to the
date of each event in to_event, labelled with the marker's text (更新 / 反映); a dotted drop line ties each
arrow end to its event's marker. Annotations are left to the page text.

Funnel: the three input lists, then Step 1-3 and the final two minerals, as bars centred on one axis whose
widths are the counts, with the step name on the left and the step's mineral symbols on the right.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from critmet.figures.common import Drawn, FigureData
from critmet.figures.style import Style
from critmet.report.filters import num

FIGURE_JURISDICTION = {"policy_timeline_eu": "EUR", "policy_timeline_us": "US", "policy_timeline_cn": "CN"}
FUNNEL = "mineral_funnel"
AXIS_START, AXIS_END = 2010, 2023  # first and last year drawn (one tick each)
FONT_SIZES = (8.5, 8.0, 7.5)  # label sizes tried (chart floor 7.5 pt), largest first, until every lane fits the figure
WRAPS = {"ja": (8, 10, 12, 14, 16, 19), "en": (18, 22, 26, 30, 34, 40, 48, 60)}  # label widths tried (characters)
UNDATED_WRAP = {"ja": 12, "en": 24}  # label width in the 'in preparation' column
BOX_PAD = 0.22  # label box padding, in units of the font size
ARROW_PAD = 0.1  # padding of an arrow label's box, in units of its font size
LINESPACING = 1.08
MARKER_PT = 4.2  # marker size (points)
GAP_IN = 0.05  # gap between a marker and its box, and between stacked boxes (inches)
LANE_PAD_IN = 0.05  # free space at the top and bottom of each lane (inches)
LABEL_COL_IN = 1.45  # widest lane-name column at the left (inches); narrower when the lane names allow
LANE_WRAP = {"ja": 9, "en": 20}  # lane-name width (characters)
UNDATED_MAX_IN = 1.6  # widest 'in preparation' column (inches)

_DATE = re.compile(r"^\s*(\d{4})(?:\.0)?(?:-(\d{1,2}))?\s*$")
_TRAILING_BRACKET = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,'’\-/]*|\s+|.", re.S)


# ---------------------------------------------------------------- helpers shared with the tests
def event_x(date) -> float | None:
    """'2014-05' -> 2014 + 4/12; '2011' -> 2011.5 (mid-year); empty -> None (undated)."""
    if date is None or (isinstance(date, float) and math.isnan(date)):
        return None
    if isinstance(date, (int, float)):
        date = str(int(date))
    match = _DATE.match(str(date))
    if not match:
        raise ValueError(f"policy_events: date {date!r} is neither YYYY nor YYYY-MM")
    year, month = int(match.group(1)), match.group(2)
    if month is None:
        return year + 0.5
    month = int(month)
    if not 1 <= month <= 12:
        raise ValueError(f"policy_events: month out of range in {date!r}")
    return year + (month - 1) / 12.0


def event_text(row, style: Style) -> str:
    """The event's label in the style's language (a data column, not a code name)."""
    return str(row[f"event_{style.lang}"])


def lane_name(style: Style, code: str) -> str:
    """The lane's name from the code list, without the trailing '(jurisdiction)' the title already gives."""
    name = style.name(code)
    short = _TRAILING_BRACKET.sub("", name)
    return short or name


def _char_width(ch: str) -> float:
    if ch.isspace():
        return 0.3
    return 0.55 if ord(ch) < 0x2E80 else 1.0


def wrap_label(style: Style, text: str, width: int) -> str:
    """Wrap to about `width` full-width characters; a last line of a character or two (an orphan) is
    avoided by wrapping narrower into the same number of lines. English: style.wrap. Japanese: _wrap_once."""
    wrapped = _wrap_once(style, text, width)
    lines = wrapped.count("\n")
    narrower = width - 1
    while lines and _line_width(wrapped.split("\n")[-1]) <= 0.2 * width and narrower >= max(4, width // 2):
        candidate = _wrap_once(style, text, narrower)
        if candidate.count("\n") != lines or candidate.split() != text.split() and style.lang != "ja":
            break
        wrapped, narrower = candidate, narrower - 1
    return wrapped


def _line_width(line: str) -> float:
    return sum(_char_width(c) for c in line)


def _wrap_once(style: Style, text: str, width: int) -> str:
    """Japanese: break before an opening bracket where it can, never inside a Latin word or number, never a
    closing mark at a line start or an opening mark at a line end. English: style.wrap."""
    if style.lang != "ja":
        return style.wrap(text, width)
    from critmet.report.text import NO_LINE_END, NO_LINE_START

    cut = text.find("（")
    if 0 < cut and sum(_char_width(c) for c in text[:cut]) <= width + 2 and sum(map(_char_width, text)) > width:
        return text[:cut] + "\n" + _wrap_once(style, text[cut:], width)
    lines: list[list[str]] = [[]]
    used = 0.0
    for tok in _TOKEN.findall(text):
        tok_w = sum(_char_width(c) for c in tok)
        if tok.isspace():
            if lines[-1]:
                lines[-1].append(" ")
                used += tok_w
            continue
        if used + tok_w > width and lines[-1] and tok[0] not in NO_LINE_START:
            carry: list[str] = []
            while lines[-1] and lines[-1][-1] in NO_LINE_END:
                carry.insert(0, lines[-1].pop())
            while lines[-1] and lines[-1][-1] == " ":
                lines[-1].pop()
            if lines[-1]:
                lines.append(carry)
                used = sum(_char_width(c) for t in carry for c in t)
            else:  # the whole line was opening marks: keep them with the token
                lines[-1] = carry
        lines[-1].append(tok)
        used += tok_w
    return "\n".join("".join(line).strip() for line in lines if "".join(line).strip())


def format_date(style: Style, date) -> str:
    match = _DATE.match(str(date))
    year, month = int(match.group(1)), match.group(2)
    if month is None:
        return style.label("policy_timeline.date_year", year=year)
    months = style.labels["policy_timeline"]["months"]
    return style.label("policy_timeline.date_month", year=year, month=int(month), month_name=months[int(month) - 1])


# ------------------------------------------------------------------------------------ timeline
@dataclass
class _Item:
    event_id: str
    lane: str
    x: float  # marker position (years)
    text: str
    undated: bool
    raw: str = ""  # the unwrapped label
    w: float = 0.0  # box width (inches)
    h: float = 0.0  # box height (inches)
    x0: float = 0.0  # footprint (years), marker included
    x1: float = 0.0
    y: float = 0.0  # bottom of the box above the lane's bottom padding (inches)
    flipped: bool = False  # box to the left of the marker


@dataclass
class _Arrow:
    marker_id: str
    lane: str
    text: str
    src: _Item | None  # None: from a plan that predates the axis (the arrow enters from the left edge)
    dst: _Item
    tier: int = 0
    x0: float = 0.0  # arrow tail and head (years)
    x1: float = 0.0
    label_x: float = 0.0
    label_ha: str = "center"


ARROW_LEFT = AXIS_START - 0.05  # where an arrow from a plan before the axis starts (years)


def _arrows(rows, items: list[_Item], style: Style) -> list[_Arrow]:
    """The update arrows of one jurisdiction, their ends checked against its events."""
    by_id = {it.event_id: it for it in items}
    out = []
    for _, row in rows[rows["kind"] == "update_marker"].iterrows():
        ends = {}
        for column in ("from_event", "to_event"):
            value = row.get(column)
            ids = [] if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).split("|")
            for event_id in ids:
                if event_id.strip() not in by_id:
                    raise ValueError(
                        f"policy_events.csv, row {row['event_id']}, column '{column}': {event_id!r} is not an "
                        f"event of {row['jurisdiction']}; expected the event_id of one of its dated or undated events"
                    )
            ends[column] = [by_id[i.strip()] for i in ids]
        if not ends["to_event"] or len(ends["from_event"]) > 1:
            raise ValueError(
                f"policy_events.csv, row {row['event_id']}: an update arrow needs one to_event (or several joined "
                f"by '|') and at most one from_event; got from {row.get('from_event')!r}, to {row.get('to_event')!r}"
            )
        src = ends["from_event"][0] if ends["from_event"] else None
        for dst in ends["to_event"]:
            out.append(_Arrow(row["event_id"], row["lane"], str(row[f"event_{style.lang}"]), src, dst))
    return out


def _pack_arrows(arrows: list[_Arrow], measure, years_per_in: float, right_limit: float) -> dict[str, int]:
    """Tiers of arrows in each lane's strip: an arrow's label sits on the arrow when it fits, else beside
    its head (or its tail near the right edge); arrows whose footprints overlap take different tiers.
    Returns the number of tiers per lane."""
    gap = GAP_IN * years_per_in
    # a span: (left, right, left end is an arrow's tail, right end is an arrow's head); a head may meet the
    # next arrow's tail at the same event (a chain of revisions drawn on one line)
    tiers: dict[str, list[list[tuple[float, float, bool, bool]]]] = {}

    def free(span, spans) -> bool:
        lo, hi, lo_tail, hi_head = span
        for s0, s1, s0_tail, s1_head in spans:
            chained = (hi_head and s0_tail and abs(hi - s0) < 1e-9) or (s1_head and lo_tail and abs(s1 - lo) < 1e-9)
            if not (chained or hi + gap <= s0 or s1 + gap <= lo):
                return False
        return True

    for a in sorted(arrows, key=lambda a: (a.lane, a.src.x if a.src else ARROW_LEFT, a.dst.x, a.marker_id)):
        a.x0 = a.src.x if a.src else ARROW_LEFT
        a.x1 = a.dst.x
        w = measure(a.text)[0] * years_per_in
        if a.x1 - a.x0 >= w + 2 * gap + 0.25 * years_per_in:
            a.label_x, a.label_ha, span = (a.x0 + a.x1) / 2, "center", (a.x0, a.x1, a.src is not None, True)
        elif a.x1 + gap + w <= right_limit:
            a.label_x, a.label_ha, span = a.x1 + gap, "left", (a.x0, a.x1 + gap + w, a.src is not None, False)
        else:
            a.label_x, a.label_ha, span = a.x0 - gap, "right", (a.x0 - gap - w, a.x1, False, True)
        lane = tiers.setdefault(a.lane, [])
        for t, spans in enumerate(lane):
            if free(span, spans):
                spans.append(span)
                a.tier = t
                break
        else:
            lane.append([span])
            a.tier = len(lane) - 1
    return {lane: len(spans) for lane, spans in tiers.items()}


_MEASURED: dict[tuple, tuple[float, float]] = {}


def _measure(fig: Figure, renderer, text: str, size: float) -> tuple[float, float]:
    """Width and height in inches of `text` in a box with BOX_PAD padding. Kept for the job (by the text, its
    size, the figure's resolution and the style's fonts): the packing of each label size measures the same
    labels again, and so do the tries of a timeline's height."""
    rc = matplotlib.rcParams
    key = (text, size, fig.dpi, tuple(rc["font.family"]), rc["font.weight"], rc["font.style"], rc["text.hinting"])
    if key not in _MEASURED:
        artist = fig.text(0, 0, text, fontsize=size, linespacing=LINESPACING)
        bbox = artist.get_window_extent(renderer)
        artist.remove()
        pad = 2 * BOX_PAD * size / 72.0
        _MEASURED[key] = (bbox.width / fig.dpi + pad, bbox.height / fig.dpi + pad)
    return _MEASURED[key]


def _place(
    it: _Item,
    placed: list[_Item],
    w: float,
    h: float,
    years_per_in: float,
    left_limit: float,
    right_limit: float,
) -> list[tuple[float, bool, float, float]]:
    """The lowest free height of a w x h box right and left of its marker: [(y, flipped, x0, x1)]."""
    half = (MARKER_PT / 144.0 + GAP_IN) * years_per_in
    span = w * years_per_in
    options = []
    for flipped in (False, True):
        x0, x1 = (it.x - half - span, it.x + half) if flipped else (it.x - half, it.x + half + span)
        if (not flipped and x1 > right_limit) or (flipped and (it.undated or x0 < left_limit)):
            continue
        over = [p for p in placed if p.x0 < x1 and x0 < p.x1]
        for y in sorted({0.0} | {p.y + p.h + GAP_IN for p in over}):
            if all(y + h + GAP_IN <= p.y or p.y + p.h + GAP_IN <= y for p in over):
                options.append((y, flipped, x0, x1))
                break
    if not options:  # too wide for either side: right of the marker, above everything it spans
        x0, x1 = it.x - half, it.x + half + span
        over = [p for p in placed if p.x0 < x1 and x0 < p.x1]
        options.append((max((p.y + p.h + GAP_IN for p in over), default=0.0), False, x0, x1))
    return options


def _pack(
    items: list[_Item],
    wraps: list[int | None],
    measure,
    years_per_in: float,
    left_limit: float,
    right_limit: float,
    width_cost: float = 0.0,
    order: str = "left_first",
) -> float:
    """Place the boxes of one lane in tiers, each at the lowest free height, right or left of its marker;
    boxes are taken left to right, right to left or longest label first (`order`). With one wrap width in
    `wraps` every box uses it; with several, each box takes the width (and side) that keeps its top lowest,
    narrower boxes winning by `width_cost` inches per inch of width. Returns the lane's height."""
    placed: list[_Item] = []
    ordered = sorted(items, key=lambda i: (i.x, i.event_id))
    if order == "right_first":
        ordered = ordered[::-1]
    elif order == "long_first":
        ordered = sorted(ordered, key=lambda i: -len(i.raw))
    for it in ordered:
        best = None
        for width in wraps:
            text, (w, h) = measure(it.raw, width, it.undated)
            for y, flipped, x0, x1 in _place(it, placed, w, h, years_per_in, left_limit, right_limit):
                score = (y + h + width_cost * w, flipped)
                if best is None or score < best[0]:
                    best = (score, text, w, h, y, flipped, x0, x1)
        _, it.text, it.w, it.h, it.y, it.flipped, it.x0, it.x1 = best
        placed.append(it)
    return max((p.y + p.h for p in placed), default=0.0)


def _layout(fig, renderer, style, lanes, items, ax_w_in, size, arrows=()):
    """Every lane packed at label size `size`, each by whichever wrapping strategy packs it lowest (the
    packing does not depend on the figure's height). Returns (lane heights, extra years for the undated
    column, lane names, arrow strips, arrow label height, each item's placement)."""
    lane_size = style.config["font"]["small_size"]
    lane_texts = _lane_texts(style, lanes)
    lane_min = {code: _measure(fig, renderer, t, lane_size)[1] for code, t in lane_texts.items()}
    undated = [it for it in items if it.undated]
    dated_span = (AXIS_END + 1) - (AXIS_START - 0.1)
    widths = WRAPS[style.lang]
    cache: dict = {}

    def measure(raw, width, is_undated):
        width = UNDATED_WRAP[style.lang] if is_undated else width
        if (raw, width) not in cache:
            text = wrap_label(style, raw, width)
            cache[(raw, width)] = (text, _measure(fig, renderer, text, size))
        return cache[(raw, width)]

    col_in = extra = 0.0
    if undated:  # the 'in preparation' column: one wrap width for its boxes
        header_in = _measure(fig, renderer, style.label("policy_timeline.undated"), lane_size)[0]
        col_in = min(
            UNDATED_MAX_IN,
            max(
                max(measure(it.raw, 0, True)[1][0] for it in undated) + MARKER_PT / 72.0 + 3 * GAP_IN,
                header_in + 2 * GAP_IN,  # the column's header fits above it
            ),
        )
        extra = col_in * dated_span / (ax_w_in - col_in)
    years_per_in = (dated_span + extra) / ax_w_in
    for it in undated:
        it.x = AXIS_END + 1 + (MARKER_PT / 144.0 + GAP_IN) * years_per_in
    arrow_size = arrow_font(size)
    arrow_h = max((_measure(fig, renderer, a.text, arrow_size)[1] for a in arrows), default=0.0)
    arrow_h -= 2 * (BOX_PAD - ARROW_PAD) * arrow_size / 72.0  # the arrow labels' boxes are tighter
    arrow_tiers = _pack_arrows(
        list(arrows),
        lambda t, s=arrow_size: _measure(fig, renderer, t, s),
        years_per_in,
        AXIS_END + 1 + extra,
    )
    heights = {}
    strategies = [([w], 0.0) for w in widths] + [(list(widths), c) for c in (0.0, 0.05, 0.15, 0.3)]
    for code in lanes:
        lane_items = [it for it in items if it.lane == code]
        best = None
        for (wraps, cost), order in itertools.product(strategies, ("left_first", "right_first", "long_first")):
            height = _pack(
                lane_items,
                wraps,
                measure,
                years_per_in,
                AXIS_START - 0.1,
                # a lane without an undated event lends its part of the 'in preparation' column
                AXIS_END + 1 + (0.05 if any(it.undated for it in lane_items) else extra),
                cost,
                order,
            )
            if best is None or height < best[0] - 1e-9:
                best = (
                    height,
                    [(it.text, it.w, it.h, it.x0, it.x1, it.y, it.flipped) for it in lane_items],
                )
        height, state = best
        for it, st in zip(lane_items, state, strict=True):
            it.text, it.w, it.h, it.x0, it.x1, it.y, it.flipped = st
        strip = arrow_tiers.get(code, 0) * (arrow_h + GAP_IN)
        heights[code] = max(height + strip, lane_min[code]) + 2 * LANE_PAD_IN
    strips = {code: arrow_tiers.get(code, 0) * (arrow_h + GAP_IN) for code in lanes}
    placement = [(it.text, it.w, it.h, it.x0, it.x1, it.y, it.flipped, it.x) for it in items]
    return heights, extra, lane_texts, strips, arrow_h, placement


def _lane_texts(style: Style, lanes) -> dict[str, str]:
    return {code: wrap_label(style, lane_name(style, code), LANE_WRAP[style.lang]) for code in lanes}


def _label_col(fig, renderer, style: Style, lanes) -> float:
    """The lane-name column: the widest wrapped lane name and a margin either side, at most LABEL_COL_IN."""
    size = style.config["font"]["small_size"]
    widest = max(_measure(fig, renderer, t, size)[0] for t in _lane_texts(style, lanes).values())
    return min(LABEL_COL_IN, round(widest + 0.06 + 0.12, 2))


def arrow_font(size: float) -> float:
    """The size of an update arrow's label: a little smaller than the event labels."""
    return size - 0.5


def draw_timeline(events, jurisdiction: str, style: Style, sizes=FONT_SIZES) -> tuple[Figure, dict]:
    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    jur_color = style.color(jurisdiction)
    rows = events[events["jurisdiction"] == jurisdiction]
    dated_rows = rows[rows["kind"] == "event"]
    lane_order = style.order("policy_lane")
    unknown = sorted(set(dated_rows["lane"]) - set(lane_order))
    if unknown:
        raise ValueError(f"policy_events: lanes {unknown} are not in codes/policy_lane.csv")
    lanes = [code for code in lane_order if code in set(dated_rows["lane"])]
    items = []
    for _, row in dated_rows.iterrows():
        x = event_x(row["date"])
        if x is not None and not (AXIS_START <= x < AXIS_END + 1):
            raise ValueError(f"policy_events {row['event_id']}: date {row['date']} is outside {AXIS_START}-{AXIS_END}")
        items.append(
            _Item(
                row["event_id"],
                row["lane"],
                x if x is not None else math.nan,
                "",
                x is None,
                event_text(row, style),
            )
        )

    arrows = _arrows(rows, items, style)
    unknown = sorted({a.lane for a in arrows} - set(lanes))
    if unknown:
        raise ValueError(f"policy_events: update arrows in lanes {unknown}, which hold no event of {jurisdiction}")

    # the lowest figure between the `full` and `full_max` slots in which the labels fit (type never below
    # the chart floor: a timeline grows rather than shrinks its labels)
    fig_w, fig_h = style.size("full")
    max_h = style.size("full_max")[1]
    has_undated = any(it.undated for it in items)
    bottom_in, top_in = 0.42, (0.2 if has_undated else 0.06)
    probe = Figure(figsize=(fig_w, fig_h))
    renderer = FigureCanvasAgg(probe).get_renderer()  # text extents depend on the dpi, not the figure's height
    label_col = _label_col(probe, renderer, style, lanes)
    ax_w_in = fig_w - label_col - 0.08
    layouts = {size: _layout(probe, renderer, style, lanes, items, ax_w_in, size, arrows) for size in sizes}
    while True:
        avail_h = fig_h - bottom_in - top_in
        size = next((s for s in sizes if sum(layouts[s][0].values()) <= avail_h), None)
        if size is not None:
            break
        if fig_h >= max_h - 1e-9:
            raise ValueError(f"policy timeline {jurisdiction}: the event labels do not fit in {fig_w} x {max_h} in")
        fig_h = min(max_h, round(fig_h + 0.15, 2))
    heights, extra, lane_texts, strips, arrow_h, placement = layouts[size]
    for it, st in zip(items, placement, strict=True):
        it.text, it.w, it.h, it.x0, it.x1, it.y, it.flipped, it.x = st
    fig = Figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((label_col / fig_w, bottom_in / fig_h, ax_w_in / fig_w, avail_h / fig_h))
    x_left, x_dated_end = AXIS_START - 0.1, AXIS_END + 1
    ax.set_xlim(x_left, x_dated_end + extra)
    ax.set_ylim(0, avail_h)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(colors["muted"])
    ax.set_yticks([])
    years = list(range(AXIS_START, AXIS_END + 1))
    ax.set_xticks([y + 0.5 for y in years])
    ax.set_xticklabels([str(y) for y in years])
    ax.tick_params(axis="x", length=0, pad=3)
    ax.set_xticks(years + [AXIS_END + 1], minor=True)
    ax.tick_params(axis="x", which="minor", length=3, color=colors["muted"])
    for y in years + [AXIS_END + 1]:
        ax.axvline(y, color=colors["grid"], lw=0.5, zorder=0)

    # lanes, top to bottom; the spare height is shared out evenly
    spare = (avail_h - sum(heights.values())) / len(lanes)
    top = avail_h
    lane_bounds = {}
    x_label = -(label_col - 0.06) / ax_w_in
    for i, code in enumerate(lanes):
        h = heights[code] + spare
        lane_bounds[code] = (top - h, top)
        ax.axhspan(
            top - h,
            top,
            color=colors["projection_bg"] if i % 2 == 0 else "none",
            lw=0,
            zorder=0,
            gid=f"lane_band:{code}",
        )
        if i:
            ax.axhline(top, color=colors["grid"], lw=0.8, zorder=0.5)
        ax.text(
            x_label,
            top - h / 2,
            lane_texts[code],
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=small,
            linespacing=LINESPACING,
            color=colors["ink"],
            gid=f"lane:{code}",
        )
        top -= h

    years_per_in = (x_dated_end + extra - x_left) / ax_w_in
    gap_years = (MARKER_PT / 144.0 + GAP_IN) * years_per_in
    marker_y = {}
    for it in items:
        bottom, top = lane_bounds[it.lane]
        bottom += strips[it.lane]  # the arrow strip at the lane's bottom
        used = max(o.y + o.h for o in items if o.lane == it.lane)
        y_box = bottom + (top - bottom - used) / 2 + it.y  # the lane's stack of boxes, centred in the lane
        y_mid = y_box + it.h / 2
        marker_y[it.event_id] = y_mid
        ax.plot(
            [it.x],
            [y_mid],
            marker="o",
            ms=MARKER_PT,
            color=jur_color,
            mfc="white" if it.undated else jur_color,
            mew=1.0,
            ls="none",
            zorder=3,
            gid=f"event:{it.event_id}",
        )
        tx = it.x - gap_years if it.flipped else it.x + gap_years
        ax.text(
            tx,
            y_mid,
            it.text,
            ha="right" if it.flipped else "left",
            va="center",
            fontsize=size,
            multialignment="left",
            linespacing=LINESPACING,
            zorder=4,
            gid=f"label:{it.event_id}",
            bbox={
                "boxstyle": f"round,pad={BOX_PAD},rounding_size=0.35",
                "facecolor": "white",
                "edgecolor": jur_color,
                "linewidth": 0.6,
                "linestyle": "--" if it.undated else "-",
            },
        )

    _draw_arrows(ax, arrows, lane_bounds, marker_y, arrow_h, arrow_font(size), jur_color, colors)

    if has_undated:
        ax.axvline(x_dated_end, color=colors["muted"], lw=0.8, ls=(0, (3, 2)), zorder=1)
        ax.text(
            x_dated_end + extra / 2,
            1.0,
            style.label("policy_timeline.undated"),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=small,
            color=colors["muted"],
            gid="undated_header",
        )

    notes = []
    if any(_DATE.match(str(d)).group(2) is None for d in dated_rows["date"].dropna()):  # year-only dates
        notes.append(style.label("policy_timeline.year_only"))
    markers = rows[rows["kind"] == "update_marker"]
    marker_counts: dict[str, int] = {}
    for text in markers[f"event_{style.lang}"]:
        marker_counts[text] = marker_counts.get(text, 0) + 1
    marker_items = style.label("list_sep").join(
        style.label("policy_timeline.markers", marker=m, count=c) for m, c in marker_counts.items()
    )
    if any(a.src is None for a in arrows):
        notes.append(style.label("policy_timeline.arrow_from_before", start=AXIS_START))
    sep = "。" if style.lang == "ja" else ". "
    fig.text(
        0.06 / fig_w,
        0.03 / fig_h,
        sep.join(notes),
        ha="left",
        va="bottom",
        fontsize=small - 0.5,
        color=colors["muted"],
        gid="footnote",
    )

    info = {
        "lanes": lanes,
        "items": items,
        "arrows": arrows,
        "size": size,
        "marker_counts": marker_counts,
        "marker_items": marker_items,
    }
    return fig, info


def timeline(data: FigureData, style: Style, name: str, sizes=FONT_SIZES) -> Drawn:
    jurisdiction = FIGURE_JURISDICTION[name]
    events = data.table("policy_events")
    fig, info = draw_timeline(events, jurisdiction, style, sizes)
    rows = events[(events["jurisdiction"] == jurisdiction) & (events["kind"] == "event")].set_index("event_id")
    title = style.label("policy_timeline.title", jurisdiction=style.name(jurisdiction))
    dated = sorted((it for it in info["items"] if not it.undated), key=lambda i: (i.x, i.event_id))
    undated = [it for it in info["items"] if it.undated]
    sep = style.label("list_sep")
    alt = style.label(
        "policy_timeline.alt",
        title=title,
        start=AXIS_START,
        end=AXIS_END,
        n=len(info["items"]),
        n_lanes=len(info["lanes"]),
        lanes=sep.join(lane_name(style, c) for c in info["lanes"]),
        first=dated[0].raw,
        first_date=format_date(style, rows.loc[dated[0].event_id, "date"]),
        last=dated[-1].raw,
        last_date=format_date(style, rows.loc[dated[-1].event_id, "date"]),
        undated=style.label("policy_timeline.alt_undated", n=len(undated), items=sep.join(i.raw for i in undated))
        if undated
        else "",
        markers=style.label("policy_timeline.alt_markers", items=info["marker_items"]) if info["marker_counts"] else "",
    )
    values = {
        "jurisdiction": jurisdiction,
        "axis": [AXIS_START, AXIS_END],
        "lanes": info["lanes"],
        "events": {
            it.event_id: {"lane": it.lane, "date": str(rows.loc[it.event_id, "date"]), "x": round(it.x, 4)}
            for it in dated
        },
        "undated": {it.event_id: it.lane for it in undated},
        "update_arrows": [
            {
                "marker": a.marker_id,
                "lane": a.lane,
                "from": a.src.event_id if a.src else None,
                "to": a.dst.event_id,
                "x0": round(a.x0, 4),
                "x1": round(a.x1, 4),
            }
            for a in info["arrows"]
        ],
        "label_font_size": info["size"],
    }
    return Drawn(fig, title, alt, ["policy_events"], values=values)


def _draw_arrows(ax, arrows, lane_bounds, marker_y, arrow_h, size, color, colors) -> None:
    """Each update arrow in its lane's strip, labelled, with dotted drop lines up to the markers it joins."""
    for a in arrows:
        bottom, _ = lane_bounds[a.lane]
        y = bottom + LANE_PAD_IN + a.tier * (arrow_h + GAP_IN) + arrow_h / 2
        gid = f"{a.marker_id}:{a.dst.event_id}"
        ax.annotate(
            "",
            xy=(a.x1, y),
            xytext=(a.x0, y),
            arrowprops={
                "arrowstyle": "-|>,head_length=0.35,head_width=0.18",
                "color": color,
                "lw": 0.9,
                "shrinkA": 0,
                "shrinkB": 0,
                "linestyle": "-" if a.src is not None else (0, (2, 1.5)),
            },
            zorder=2.5,
            gid=f"update:{gid}",
        )
        for end in (a.src, a.dst):
            if end is not None:
                ax.plot(
                    [end.x, end.x],
                    [y, marker_y[end.event_id]],
                    color=colors["muted"],
                    lw=0.5,
                    ls=(0, (1, 1.5)),
                    zorder=2,
                )
        ax.text(
            a.label_x,
            y,
            a.text,
            ha=a.label_ha,
            va="center",
            fontsize=size,
            color=color,
            fontweight="bold",
            zorder=3.5,
            gid=f"update_label:{gid}",
            bbox={"boxstyle": f"square,pad={ARROW_PAD}", "facecolor": "white", "edgecolor": "none"}
            if a.label_ha == "center"
            else None,
        )


# -------------------------------------------------------------------------------------- funnel
def draw_funnel(frame, style: Style) -> tuple[Figure, dict]:
    colors = style.config["colors"]
    small = style.config["font"]["small_size"]
    frame = frame.sort_values(["step_order"], kind="stable")
    step_order = style.order("funnel_step")
    frame = frame.assign(_rank=[step_order.index(s) for s in frame["step"]]).sort_values(["step_order", "_rank"])
    inputs = frame[frame["step_order"] == 0]
    steps = frame[frame["step_order"] > 0]
    widest = float(frame["count"].max())

    fig = Figure(figsize=style.size("funnel"))
    ax = fig.add_axes((0.0, 0.02, 1.0, 0.96))
    n = len(frame)
    gap = 0.55  # extra space between the input lists and the steps (in rows)
    half_bar = widest / 2
    name_col = -half_bar - widest * 0.04  # step names end here (right-aligned)
    mineral_col = half_bar + widest * 0.04  # mineral symbols start here
    ax.set_xlim(-half_bar - widest * 0.74, half_bar + widest * 0.6)
    ax.set_ylim(n + gap - 0.45, -0.6)
    ax.axis("off")

    name_w = 13 if style.lang == "ja" else 24
    mineral_w = 14  # characters per line of symbols
    bars = {}
    prev = None
    for i, (_, row) in enumerate(frame.iterrows()):
        y = i + (gap if row["step_order"] > 0 else 0.0)
        count = float(row["count"])
        is_input = row["step_order"] == 0
        color = style.color(row["jurisdiction"]) if is_input else colors["accent"]
        rect = Rectangle(
            (-count / 2, y - 0.34),
            count,
            0.68,
            facecolor=color,
            edgecolor="none",
            zorder=2,
            gid=f"bar:{row['step']}",
        )
        ax.add_patch(rect)
        bars[row["step"]] = count
        if not is_input and prev is not None and prev[2] > 0:  # funnel neck from the previous step
            (py, pc, _) = prev
            ax.add_patch(
                Polygon(
                    [
                        (-pc / 2, py + 0.34),
                        (pc / 2, py + 0.34),
                        (count / 2, y - 0.34),
                        (-count / 2, y - 0.34),
                    ],
                    closed=True,
                    facecolor=colors["grid"],
                    edgecolor="none",
                    zorder=1,
                )
            )
        prev = (y, count, row["step_order"])
        name = style.name(row["step"])
        if is_input:
            name = style.label("policy_funnel.input_name", name=name, year=int(row["year"]))
        ax.text(
            name_col,
            y,
            wrap_label(style, name, name_w),
            ha="right",
            va="center",
            fontsize=small,
            linespacing=1.1,
            gid=f"name:{row['step']}",
        )
        count_text = style.label("policy_funnel.count", count=num(count))
        inside = count >= widest * 0.28
        bar_l, ink_l = _luminance(color), _luminance(colors["ink"])
        white_better = 1.05 / (bar_l + 0.05) > (bar_l + 0.05) / (ink_l + 0.05)  # WCAG contrast ratios
        ink = "white" if inside and white_better else colors["ink"]
        ax.text(
            0 if inside else count / 2 + widest * 0.015,
            y,
            count_text,
            ha="center" if inside else "left",
            va="center",
            fontsize=small + 1,
            fontweight="bold",
            color=ink,
            zorder=3,
            gid=f"count:{row['step']}",
        )
        minerals = [m for m in str(row["minerals"]).split("|") if m and m != "nan"]
        for m in minerals:
            style.name(m)  # every symbol must be a known mineral code
        if minerals:
            text = _wrap_symbols(minerals, mineral_w, style.label("policy_funnel.mineral_sep"))
            ax.text(
                mineral_col,
                y,
                text,
                ha="left",
                va="center",
                fontsize=small + 0.5,
                linespacing=1.1,
                color=colors["accent"],
                fontweight="bold",
                gid=f"minerals:{row['step']}",
            )
    ax.axhline(len(inputs) - 0.5 + gap / 2, xmin=0.03, xmax=0.97, color=colors["muted"], lw=0.6, ls=(0, (3, 2)))
    info = {
        "inputs": {r["step"]: int(r["count"]) for _, r in inputs.iterrows()},
        "steps": {r["step"]: int(r["count"]) for _, r in steps.iterrows()},
        "minerals": {
            r["step"]: [m for m in str(r["minerals"]).split("|") if m and m != "nan"] for _, r in steps.iterrows()
        },
    }
    return fig, info


def _luminance(color: str) -> float:
    """Relative luminance (0 black - 1 white), to choose white or dark text on a bar."""
    from matplotlib.colors import to_rgb

    def channel(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _wrap_symbols(symbols: list[str], width: int, sep: str) -> str:
    """Mineral symbols in as few lines of about `width` characters as needed, the lines of even length."""
    total = len(sep.join(symbols))
    width = math.ceil(total / math.ceil(total / width)) if total > width else width
    lines, line = [], ""
    for s in symbols:
        cand = f"{line}{sep}{s}" if line else s
        if len(cand) > width and line:
            lines.append(line)
            line = s
        else:
            line = cand
    lines.append(line)
    return "\n".join(lines)


def funnel(data: FigureData, style: Style) -> Drawn:
    frame = data.table("mineral_funnel")
    fig, info = draw_funnel(frame, style)
    sep = style.label("list_sep")
    inputs = sep.join(
        style.label("policy_funnel.alt_input", name=style.name(code), count=num(c))
        for code, c in zip(
            frame.loc[frame["step_order"] == 0, "jurisdiction"],
            frame.loc[frame["step_order"] == 0, "count"],
            strict=True,
        )
    )
    steps = style.label("policy_funnel.alt_step_sep").join(
        style.label(
            "policy_funnel.alt_step",
            name=style.name(s),
            count=style.label("policy_funnel.count", count=num(c)),
            minerals=style.label("policy_funnel.mineral_sep").join(info["minerals"][s]),
        )
        for s, c in info["steps"].items()
    )
    alt = style.label("policy_funnel.alt", inputs=inputs, steps=steps)
    title = style.label("policy_funnel.title")
    return Drawn(fig, title, alt, ["mineral_funnel"], values=info)


def draw(data: FigureData, style: Style, figures: list[str]) -> dict[str, Drawn]:
    out = {}
    for name in figures:
        if name in FIGURE_JURISDICTION:
            out[name] = timeline(data, style, name)
    if out:  # the timelines of one language share one label size: the largest at which all of them fit
        common = min(d.values["label_font_size"] for d in out.values())
        for name, drawn in list(out.items()):
            if drawn.values["label_font_size"] != common:
                drawn.fig.clf()
                out[name] = timeline(data, style, name, sizes=(common,))
    for name in figures:
        if name in FIGURE_JURISDICTION:
            continue
        elif name == FUNNEL:
            out[name] = funnel(data, style)
        else:
            raise ValueError(f"plot_policy_timelines does not draw {name!r}")
    return {name: out[name] for name in figures}
