"""The bar figures (technology trends, mineral screening, recommendations): each figure is drawn from the real
cleaned data in both languages, and the numbers are read back from the matplotlib objects (bar widths and
positions, segment labels, colours) and compared with the cleaned tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from conftest import draw_rendered as draw
from critmet.clean import clean_dataset
from critmet.figures import plot_reco_bars, plot_screening_bars, plot_tech_trends
from critmet.figures.common import FigureData, lighter, load_labels
from critmet.figures.style import Style, StyleError
from critmet.report.filters import num
from critmet.validate import load_codes

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
LANGS = ["ja", "en"]
DATASETS = ["tech_trends", "screening", "recommendations"]


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bars_data")
    for dataset in DATASETS:
        clean_dataset(dataset, RAW, out)
    return out


@pytest.fixture(scope="module")
def codes():
    return load_codes(RAW / "codes")


def make(data_dir: Path, codes, lang: str) -> tuple[FigureData, Style]:
    data = FigureData(data_dir, RAW, codes)
    style = Style(lang, codes, load_labels(ROOT / "templates" / "text", lang))
    return data, style


def patches_by_gid(fig, prefix: str) -> dict:
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if (p.get_gid() or "").startswith(prefix)}


def texts_by_gid(fig, prefix: str) -> dict:
    return {t.get_gid(): t for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith(prefix)}


def width(patch) -> float:
    return float(patch.get_width())


def y_centre(patch) -> float:
    return float(patch.get_y() + patch.get_height() / 2)


# ------------------------------------------------------------------------------------- technology trends
REGIONS = {"tech_trends_eu": "EUR", "tech_trends_us": "US", "tech_trends_cn": "CN"}
ROW_ORDER = ["Ga", "Ge", "Mg", "Ti", "W", "REE"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("figure", sorted(REGIONS))
def test_tech_trends_bars_equal_the_cleaned_shares_and_counts(cleaned, codes, lang, figure):
    region = REGIONS[figure]
    data, style = make(cleaned, codes, lang)
    item = draw(plot_tech_trends, data, style, [figure])[figure]
    fig = item.fig
    shares = pd.read_csv(cleaned / "tech_stage_shares.csv")
    shares = shares[shares["region"] == region]
    projects = pd.read_csv(cleaned / "tech_projects.csv")
    projects = projects[projects["region"] == region].set_index("mineral")["projects"]
    stages = list(pd.read_csv(RAW / "codes" / "tech_stage.csv")["code"])

    segs = patches_by_gid(fig, "share:")
    labels = texts_by_gid(fig, "label:")
    ax_shares = fig.axes[0]
    ticks = [t.get_text() for t in ax_shares.get_yticklabels()]
    assert [t.split("\n")[0] for t in ticks] == [style.label(f"bars_common.symbol.{m}") for m in ROW_ORDER]
    assert ax_shares.get_ylim()[0] > ax_shares.get_ylim()[1]  # first row on top
    assert ax_shares.get_xlim() == (0.0, 100.0)

    for row, mineral in enumerate(ROW_ORDER):
        rows = shares[shares["mineral"] == mineral].set_index("stage")["share_pct"]
        known = rows.dropna()
        assert len(known) == len(rows)  # every share has a value (estimated ones are marked, not left empty)
        status = shares[shares["mineral"] == mineral].set_index("stage")["status"]
        drawn = {gid.split(":")[2]: p for gid, p in segs.items() if gid.split(":")[1] == mineral}
        assert set(drawn) == set(known.index), (mineral, set(drawn))
        # segments follow the code-list order of stages, touching, and fill exactly 100%
        order = sorted(drawn, key=lambda k: drawn[k].get_x())
        assert order == [s for s in stages if s in known.index]
        x = 0.0
        for key in order:
            assert drawn[key].get_x() == pytest.approx(x)
            assert y_centre(drawn[key]) == pytest.approx(row)
            x += width(drawn[key])
        assert x == pytest.approx(100.0)
        for stage, share in known.items():  # a rounded row (99-101) is scaled to fill the bar
            assert width(drawn[stage]) == pytest.approx(share * 100.0 / known.sum())
            assert not drawn[stage].get_hatch()
        for stage, share in known.items():
            est = status[stage] == "estimated"
            tone = lighter(style.color(stage)) if est else style.color(stage)
            assert to_hex(drawn[stage].get_facecolor()) == to_hex(tone)
            gid = f"label:{mineral}:{stage}"
            if share >= 8:
                assert labels[gid].get_text() == f"{num(share)}%" + ("e" if est else "")
                lx, _ = labels[gid].get_position()
                assert drawn[stage].get_x() < lx < drawn[stage].get_x() + width(drawn[stage])
            else:
                assert gid not in labels

    counts = patches_by_gid(fig, "projects:")
    count_texts = texts_by_gid(fig, "count:")
    ax_counts = fig.axes[1]
    assert ax_counts.get_xlim()[0] == 0.0
    assert ax_counts.get_xlim()[1] > projects.max()
    for row, mineral in enumerate(ROW_ORDER):
        bar = counts[f"projects:{mineral}"]
        assert width(bar) == projects[mineral]
        assert bar.get_x() == 0.0 and y_centre(bar) == pytest.approx(row)
        assert count_texts[f"count:{mineral}"].get_text() == num(int(projects[mineral]))
        assert count_texts[f"count:{mineral}"].get_position()[0] > projects[mineral]

    legend_texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert {style.name(s) for s in stages} <= set(legend_texts)  # all six stages, on every page
    assert not [h for leg in fig.legends for h in leg.legend_handles if h.get_hatch()]
    note = [t.get_text() for t in fig.texts if t.get_text() == style.label("bars_tech.estimated")]
    assert len(note) == (1 if shares["status"].eq("estimated").any() else 0)
    assert item.sources == ["tech_stage_shares", "tech_projects"]
    assert item.values["projects"] == {m: int(projects[m]) for m in ROW_ORDER}
    for mineral in ROW_ORDER:
        assert style.label(f"bars_common.symbol.{mineral}") in item.alt
    assert style.name(region) in item.title


def test_us_ree_estimated_stages_are_drawn_lighter_and_marked_in_both_languages(cleaned, codes):
    """The one row whose stage assignment is an estimate: the printed 4% and 2% drawn as data in a lighter tone
    with an 'e' over them and the one explaining line; no hatched or 'not determined' segment."""
    for lang in LANGS:
        data, style = make(cleaned, codes, lang)
        fig = draw(plot_tech_trends, data, style, ["tech_trends_us"])["tech_trends_us"].fig
        segs = patches_by_gid(fig, "share:REE:")
        assert width(segs["share:REE:ST_SUBSTITUTION"]) + width(segs["share:REE:ST_MANUFACTURING"]) == pytest.approx(6)
        for stage in ("ST_SUBSTITUTION", "ST_MANUFACTURING"):
            seg = segs[f"share:REE:{stage}"]
            assert to_hex(seg.get_facecolor()) == to_hex(lighter(style.color(stage)))
            assert not seg.get_hatch()
        mark = texts_by_gid(fig, "estimate:")
        assert list(mark) == ["estimate:REE"] and mark["estimate:REE"].get_text() == "e"
        x, _ = mark["estimate:REE"].get_position()
        assert segs["share:REE:ST_SUBSTITUTION"].get_x() <= x <= 100
        assert style.label("bars_tech.estimated") in [t.get_text() for t in fig.texts]
        assert not [p for p in segs.values() if "undetermined" in (p.get_gid() or "")]


def test_tech_trends_follow_changed_data(cleaned, codes, tmp_path):
    """The drawn counts come from the data: change a count in a copy of the cleaned data and it follows."""
    for path in cleaned.glob("*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    frame = pd.read_csv(tmp_path / "tech_projects.csv")
    frame.loc[(frame["region"] == "EUR") & (frame["mineral"] == "Ga"), "projects"] = 11
    frame.to_csv(tmp_path / "tech_projects.csv", index=False)
    data, style = make(tmp_path, codes, "en")
    fig = draw(plot_tech_trends, data, style, ["tech_trends_eu"])["tech_trends_eu"].fig
    assert width(patches_by_gid(fig, "projects:Ga")["projects:Ga"]) == 11


def test_a_stage_outside_the_code_list_is_refused(cleaned, codes, tmp_path):
    for path in cleaned.glob("*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    frame = pd.read_csv(tmp_path / "tech_stage_shares.csv")
    frame.loc[0, "stage"] = "ST_UNKNOWN"
    frame.to_csv(tmp_path / "tech_stage_shares.csv", index=False)
    data, style = make(tmp_path, codes, "ja")
    with pytest.raises((ValueError, StyleError)):
        draw(plot_tech_trends, data, style, ["tech_trends_eu"])


# ---------------------------------------------------------------------------------------------- screening
SCREEN_ORDER = ["Ga", "Ge", "Mg", "Ti", "REE", "W"]


@pytest.mark.parametrize("lang", LANGS)
def test_screening_bars_equal_the_cleaned_table(cleaned, codes, lang):
    data, style = make(cleaned, codes, lang)
    item = draw(plot_screening_bars, data, style, ["mineral_screening_bars"])["mineral_screening_bars"]
    fig = item.fig
    table = pd.read_csv(cleaned / "mineral_screening.csv").set_index("mineral")
    colors = style.config["colors"]
    ax_top, ax_japan = fig.axes[0], fig.axes[1]
    assert ax_top.get_xlim() == (0.0, 100.0)
    assert ax_japan.get_xlim() == (0.0, 50.0)
    ticks = [t.get_text().split("\n")[0] for t in ax_top.get_yticklabels()]
    assert ticks == [style.label(f"bars_common.symbol.{m}") for m in SCREEN_ORDER]
    for column, ax in (("refined_top_country_share_pct", ax_top), ("japan_demand_share_pct", ax_japan)):
        bars = patches_by_gid(fig, f"{column}:")
        texts = texts_by_gid(fig, f"value:{column}:")
        assert len(bars) == len(table)
        for row, mineral in enumerate(SCREEN_ORDER):
            bar = bars[f"{column}:{mineral}"]
            assert bar.axes is ax
            assert width(bar) == table.loc[mineral, column]
            assert y_centre(bar) == pytest.approx(row)
            chosen = table.loc[mineral, "selected"] == "yes"
            assert to_hex(bar.get_facecolor()) == to_hex(colors["accent"] if chosen else colors["muted"])
            text = texts[f"value:{column}:{mineral}"]
            assert text.get_text() == f"{num(table.loc[mineral, column])}%"
            assert text.get_position()[0] > table.loc[mineral, column]
    groups = texts_by_gid(fig, "group:")

    def squeeze(text):
        return text.replace("\n", "").replace(" ", "")

    assert {gid.split(":")[1]: squeeze(t.get_text()) for gid, t in groups.items()} == {
        g: squeeze(style.label(f"bars_screening.group.{g}")) for g in table["group"].unique()
    }
    # group labels sit beside their rows
    for gid, text in groups.items():
        rows = [SCREEN_ORDER.index(m) for m in table.index[table["group"] == gid.split(":")[1]]]
        assert text.get_position()[1] == pytest.approx(sum([min(rows), max(rows)]) / 2)
    assert item.values["selected"] == ["Ga", "Mg"]
    assert item.sources == ["mineral_screening"]


# ----------------------------------------------------------------------------------------- recommendations
RECO = {
    "ga_reco_bars": ("Ga", ["RECO_ALUMINA", "RECO_ZINC", "RECO_GALLIUM"]),
    "mg_reco_bars": ("Mg", ["RECO_MG_ORE", "RECO_SALT_LAKE", "RECO_MAGNESIUM"]),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("figure", sorted(RECO))
def test_reco_bars_equal_the_cleaned_shares_and_rates(cleaned, codes, lang, figure):
    mineral, items = RECO[figure]
    data, style = make(cleaned, codes, lang)
    item = draw(plot_reco_bars, data, style, [figure])[figure]
    fig = item.fig
    shares = pd.read_csv(cleaned / "reco_bars.csv")  # the bars as drawn: China from the material-flow pie
    rates = pd.read_csv(cleaned / "recycling_rates.csv")
    rates = rates[rates["mineral"] == mineral].reset_index(drop=True)
    segs = patches_by_gid(fig, "share:")
    labels = texts_by_gid(fig, "label:")
    narrow = texts_by_gid(fig, "narrow:")
    assert {gid.split(":")[1] for gid in segs} == set(items)
    for row, reco in enumerate(items):
        split = shares[shares["item"] == reco]
        drawn = sorted(
            ((gid.split(":")[2], p) for gid, p in segs.items() if gid.split(":")[1] == reco),
            key=lambda kv: kv[1].get_x(),
        )
        assert [c for c, _ in drawn] == list(split["country"])  # printed order, left to right
        x = 0.0
        for (country, patch), share in zip(drawn, split["share_pct"], strict=True):
            assert patch.get_x() == pytest.approx(x)
            assert width(patch) == pytest.approx(share)
            assert y_centre(patch) == pytest.approx(row)
            assert to_hex(patch.get_facecolor()) == to_hex(style.color(country))
            gid = f"label:{reco}:{country}"
            if share >= 8:
                assert labels[gid].get_text() == f"{num(share)}%"
            else:
                assert gid not in labels
                assert f"{style.name(country)} {num(share)}%" in narrow[f"narrow:{reco}"].get_text()
            x += share
        assert x == pytest.approx(100.0)
    # recycling rates: a bar per printed rate, 'no data' (not a zero bar) where there is none
    bars = patches_by_gid(fig, "rate:")
    nodata = texts_by_gid(fig, "nodata:")
    rate_labels = texts_by_gid(fig, "ratelabel:")
    ax_rates = bars[next(iter(bars))].axes
    ticks = [t.get_text() for t in ax_rates.get_yticklabels()]
    assert len(ticks) == len(rates)
    for row, r in rates.iterrows():
        assert style.name(r["region"]) in ticks[row]
        if pd.isna(r["year"]):
            assert not any(ch.isdigit() for ch in ticks[row])
        else:
            assert str(int(r["year"])) in ticks[row]
        if pd.isna(r["rate_pct"]):
            assert f"rate:{r['region']}" not in bars
            assert nodata[f"nodata:{r['region']}"].get_text() == style.label("bars_reco.no_data")
        else:
            bar = bars[f"rate:{r['region']}"]
            assert width(bar) == r["rate_pct"] and bar.get_x() == 0.0
            assert y_centre(bar) == pytest.approx(row)
            assert to_hex(bar.get_facecolor()) == to_hex(style.color(r["region"]))
            assert rate_labels[f"ratelabel:{r['region']}"].get_text() == f"{num(r['rate_pct'])}%"
    assert len(bars) + len(nodata) == len(rates)
    assert ax_rates.get_xlim() == (0.0, 100.0)
    assert item.values["rates"] == {
        r["region"]: (None if pd.isna(r["rate_pct"]) else float(r["rate_pct"])) for _, r in rates.iterrows()
    }
    assert style.name(mineral) in item.title
    assert item.sources == ["reco_shares", "recycling_rates"]


def test_mg_japan_has_no_zero_bar(cleaned, codes):
    data, style = make(cleaned, codes, "ja")
    fig = draw(plot_reco_bars, data, style, ["mg_reco_bars"])["mg_reco_bars"].fig
    assert "rate:JP" not in patches_by_gid(fig, "rate:")
    assert all(width(p) > 0 for p in patches_by_gid(fig, "rate:").values())
    assert "データなし" in [t.get_text() for t in texts_by_gid(fig, "nodata:").values()]


def test_a_country_without_colour_raises(cleaned, codes, tmp_path):
    for path in cleaned.glob("*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    frame = pd.read_csv(tmp_path / "reco_bars.csv")
    frame.loc[frame["country"] == "IL", "country"] = "XX"  # not in style.yaml, not in the code lists
    frame.to_csv(tmp_path / "reco_bars.csv", index=False)
    data, style = make(tmp_path, codes, "en")
    with pytest.raises(StyleError):
        draw(plot_reco_bars, data, style, ["mg_reco_bars"])


def test_label_files_have_the_same_keys():
    from critmet.io import load_yaml

    def keys(node, prefix=""):
        if not isinstance(node, dict):
            return {prefix}
        return set().union(*(keys(v, f"{prefix}.{k}") for k, v in node.items()))

    ja = load_yaml(ROOT / "templates" / "text" / "ja" / "figures_bars.yaml")
    en = load_yaml(ROOT / "templates" / "text" / "en" / "figures_bars.yaml")
    assert keys(ja) == keys(en)
