"""The policy timelines (pp.6-8), the mineral-selection funnel (p.10) and the GaN application map (p.29),
drawn from the real cleaned data in both languages: the numbers, positions and texts read back from the
matplotlib objects must equal the cleaned tables, and no two labels may overlap."""

from __future__ import annotations

import itertools
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.text import Annotation, Text

from critmet.clean import clean_dataset
from critmet.figures import plot_gan_map, plot_policy_timelines
from critmet.figures.common import FigureData, load_labels
from critmet.figures.style import Style
from critmet.validate import load_codes

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
TEXT = ROOT / "templates" / "text"
TIMELINES = {"policy_timeline_eu": "EUR", "policy_timeline_us": "US", "policy_timeline_cn": "CN"}
POLICY_FIGURES = [*TIMELINES, "mineral_funnel"]
LANGS = ["ja", "en"]


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def cleaned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("policy_data")
    for dataset in ("policy", "gan_map"):
        clean_dataset(dataset, RAW, out)
    return out


def _style(lang: str) -> Style:
    return Style(lang, load_codes(RAW / "codes"), load_labels(TEXT, lang))


def _data(data_dir: Path) -> FigureData:
    return FigureData(data_dir, RAW, load_codes(RAW / "codes"))


@pytest.fixture(scope="module", params=LANGS)
def policy(request, cleaned):
    """(style, drawn figures, cleaned events, cleaned funnel); the checks run inside the style context."""
    style = _style(request.param)
    with style.context():
        drawn = plot_policy_timelines.draw(_data(cleaned), style, POLICY_FIGURES)
        for item in drawn.values():
            _render(item.fig)
        yield (
            style,
            drawn,
            pd.read_csv(cleaned / "policy_events.csv"),
            pd.read_csv(cleaned / "mineral_funnel.csv"),
        )


@pytest.fixture(scope="module", params=LANGS)
def gan(request, cleaned):
    style = _style(request.param)
    with style.context():
        drawn = plot_gan_map.draw(_data(cleaned), style, ["gan_application_map"])["gan_application_map"]
        _render(drawn.fig)
        metrics = pd.read_csv(cleaned / "gan_map_metrics.csv").set_index("metric")["value"]
        yield style, drawn, pd.read_csv(cleaned / "gan_application_map.csv"), metrics


# ------------------------------------------------------------------------------------------ helpers
def _render(fig):
    """Draw the figure once on an Agg canvas, so text extents are final."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()


def _by_gid(fig, prefix: str, kind=object) -> dict:
    found = {}
    for artist in fig.findobj(lambda a: isinstance(a, kind) and str(a.get_gid() or "").startswith(prefix)):
        found[artist.get_gid()[len(prefix) :]] = artist
    return found


def _expected_x(date) -> float | None:
    """Written independently of the module: YYYY-MM at the month's start, YYYY at mid-year."""
    if pd.isna(date):
        return None
    text = str(date)
    if re.fullmatch(r"\d{4}", text):
        return int(text) + 0.5
    year, month = text.split("-")
    return int(year) + (int(month) - 1) / 12


def _flat(text: str, lang: str):
    """A label without its line breaks: Japanese characters joined, English words as a list."""
    return "".join(text.split()) if lang == "ja" else text.split()


def _box(text: Text, fig):
    patch = text.get_bbox_patch()
    return (patch if patch is not None else text).get_window_extent(fig.canvas.get_renderer())


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def _code_name(code: str, lang: str) -> str:
    codes = pd.concat([pd.read_csv(p) for p in sorted((RAW / "codes").glob("*.csv"))])
    return codes.set_index("code").loc[code, f"name_{lang}"]


# ------------------------------------------------------------------------------------------ timelines
@pytest.mark.parametrize("name", list(TIMELINES))
def test_timeline_markers_sit_at_the_event_dates(policy, name):
    style, drawn, events, _ = policy
    rows = events[(events["jurisdiction"] == TIMELINES[name]) & (events["kind"] == "event")]
    markers = _by_gid(drawn[name].fig, "event:")
    assert set(markers) == set(rows["event_id"])  # every event once; no update marker, annotation or p.5 entry
    for _, row in rows.iterrows():
        x = markers[row["event_id"]].get_xdata()[0]
        expected = _expected_x(row["date"])
        if expected is None:  # undated: right of the last year, hollow
            assert x > 2024 and markers[row["event_id"]].get_markerfacecolor() == "white"
        else:
            assert x == pytest.approx(expected, abs=1e-9)
            assert 2010 <= x < 2024
    assert drawn[name].values["events"] == {
        r["event_id"]: {"lane": r["lane"], "date": str(r["date"]), "x": round(_expected_x(r["date"]), 4)}
        for _, r in rows.iterrows()
        if not pd.isna(r["date"])
    }


