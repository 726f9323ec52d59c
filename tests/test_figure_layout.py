"""Every chart of the deck, drawn from the real cleaned data in both languages: no two visible texts may
overlap and no text may leave its figure. The texts checked are those matplotlib actually draws (recorded
while the canvas draws), with their extents from the renderer, so tick labels outside the view, hidden
legends and empty strings do not count."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from conftest import ROOT, draw_rendered, figure_kit
from critmet.io import load_yaml

REGISTRY = load_yaml(ROOT / "workflow" / "registry.yaml")["figures"]
FAMILIES = [(spec.get("module", family), tuple(spec["figures"])) for family, spec in REGISTRY.items()]
LANGS = ["ja", "en"]
TOLERANCE_PX = 0.5  # extents at 100 dpi: a text may touch the figure's edge
MIN_GAP_PX = 1.5  # two texts closer than this (about 1 pt) read as one ("100% 0")

# Collisions left to the engineers who own these charts (each entry: figure, language, the two texts).
ALLOWED: set[tuple[str, str, str, str]] = set()


def drawn_texts(fig) -> list[tuple[Text, object]]:
    """(text, window extent) of every non-empty text drawn when the figure is rendered."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    seen: list[Text] = []
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            seen.append(self)
        return original(self, renderer)

    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    renderer = fig.canvas.get_renderer()
    out, ids = [], set()
    for t in seen:
        if id(t) in ids:
            continue
        ids.add(id(t))
        box = t.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            out.append((t, box))
    return out


def _overlap(a, b) -> bool:
    gap = MIN_GAP_PX
    return a.x0 < b.x1 + gap and b.x0 < a.x1 + gap and a.y0 < b.y1 + gap and b.y0 < a.y1 + gap


def _label(t: Text) -> str:
    return " ".join(t.get_text().split())


def layout_problems(name: str, lang: str, fig) -> list[str]:
    texts = drawn_texts(fig)
    problems = []
    fb = fig.bbox
    for t, b in texts:
        if (
            b.x0 < fb.x0 - TOLERANCE_PX
            or b.x1 > fb.x1 + TOLERANCE_PX
            or b.y0 < fb.y0 - TOLERANCE_PX
            or b.y1 > fb.y1 + TOLERANCE_PX
        ):
            where = f"{b.x0:.0f}..{b.x1:.0f} x {b.y0:.0f}..{b.y1:.0f} in {fb.x1:.0f} x {fb.y1:.0f}"
            problems.append(f"{name} ({lang}): {_label(t)!r} leaves the figure ({where})")
    for (ta, ba), (tb, bb) in itertools.combinations(texts, 2):
        if _overlap(ba, bb):
            key = (name, lang, *sorted((_label(ta), _label(tb))))
            if key not in ALLOWED:
                problems.append(f"{name} ({lang}): {_label(ta)!r} overlaps {_label(tb)!r}")
    return problems


@pytest.fixture(scope="module", params=LANGS)
def lang(request):
    return request.param


@pytest.mark.parametrize(("module", "figures"), FAMILIES, ids=[f for f, _ in REGISTRY.items()])
def test_no_text_overlaps_or_leaves_its_figure(cleaned: Path, module, figures, lang):
    import importlib

    data, style = figure_kit(cleaned, lang)
    drawn = draw_rendered(importlib.import_module(f"critmet.figures.{module}"), data, style, list(figures))
    problems = []
    with style.context():
        for name, item in drawn.items():
            problems += layout_problems(name, lang, item.fig)
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_collision_and_a_clipped_text():
    """The check itself: two texts on one spot, and a text past the right edge, are both reported."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    fig.text(0.5, 0.5, "label one")
    fig.text(0.52, 0.5, "label two")
    fig.text(0.97, 0.1, "clipped text")
    fig.text(0.1, 0.9, "")  # empty: ignored
    problems = layout_problems("probe", "en", fig)
    assert any("overlaps" in p and "label one" in p and "label two" in p for p in problems)
    assert any("'clipped text' leaves the figure" in p for p in problems)
    assert len(problems) == 2


@pytest.mark.parametrize("lang", LANGS)
def test_radars_carry_their_title_and_the_recycling_note_from_the_data(cleaned: Path, lang, tmp_path):
    """pp.32-33: each radar names its mineral and says what its recycling axis means for Japan, from the
    recycling rates (Japan's own rate where known, else the regions it is compared with)."""
    import shutil

    import pandas as pd

    from critmet.figures import plot_risk_profiles

    data, style = figure_kit(cleaned, lang)
    rates = pd.read_csv(cleaned / "recycling_rates.csv")
    drawn = draw_rendered(plot_risk_profiles, data, style, ["ga_risk_radar", "mg_risk_radar"])
    for name, mineral in (("ga_risk_radar", "Ga"), ("mg_risk_radar", "Mg")):
        fig = drawn[name].fig
        texts = {t.get_gid(): t.get_text() for t in fig.texts if t.get_gid()}
        assert texts["radar_title"] == style.label("risk.radar_title_of", mineral=style.name(mineral))
        note = (
            "".join(texts["radar_annotation"].split()) if lang == "ja" else " ".join(texts["radar_annotation"].split())
        )
        assert drawn[name].values["annotation"].replace(" ", "") == note.replace(" ", "")
        own = rates[(rates["mineral"] == mineral)].set_index("region")["rate_pct"]
        if pd.notna(own.get("JP")):
            assert f"{own['JP']:.0f}%" in note
        else:
            for region, rate in own.drop(index="JP").dropna().items():
                assert style.name(region) in note and f"{rate:.0f}%" in note
    # the note follows the data
    edited = tmp_path / "edited"
    shutil.copytree(cleaned, edited)
    rates.loc[(rates["mineral"] == "Ga") & (rates["region"] == "JP"), "rate_pct"] = 38
    rates.to_csv(edited / "recycling_rates.csv", index=False)
    data, style = figure_kit(edited, lang)
    again = draw_rendered(plot_risk_profiles, data, style, ["ga_risk_radar"])["ga_risk_radar"]
    assert "38%" in again.values["annotation"] and "41%" not in again.values["annotation"]


@pytest.mark.parametrize("lang", LANGS)
def test_supply_totals_are_not_printed_inside_a_country_segment(cleaned: Path, lang):
    """pp.26-27: a number inside the stack reads as that segment's country's value, so the primary totals
    stand in a row under the bars, and every value printed in the plot lies outside every bar."""
    import re

    import pandas as pd
    from matplotlib.patches import Rectangle

    from critmet.figures import plot_supply_bars

    data, style = figure_kit(cleaned, lang)
    drawn = draw_rendered(plot_supply_bars, data, style, ["ga_supply_bars", "mg_supply_bars"])
    for name, table in (("ga_supply_bars", "ga_supply_series"), ("mg_supply_bars", "mg_supply_series")):
        fig = drawn[name].fig
        ax = fig.axes[0]
        FigureCanvasAgg(fig).draw()
        renderer = fig.canvas.get_renderer()
        bars = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0]
        numbers = [t for t in ax.texts if re.fullmatch(r"[\d,.]+", t.get_text().strip())]
        for t in numbers:
            box = t.get_window_extent(renderer)
            cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
            assert not any(b.x0 < cx < b.x1 and b.y0 < cy < b.y1 for b in bars), f"{name}: {t.get_text()} sits in a bar"
        primary = pd.read_csv(cleaned / f"{table}.csv")["primary"]
        row = [t.get_text() for t in numbers if t.get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0]
        assert row == [f"{v:,.0f}" for v in primary]  # the totals, year by year, under the axis


