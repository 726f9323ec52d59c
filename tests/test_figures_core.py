"""Pies, risk profiles, supply bars, demand projections and LCA waterfalls: drawn from the real cleaned data in
both languages, then read back from the matplotlib objects and compared with the cleaned tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle, Wedge

from conftest import draw_rendered as draw
from conftest import figure_kit
from critmet.figures import (
    plot_demand_projection,
    plot_flow_pies,
    plot_lca_waterfalls,
    plot_risk_profiles,
    plot_supply_bars,
)
from critmet.figures.common import lighter, svg_bytes
from critmet.figures.style import StyleError

LANGS = ["ja", "en"]


def bar_heights(ax, label: str) -> list[float]:
    for container in ax.containers:
        if container.get_label() == label:
            return [patch.get_height() for patch in container.patches]
    raise AssertionError(f"no bar series labelled {label!r}: {[c.get_label() for c in ax.containers]}")


@pytest.mark.parametrize("lang", LANGS)
def test_pies_draw_the_cleaned_shares(cleaned, lang):
    data, style = figure_kit(cleaned, lang)
    shares = pd.read_csv(cleaned / "material_flow_shares.csv")
    metrics = data.metrics("material_flow")
    drawn = draw(plot_flow_pies, data, style, list(plot_flow_pies.FIGURE_PIES))
    for name, pie in plot_flow_pies.FIGURE_PIES.items():
        ax = drawn[name].fig.axes[0]
        wedges = [p for p in ax.patches if isinstance(p, Wedge)]
        expected = shares[shares["pie"] == pie]["share_pct"].tolist()
        angles = [(w.theta2 - w.theta1) for w in wedges[: len(expected)]]
        total = sum(expected) + (max(0.0, 100 - sum(expected)) if len(wedges) > len(expected) else 0)
        assert angles == pytest.approx([360 * v / total for v in expected], abs=1e-6)
        texts = [t.get_text() for t in ax.texts]
        centre = metrics[f"total_{pie}"]
        assert f"{centre:,.0f}" in texts or f"{centre:,.1f}" in texts
        assert drawn[name].values["hhi"] == pytest.approx(metrics[f"hhi_{pie}"])
    # primary gallium follows USGS: China 540 of 551 t
    assert drawn["ga_pie_primary_2022"].values["slices"]["CN"] == pytest.approx(100 * 540 / 551, abs=1e-3)
    assert "551" in drawn["ga_pie_primary_2022"].alt


@pytest.mark.parametrize("lang", LANGS)
def test_pie_estimates_are_drawn_lighter_and_marked_not_hatched(cleaned, lang):
    """Korea and Russia are named on Japan's Ga import pie with no printed share: the data hold an estimate
    (the printed remainder 100 - 97 split equally), drawn as slices in a lighter tone, marked 'e' with their
    decimal, explained by one line; the pie adds up to 100 and nothing is hatched."""
    data, style = figure_kit(cleaned, lang)
    shares = pd.read_csv(cleaned / "material_flow_shares.csv")
    rows = shares[shares["pie"] == "GA_IMPORTS_2022"].set_index("country")
    assert rows["share_pct"].sum() == pytest.approx(100)
    assert sorted(rows.index[rows["status"] == "estimated"]) == ["KR", "RU"]
    assert rows.loc[["KR", "RU"], "share_pct"].tolist() == pytest.approx([1.5, 1.5])
    item = draw(plot_flow_pies, data, style, ["ga_pie_imports_2022"])["ga_pie_imports_2022"]
    fig = item.fig
    wedges = [p for p in fig.axes[0].patches if isinstance(p, Wedge)]
    assert len(wedges) == len(rows) and not any(w.get_hatch() for w in wedges)
    for wedge, (code, row) in zip(wedges, rows.iterrows(), strict=True):
        tone = lighter(style.color(code)) if row["status"] == "estimated" else style.color(code)
        assert to_hex(wedge.get_facecolor()) == to_hex(tone)
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for code in ("KR", "RU"):
        assert f"{style.name(code)} 1.5%e" in legend
    assert style.label("pies.estimated") in " ".join(t.get_text() for t in fig.texts)
    assert item.values["estimated"] == list(rows.index[rows["status"] == "estimated"])
    # a pie without estimates has no estimate line
    other = draw(plot_flow_pies, data, style, ["ga_pie_zinc_2021"])["ga_pie_zinc_2021"].fig
    assert style.label("pies.estimated") not in " ".join(t.get_text() for t in other.texts)


@pytest.mark.parametrize("lang", LANGS)
def test_supply_bars_read_back(cleaned, lang):
    data, style = figure_kit(cleaned, lang)
    drawn = draw(plot_supply_bars, data, style, ["ga_supply_bars", "mg_supply_bars"])
    ga = pd.read_csv(cleaned / "ga_supply.csv")
    series = pd.read_csv(cleaned / "ga_supply_series.csv")
    ax = drawn["ga_supply_bars"].fig.axes[0]
    china = ga[ga["country"] == "CN"].sort_values("year")["value_t"].tolist()
    assert bar_heights(ax, style.name("CN")) == pytest.approx(china)
    demand_line = [line for line in ax.lines if line.get_label() == style.label("supply.demand")][0]
    assert list(demand_line.get_ydata()) == pytest.approx(series["demand"].tolist())
    # the stack (countries + undetermined + recycling) reaches the demand line in every year
    tops = [0.0] * len(series)
    for container in ax.containers:
        tops = [t + p.get_height() for t, p in zip(tops, container.patches, strict=True)]
    assert tops == pytest.approx(series["demand"].tolist())
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "20.7%" in texts and "3.2%" in texts  # the arrows of the periods the report annotates
    mg_ax = drawn["mg_supply_bars"].fig.axes[0]
    assert [t.get_text() for t in mg_ax.get_xticklabels()][0] == "2000"
    assert "4.9%" in " ".join(t.get_text() for t in mg_ax.texts)


def test_supply_shares_add_to_100(cleaned):
    data, style = figure_kit(cleaned, "ja")
    drawn = draw(plot_supply_bars, data, style, ["ga_supply_shares"])
    shares = drawn["ga_supply_shares"].values["shares"]
    for i in range(len(drawn["ga_supply_shares"].values["years"])):
        assert sum(v[i] for v in shares.values()) == pytest.approx(100.0)
    assert shares["CN"][-1] == pytest.approx(100 * 360 / 382)


@pytest.mark.parametrize("lang", LANGS)
def test_demand_projection_read_back(cleaned, lang):
    data, style = figure_kit(cleaned, lang)
    drawn = draw(plot_demand_projection, data, style, ["ga_demand_bars", "mg_demand_bars"])
    series = pd.read_csv(cleaned / "mg_demand_series.csv")
    ax = drawn["mg_demand_bars"].fig.axes[0]
    tops = [0.0] * len(series)
    for container in ax.containers:
        tops = [t + p.get_height() for t, p in zip(tops, container.patches, strict=True)]
    assert tops == pytest.approx(series["total"].tolist())
    labels = [t.get_text() for t in ax.texts]
    assert "1,990" in labels and "999" in labels
    projected = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert projected  # bars drawn
    ga_ax = drawn["ga_demand_bars"].fig.axes[0]
    assert any(t.get_text() in ("実績", "Actual") for t in ga_ax.texts)
    assert any(t.get_text() in ("予測", "Projection") for t in ga_ax.texts)


@pytest.mark.parametrize("lang", LANGS)
def test_lca_waterfall_steps_climb_to_the_total(cleaned, lang):
    """Bar heights read back from the figure: every step has a bar above zero, each starts where the previous
    one ended, they add up to the printed total, and the last bar is the total itself (no 'unallocated' bar)."""
    data, style = figure_kit(cleaned, lang)
    drawn = draw(plot_lca_waterfalls, data, style, list(plot_lca_waterfalls.ROUTES))
    totals = pd.read_csv(cleaned / "lca_totals.csv").set_index("route")["total_kg_co2_per_kg"]
    steps = pd.read_csv(cleaned / "lca_steps.csv")
    for name, route in plot_lca_waterfalls.ROUTES.items():
        ax = drawn[name].fig.axes[0]
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        *step_bars, total_bar = bars
        assert total_bar.get_y() == 0 and total_bar.get_height() == pytest.approx(totals[route])
        by_x: dict[float, list] = {}
        for bar in step_bars:
            by_x.setdefault(round(bar.get_x() + bar.get_width() / 2, 6), []).append(bar)
        n_steps = steps[steps["route"] == route]["step_order"].nunique()
        assert len(by_x) == n_steps  # one column per step, and no extra bar beside the total
        level = 0.0
        for x in sorted(by_x):
            parts = sorted(by_x[x], key=lambda b: b.get_y())
            assert parts[0].get_y() == pytest.approx(level)  # climbs from where the previous step ended
            height = sum(b.get_height() for b in parts)
            assert height > 0  # no zero bar
            level += height
        assert level == pytest.approx(totals[route], abs=1e-6)
        labels = [t.get_text() for t in ax.texts]
        assert not any(
            "unallocated" in t.lower() or "配分" in t for t in labels + [t.get_text() for t in ax.get_xticklabels()]
        )
    pidgeon = drawn["mg_pidgeon_lca_waterfall"].fig.axes[0]
    solid = [p.get_height() for p in pidgeon.patches if isinstance(p, Rectangle) and p.get_alpha() is None]
    derived = steps[(steps["route"] == "MG_PIDGEON") & (steps["basis"] == "derivation")]
    # the stoichiometric parts (dolomite calcination 2 x 44.009 / 24.305; carbon for the FeSi's silicon), full tone
    assert sorted(derived["value_kg_co2_per_kg"]) == pytest.approx([1.811, 3.621])
    for value in derived["value_kg_co2_per_kg"]:
        assert any(h == pytest.approx(value) for h in solid)
    light = [p for p in pidgeon.patches if isinstance(p, Rectangle) and p.get_alpha() == pytest.approx(0.45)]
    assert light and any(t.get_text().endswith(" e") for t in pidgeon.texts)  # estimates: lighter, marked e
    note = " ".join(t.get_text() for t in drawn["mg_pidgeon_lca_waterfall"].fig.texts)
    assert style.label("lca.note_estimate") in note


@pytest.mark.parametrize("lang", LANGS)
def test_risk_profiles_read_back(cleaned, lang):
    data, style = figure_kit(cleaned, lang)
    drawn = draw(plot_risk_profiles, data, style, ["ga_risk_strip", "mg_risk_radar"])
    risk = pd.read_csv(cleaned / "risk_profile.csv")
    ga = risk[risk["mineral"] == "Ga"].set_index("axis_no")["share_pct"]
    strip_values = drawn["ga_risk_strip"].values["axes"]
    for axis, share in ga.items():
        expected = None if math.isnan(share) else share
        assert strip_values[axis] == expected
    texts = [t.get_text() for t in drawn["ga_risk_strip"].fig.axes[0].texts]
    assert "99%" in texts and style.label("risk.choke_point") in texts
    rings = drawn["mg_risk_radar"].values["rings"]
    assert rings[:4] == pytest.approx([0.46, 0.78, 0.97, 0.97])
    assert rings[5] is None  # Mg recycling: unknown, left as a gap


def test_a_category_without_colour_fails_naming_it(cleaned):
    _, style = figure_kit(cleaned, "en")
    with pytest.raises(StyleError, match="NOT_A_CODE"):
        style.color("NOT_A_CODE")


def test_a_missing_label_fails_naming_file(cleaned):
    _, style = figure_kit(cleaned, "ja")
    with pytest.raises(StyleError, match="figures.yaml"):
        style.label("supply.no_such_label")


def test_svgs_are_deterministic_and_keep_text(cleaned):
    outputs = []
    for _ in range(2):
        data, style = figure_kit(cleaned, "ja")
        with style.context():
            fig = plot_supply_bars.draw(data, style, ["ga_supply_bars"])["ga_supply_bars"].fig
            outputs.append(svg_bytes(fig))
    assert outputs[0] == outputs[1]
    svg = outputs[0].decode("utf-8")
    assert "<dc:date>" not in svg and 'style="' not in svg
    assert "Noto Sans CJK JP" in svg and "中国" in svg


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_chart_font_lookups_see_only_the_style_families_and_find_the_same_files(cleaned, lang):
    """Inside the style's context matplotlib's font lookups consider only the files of the style's families
    (hundreds of installed fonts scored for each new size made lookups slow); they find the same file as a
    lookup among all fonts, and every installed font is back afterwards."""
    from matplotlib import font_manager

    _, style = figure_kit(cleaned, lang)
    everything = list(font_manager.fontManager.ttflist)
    families = style.rc()["font.family"]
    props = [font_manager.FontProperties(family=families, size=s, weight=w) for s in (7.5, 9.3) for w in (400, 700)]
    with style.context():
        assert {entry.name for entry in font_manager.fontManager.ttflist} == set(families)
        found = [font_manager.fontManager._find_fonts_by_props(p) for p in props]
    assert font_manager.fontManager.ttflist == everything
    font_manager.fontManager._findfont_cached.cache_clear()
    assert found == [font_manager.fontManager._find_fonts_by_props(p) for p in props]


def test_a_dollar_sign_in_a_label_is_plain_text(cleaned):
    """Chart text is never read as mathtext (which would also ask for fonts outside the style): a label
    with two dollar signs prints as written."""
    import matplotlib.pyplot as plt

    _, style = figure_kit(cleaned, "en")
    with style.context():
        fig = plt.figure(figsize=(3, 1))
        fig.text(0.05, 0.5, "US$ 5 to US$ 10 per kg")
        svg = svg_bytes(fig).decode("utf-8")
        plt.close(fig)
    assert ">US$ 5 to US$ 10 per kg</text>" in svg