@pytest.mark.parametrize("name", list(TIMELINES))
def test_timeline_labels_are_the_event_names_and_never_overlap(policy, name):
    style, drawn, events, _ = policy
    fig = drawn[name].fig
    rows = events[(events["jurisdiction"] == TIMELINES[name]) & (events["kind"] == "event")].set_index("event_id")
    labels = _by_gid(fig, "label:", Text)
    assert set(labels) == set(rows.index)
    for event_id, text in labels.items():
        assert _flat(text.get_text(), style.lang) == _flat(rows.loc[event_id, f"event_{style.lang}"], style.lang)
    boxes = {k: _box(t, fig) for k, t in labels.items()}
    for (a, ba), (b, bb) in itertools.combinations(boxes.items(), 2):
        assert not _overlaps(ba, bb), f"{name} ({style.lang}): labels {a} and {b} overlap"
    ax_box = fig.axes[0].get_window_extent()
    for b in boxes.values():  # inside the plot, and no marker hidden under another event's box
        assert ax_box.x0 - 1 <= b.x0 and b.x1 <= ax_box.x1 + 1 and ax_box.y0 - 1 <= b.y0 and b.y1 <= ax_box.y1 + 1
    markers = _by_gid(fig, "event:")
    for k, line in markers.items():
        px, py = fig.axes[0].transData.transform((line.get_xdata()[0], line.get_ydata()[0]))
        for other, b in boxes.items():
            if other != k:
                assert not (b.x0 < px < b.x1 and b.y0 < py < b.y1), f"marker {k} lies under the label of {other}"
    # annotations and update arrows are not drawn as text
    hidden = events[(events["jurisdiction"] == TIMELINES[name]) & events["kind"].isin(["annotation"])]
    texts = {t.get_text() for t in fig.findobj(Text)}
    for label in hidden[f"event_{style.lang}"]:
        assert label not in texts


@pytest.mark.parametrize("name", list(TIMELINES))
def test_timeline_lanes_follow_the_code_list(policy, name):
    style, drawn, events, _ = policy
    fig = drawn[name].fig
    rows = events[(events["jurisdiction"] == TIMELINES[name]) & (events["kind"] == "event")]
    lane_codes = pd.read_csv(RAW / "codes" / "policy_lane.csv")["code"].tolist()
    expected = [c for c in lane_codes if c in set(rows["lane"])]
    names = _by_gid(fig, "lane:", Text)
    assert list(names) == expected  # drawn in code-list order, one per lane holding an event
    for code, text in names.items():  # the code-list name (its trailing '(jurisdiction)' dropped)
        full = _flat(_code_name(code, style.lang), style.lang)
        shown = _flat(text.get_text(), style.lang)
        assert full[: len(shown)] == shown and len(shown) >= len(full) - (6 if style.lang == "ja" else 1)
    tops = [t.get_position()[1] for t in names.values()]
    assert tops == sorted(tops, reverse=True)  # top to bottom
    bands = _by_gid(fig, "lane_band:")
    markers = _by_gid(fig, "event:")
    labels = _by_gid(fig, "label:", Text)
    for _, row in rows.iterrows():  # each marker and its box lie inside the band of its own lane
        band = bands[row["lane"]].get_window_extent()
        line = markers[row["event_id"]]
        _, py = fig.axes[0].transData.transform((line.get_xdata()[0], line.get_ydata()[0]))
        box = _box(labels[row["event_id"]], fig)
        assert band.y0 <= py <= band.y1
        assert band.y0 - 0.5 <= box.y0 and box.y1 <= band.y1 + 0.5


@pytest.mark.parametrize("name", list(TIMELINES))
def test_timeline_year_ticks_and_footnote(policy, name):
    style, drawn, events, _ = policy
    ax = drawn[name].fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(y) for y in range(2010, 2024)]
    assert list(ax.get_xticks()) == pytest.approx([y + 0.5 for y in range(2010, 2024)])
    markers = events[(events["jurisdiction"] == TIMELINES[name]) & (events["kind"] == "update_marker")]
    footnote = _by_gid(drawn[name].fig, "footnote", Text)[""].get_text()
    assert len(markers) > 0
    for label in markers[f"event_{style.lang}"].unique():  # the slide says nothing about arrows not drawn
        assert label not in footnote and "矢印" not in footnote and "arrow" not in footnote
    assert drawn[name].values["update_markers_not_drawn"] == markers["event_id"].tolist()
    n = ((events["jurisdiction"] == TIMELINES[name]) & (events["kind"] == "event")).sum()
    assert str(n) in drawn[name].alt