@pytest.mark.parametrize("lang", LANGS)
def test_pie_totals_stay_clear_of_their_ring(cleaned: Path, lang):
    """The total and its unit in the centre of each flow pie lie inside the ring's hole (every corner of
    their boxes closer to the centre than the inner radius), read back from the rendered figure; and the
    pie keeps a usable size whatever the length of its legend (at least a third of the figure's height)."""
    import math

    from critmet.figures import plot_flow_pies

    data, style = figure_kit(cleaned, lang)
    figures = list(plot_flow_pies.FIGURE_PIES)
    drawn = draw_rendered(plot_flow_pies, data, style, figures)
    problems = []
    with style.context():
        for name, item in drawn.items():
            fig = item.fig
            texts = dict(drawn_texts(fig))
            ax = fig.axes[0]
            cx, cy = ax.transData.transform((0, 0))
            inner = ax.transData.transform((1 - plot_flow_pies.WEDGE_WIDTH, 0))[0] - cx
            outer = ax.transData.transform((1, 0))[0] - cx
            centre = [b for t, b in texts.items() if getattr(t, "xy", None) == (0, 0)]
            assert len(centre) == 2, f"{name} ({lang}): expected the total and its unit in the centre"
            reach = max(math.hypot(x - cx, y - cy) for b in centre for x in (b.x0, b.x1) for y in (b.y0, b.y1))
            if reach >= inner:
                problems.append(f"{name} ({lang}): centre text reaches {reach:.1f} px, the ring starts at {inner:.1f}")
            if 2 * outer < fig.bbox.height / 3:
                problems.append(f"{name} ({lang}): pie {2 * outer:.0f} px across in a {fig.bbox.height:.0f} px figure")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
def test_cagr_arrows_do_not_cross_value_labels(cleaned: Path, lang):
    """On the demand charts (pp.28, 30) no CAGR arrow, head included, crosses a value label over a bar
    (the arrow to 2035 once ran through the '9' of '955'): the arrows' drawn outlines, read back in display
    coordinates, against the labels' rendered boxes."""
    from matplotlib.text import Annotation

    from critmet.figures import plot_demand_projection

    data, style = figure_kit(cleaned, lang)
    drawn = draw_rendered(plot_demand_projection, data, style, ["ga_demand_bars", "mg_demand_bars"])
    problems = []
    with style.context():
        for name, item in drawn.items():
            texts = drawn_texts(item.fig)
            arrows = [t for t in item.fig.axes[0].texts if isinstance(t, Annotation) and not t.get_text()]
            assert arrows, f"{name} ({lang}): no CAGR arrow drawn"
            labels = [(t, b) for t, b in texts if t.get_text().replace(",", "").isdigit()]
            assert labels, f"{name} ({lang}): no value labels found"
            for arrow in arrows:
                # the shaft and the head as polygons in display coordinates, sampled densely along each edge
                points = []
                for poly in arrow.arrow_patch.get_path().to_polygons(closed_only=False):
                    for (x0, y0), (x1, y1) in itertools.pairwise(poly):
                        points += [(x0 + (x1 - x0) * k / 40, y0 + (y1 - y0) * k / 40) for k in range(41)]
                assert points, f"{name} ({lang}): an arrow without an outline"
                for t, b in labels:
                    if any(b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1 for x, y in points):
                        problems.append(f"{name} ({lang}): a CAGR arrow crosses the value label {t.get_text()!r}")
    assert not problems, "\n".join(problems)