def test_china_undated_plan_is_in_the_preparation_column(policy):
    style, drawn, events, _ = policy
    fig = drawn["policy_timeline_cn"].fig
    undated = events[(events["jurisdiction"] == "CN") & (events["kind"] == "event") & events["date"].isna()]
    assert len(undated) == 1
    header = _by_gid(fig, "undated_header", Text)[""]
    assert header.get_text() == style.label("policy_timeline.undated")
    line = _by_gid(fig, "event:")[undated["event_id"].iloc[0]]
    assert line.get_xdata()[0] > 2024
    assert not _by_gid(drawn["policy_timeline_eu"].fig, "undated_header", Text)


# ------------------------------------------------------------------------------------------ funnel
def test_funnel_bars_are_centred_with_the_counts_as_widths(policy):
    style, drawn, _, funnel = policy
    fig = drawn["mineral_funnel"].fig
    bars = _by_gid(fig, "bar:", Rectangle)
    assert set(bars) == set(funnel["step"])
    for _, row in funnel.iterrows():
        bar = bars[row["step"]]
        assert bar.get_width() == pytest.approx(row["count"])
        assert bar.get_x() + bar.get_width() / 2 == pytest.approx(0.0)
    assert {k: v.get_width() for k, v in bars.items()} == {
        "FS_INPUT_JP": 35,
        "FS_INPUT_US": 50,
        "FS_INPUT_EU": 17,
        "FS_COMMON": 14,
        "FS_SCREEN1": 9,
        "FS_SCREEN2": 6,
        "FS_SUPPLY_CHAIN": 2,
    }
    # top to bottom in step order; input bars in their jurisdiction's colour
    ys = [bars[s].get_y() for s in funnel.sort_values("step_order", kind="stable")["step"]]
    assert ys == sorted(ys)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # y grows downwards
    from matplotlib.colors import to_hex

    for _, row in funnel[funnel["step_order"] == 0].iterrows():
        assert to_hex(bars[row["step"]].get_facecolor()) == style.color(row["jurisdiction"]).lower()


def test_funnel_labels_give_name_count_and_minerals(policy):
    style, drawn, _, funnel = policy
    fig = drawn["mineral_funnel"].fig
    names = _by_gid(fig, "name:", Text)
    counts = _by_gid(fig, "count:", Text)
    minerals = _by_gid(fig, "minerals:", Text)
    for _, row in funnel.iterrows():
        step = row["step"]
        assert re.sub(r"\D", "", counts[step].get_text()) == str(row["count"])
        name = _flat(names[step].get_text(), style.lang)
        expected = _flat(_code_name(step, style.lang), style.lang)
        assert name[: len(expected)] == expected
        if row["step_order"] == 0:
            assert step not in minerals and str(int(row["year"])) in names[step].get_text()
        else:
            assert minerals[step].get_text().split() == row["minerals"].split("|")
            assert len(row["minerals"].split("|")) == row["count"]
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    boxes = [(t.get_gid(), _box(t, fig)) for t in texts if t.get_gid()]
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        assert not _overlaps(ba, bb), f"funnel ({style.lang}): {a} and {b} overlap"
    fig_box = fig.bbox
    for gid, b in boxes:
        assert fig_box.x0 <= b.x0 and b.x1 <= fig_box.x1, f"{gid} is clipped"


# ------------------------------------------------------------------------------------------ GaN map
def _edge(value, edge):
    return edge if pd.isna(value) else value


def test_gan_regions_span_their_ranges(gan):
    style, drawn, frame, metrics = gan
    ax = drawn.fig.axes[0]
    assert [10**v for v in ax.get_xlim()] == pytest.approx([metrics["axis_freq_min_hz"], metrics["axis_freq_max_hz"]])
    assert [10**v for v in ax.get_ylim()] == pytest.approx([metrics["axis_power_min_w"], metrics["axis_power_max_w"]])
    patches = _by_gid(drawn.fig, "region:", FancyBboxPatch)
    regions = frame[frame["kind"] == "region"]
    assert set(patches) == set(regions["device_class"])
    for _, row in regions.iterrows():
        p = patches[row["device_class"]]
        f0 = _edge(row["freq_min_hz"], metrics["axis_freq_min_hz"])
        f1 = _edge(row["freq_max_hz"], metrics["axis_freq_max_hz"])
        p0 = _edge(row["power_min_w"], metrics["axis_power_min_w"])
        p1 = _edge(row["power_max_w"], metrics["axis_power_max_w"])
        assert 10 ** p.get_x() == pytest.approx(f0) and 10 ** (p.get_x() + p.get_width()) == pytest.approx(f1)
        assert 10 ** p.get_y() == pytest.approx(p0) and 10 ** (p.get_y() + p.get_height()) == pytest.approx(p1)
        name = _by_gid(drawn.fig, "name:", Text)[row["device_class"]]
        assert name.get_text().split("\n")[0] == _code_name(row["device_class"], style.lang)
        if isinstance(row["practical_use"], str):  # lateral / vertical GaN carry their practical-use status
            assert style.label(f"policy_gan.practical_use.{row['practical_use']}") in name.get_text()
    vertical = patches["DC_GAN_VERTICAL"]
    assert vertical.get_linestyle() not in ("-", "solid")  # expected only in the late 2020s: dashed


def test_gan_application_tags_at_geometric_centres(gan):
    style, drawn, frame, metrics = gan
    tags = _by_gid(drawn.fig, "app:", Annotation)
    apps = frame[frame["kind"] == "application"]
    assert set(tags) == set(apps["device_class"])
    for _, row in apps.iterrows():
        f0 = _edge(row["freq_min_hz"], metrics["axis_freq_min_hz"])
        f1 = _edge(row["freq_max_hz"], metrics["axis_freq_max_hz"])
        p0 = _edge(row["power_min_w"], metrics["axis_power_min_w"])
        p1 = _edge(row["power_max_w"], metrics["axis_power_max_w"])
        x, y = tags[row["device_class"]].xy
        assert 10**x == pytest.approx(math.sqrt(f0 * f1)) and 10**y == pytest.approx(math.sqrt(p0 * p1))
        assert _flat(tags[row["device_class"]].get_text(), style.lang) == _flat(
            _code_name(row["device_class"], style.lang), style.lang
        )


def test_gan_labels_do_not_overlap_and_stay_inside(gan):
    style, drawn, frame, _ = gan
    fig = drawn.fig
    labels = {
        **{f"app:{k}": v for k, v in _by_gid(fig, "app:", Annotation).items()},
        **{f"name:{k}": v for k, v in _by_gid(fig, "name:", Text).items()},
    }
    boxes = {k: _box(t, fig) for k, t in labels.items()}
    for (a, ba), (b, bb) in itertools.combinations(boxes.items(), 2):
        assert not _overlaps(ba, bb), f"GaN map ({style.lang}): {a} and {b} overlap"
    ax_box = fig.axes[0].get_window_extent()
    for k, b in boxes.items():
        assert ax_box.x0 - 2 <= b.x0 and b.x1 <= ax_box.x1 + 2 and ax_box.y0 - 2 <= b.y0 and b.y1 <= ax_box.y1 + 2, k
    footnote = _by_gid(fig, "footnote", Text)[""].get_text()
    assert (frame["extent"] == "approximate").all()
    assert _flat(footnote, style.lang) == _flat(style.label("policy_gan.footnote"), style.lang)
    assert fig.axes[0].get_xlabel() == style.label("policy_gan.x_label")


# ------------------------------------------------------------------------------------------ data changes
def test_figures_follow_edited_data(cleaned, tmp_path):
    """Edit the cleaned tables: the drawn bars, markers and regions must move with them."""
    data_dir = tmp_path / "edited"
    shutil.copytree(cleaned, data_dir)
    funnel = pd.read_csv(data_dir / "mineral_funnel.csv")
    funnel.loc[funnel["step"] == "FS_INPUT_US", "count"] = 24
    funnel.to_csv(data_dir / "mineral_funnel.csv", index=False)
    events = pd.read_csv(data_dir / "policy_events.csv")
    events.loc[events["event_id"] == "EU02", "date"] = "2014-11"
    events.to_csv(data_dir / "policy_events.csv", index=False)
    gan = pd.read_csv(data_dir / "gan_application_map.csv")
    gan.loc[gan["device_class"] == "DC_SIC", "freq_max_hz"] = 200000
    gan.to_csv(data_dir / "gan_application_map.csv", index=False)
    style = _style("en")
    with style.context():
        drawn = plot_policy_timelines.draw(_data(data_dir), style, ["policy_timeline_eu", "mineral_funnel"])
        gan_fig = plot_gan_map.draw(_data(data_dir), style, ["gan_application_map"])["gan_application_map"].fig
    assert _by_gid(drawn["mineral_funnel"].fig, "bar:", Rectangle)["FS_INPUT_US"].get_width() == 24
    assert _by_gid(drawn["policy_timeline_eu"].fig, "event:")["EU02"].get_xdata()[0] == pytest.approx(2014 + 10 / 12)
    sic = _by_gid(gan_fig, "region:", FancyBboxPatch)["DC_SIC"]
    assert 10 ** (sic.get_x() + sic.get_width()) == pytest.approx(200000)


def test_bad_date_raises(cleaned, tmp_path):
    data_dir = tmp_path / "bad"
    shutil.copytree(cleaned, data_dir)
    events = pd.read_csv(data_dir / "policy_events.csv")
    events.loc[events["event_id"] == "EU02", "date"] = "May 2014"
    events.to_csv(data_dir / "policy_events.csv", index=False)
    style = _style("ja")
    with style.context(), pytest.raises(ValueError, match="neither YYYY nor YYYY-MM"):
        plot_policy_timelines.draw(_data(data_dir), style, ["policy_timeline_eu"])
