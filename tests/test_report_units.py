"""The report's building blocks: number filters, text files with placeholders (strict about unknown names,
naming file and line), variables looked up in the data, the locked resource fetcher, config and environment."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import weasyprint
import yaml

from conftest import ROOT
from critmet.report import ReportError
from critmet.report.fetcher import ProjectFetcher, RefusedResource
from critmet.report.filters import num, pct, plain, signed
from critmet.report.render import check_same_keys, make_env
from critmet.report.text import load_text_file, render_strings
from critmet.report.variables import compute_variables


def test_number_filters():
    assert num(1020) == "1,020" and num(946.2, 1) == "946.2" and num(-0.01) == "0"
    assert pct(98.0036) == "98%" and pct(42.5, 1) == "42.5%" and signed(270) == "+270" and signed(-13.0, 1) == "-13.0"
    with pytest.raises(TypeError):
        num("382")
    with pytest.raises(ValueError, match="missing value"):
        num(float("nan"))
    assert plain("サプライチ\u2060ェーン") == "サプライチェーン"


def write_text(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p99_test.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_text_placeholders_render_from_variables(tmp_path):
    path = write_text(tmp_path, 'title: "x"\nlead: "中国のシェアは{{ v.share | pct }}、合計{{ v.total | num }} t"\n')
    out = render_strings(load_text_file(path), make_env(ROOT / "templates"), {"share": 98.0, "total": 1020}, "ja")
    assert out["lead"] == "中国のシェアは98%、合計1,020 t"


def test_unknown_variable_fails_naming_file_and_line(tmp_path):
    path = write_text(tmp_path, 'title: "x"\nheadline:\n  - "fine"\n  - "{{ v.no_such_number | num }} t"\n')
    with pytest.raises(ReportError) as err:
        render_strings(load_text_file(path), make_env(ROOT / "templates"), {"share": 1}, "en")
    assert f"{path}:4" in str(err.value) and "no_such_number" in str(err.value)


def test_broken_placeholder_and_broken_yaml_name_the_line(tmp_path):
    path = write_text(tmp_path, 'title: "x"\nlead: "{{ v.share | pct "\n')
    with pytest.raises(ReportError, match=rf"{re.escape(str(path))}:2: broken placeholder"):
        render_strings(load_text_file(path), make_env(ROOT / "templates"), {"share": 1}, "en")
    path.write_text('title: "x\nlead: y\n', encoding="utf-8")
    with pytest.raises(ReportError, match="does not parse as YAML"):
        load_text_file(path)


def test_undefined_name_in_a_template_fails():
    env = make_env(ROOT / "templates")
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ no_such_thing }}").render()


def test_languages_must_have_the_same_structure():
    check_same_keys({"a": [1, {"b": 2}]}, {"a": [3, {"b": 4}]}, "x")
    with pytest.raises(ReportError, match="keys differ"):
        check_same_keys({"a": 1, "b": 2}, {"a": 1}, "x")
    with pytest.raises(ReportError, match="items in one language"):
        check_same_keys({"a": [1, 2]}, {"a": [1]}, "x")


def test_text_files_exist_and_match_across_languages():
    pages = yaml.safe_load((ROOT / "templates" / "pages.yaml").read_text(encoding="utf-8"))["pages"]
    for page in pages:
        ja = load_text_file(ROOT / "templates" / "text" / "ja" / f"{page['id']}.yaml")
        en = load_text_file(ROOT / "templates" / "text" / "en" / f"{page['id']}.yaml")
        check_same_keys(ja, en, page["id"])
        if page["kind"] == "content":
            assert len(ja["headline"]) == 2 and len(en["headline"]) == 2, page["id"]


def test_text_carries_no_branding():
    for path in (ROOT / "templates").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\bEPI\b|NEDO|Energy Policy Institute", text), path


def test_variables_are_looked_up_and_missing_ones_fail(tmp_path):
    (tmp_path / "ds_metrics.csv").write_text("metric,value,unit\ntotal_2020,382,t\n", encoding="utf-8")
    (tmp_path / "tbl.csv").write_text("route,total\nA,205\nB,8.5\n", encoding="utf-8")
    spec = tmp_path / "variables.yaml"
    spec.write_text(
        "a: {metric: ds.total_2020}\nb: {table: tbl, where: {route: B}, column: total}\nc: {table: tbl, count: {}}\n",
        encoding="utf-8",
    )
    out = compute_variables(spec, tmp_path)
    assert (out["a"]["value"], out["b"]["value"], out["c"]["value"]) == (382, 8.5, 2)
    spec.write_text("a: {metric: ds.total_2035}\n", encoding="utf-8")
    with pytest.raises(ReportError, match="no metric 'total_2035'"):
        compute_variables(spec, tmp_path)


@pytest.mark.parametrize(
    "url",
    ["http://example.com/logo.png", "https://example.com/x.css", "file:///etc/passwd", "ftp://example.com/x"],
)
def test_remote_or_outside_resources_are_refused(tmp_path, url):
    html = f'<html><body><img src="{url}"></body></html>'
    with pytest.raises(RefusedResource, match="refused"):
        weasyprint.HTML(string=html, base_url=str(tmp_path) + "/", url_fetcher=ProjectFetcher(tmp_path)).render()


def test_a_stylesheet_pointing_outside_is_refused(tmp_path):
    html = '<html><head><link rel="stylesheet" href="file:///etc/hostname"></head><body>x</body></html>'
    with pytest.raises(RefusedResource):
        weasyprint.HTML(string=html, url_fetcher=ProjectFetcher(tmp_path)).render()


def test_files_inside_the_project_are_served(tmp_path):
    (tmp_path / "a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    doc = weasyprint.HTML(string=f'<img src="{(tmp_path / "a.svg").as_uri()}">', url_fetcher=ProjectFetcher(tmp_path))
    assert len(doc.render().pages) == 1


def test_harfbuzz_subsetter_fast_path_is_installed():
    from weasyprint.text.ffi import harfbuzz_subset

    assert harfbuzz_subset is not None


def test_config_is_valid_and_the_schema_refuses_unknown_keys():
    schema = yaml.safe_load((ROOT / "config" / "config.schema.yaml").read_text())
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    jsonschema.validate(config, schema)
    for key, value in schema["properties"].items():
        assert "description" in value, key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "colour": "red"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "document_date": "June 2023"}, schema)


def test_environment_yml_is_in_step_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert sorted(p for p in pip if "==" in p) == sorted(pinned)
    lock = (ROOT / "requirements.lock").read_text().split()
    for requirement in pinned:
        name, version = requirement.split("==")
        assert any(line.lower() == f"{name.lower()}=={version}" for line in lock), requirement


def test_registry_declares_every_raw_table_once():
    registry = yaml.safe_load((ROOT / "workflow" / "registry.yaml").read_text())
    tables = [t for d in registry["datasets"].values() for t in d["tables"]]
    raw = sorted(p.stem for p in (ROOT / "data" / "raw").glob("*.csv"))
    assert sorted(tables + ["discrepancy_register"]) == raw
    figures = [f for fam in registry["figures"].values() for f in fam["figures"]]
    pages = yaml.safe_load((ROOT / "templates" / "pages.yaml").read_text())["pages"]
    placed = [f for p in pages for f in p.get("figures", [])]
    assert sorted(figures) == sorted(placed) and len(set(figures)) == len(figures)
    assert json.dumps(registry)  # plain data


def test_the_text_files_of_every_language_match(built, tmp_path):
    """The committed text files pass; a key missing from one language, or a file missing from one language,
    is named (the report job runs this over every text file before it renders the editions)."""
    import json

    from critmet.report.render import check_languages_match

    variables = json.loads((built / "results" / "report" / "variables.json").read_text(encoding="utf-8"))
    committed = sorted((built / "templates" / "text").rglob("*.yaml"))
    check_languages_match(committed, {name: item["value"] for name, item in variables.items()})
    for lang in ("ja", "en"):
        (tmp_path / "text" / lang).mkdir(parents=True)
        (tmp_path / "text" / lang / "p99.yaml").write_text("title: t\nlead: l\n", encoding="utf-8")
    files = sorted((tmp_path / "text").rglob("*.yaml"))
    check_languages_match(files, {})
    (tmp_path / "text" / "en" / "p99.yaml").write_text("title: t\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"templates/text/\*/p99.yaml: keys differ .*lead"):
        check_languages_match(files, {})
    (tmp_path / "text" / "en" / "p99.yaml").rename(tmp_path / "text" / "en" / "p98.yaml")
    (tmp_path / "text" / "ja" / "p98.yaml").write_text("title: t\n", encoding="utf-8")
    with pytest.raises(ReportError, match="templates/text/en/p99.yaml: missing"):
        check_languages_match(sorted((tmp_path / "text").rglob("*.yaml")), {})


def test_slides_leave_their_fonts_to_the_join(tmp_path):
    """A slide's PDF holds a placeholder instead of its own font subset; the join embeds one subset per font
    (the text stays extractable, the fonts embedded) and refuses to assemble placeholders without fonts."""
    import io
    import subprocess

    from pypdf import PdfReader

    from critmet.report.pages import FontRecorder, shared_subsets
    from critmet.report.pdfjoin import PdfFile, _is_placeholder, join

    pdfs, fonts = [], []
    for text in ("ガリウム Gallium 205", "マグネシウム Magnesium 828"):
        html = f'<html lang="ja"><body style="font-family: \'Noto Sans CJK JP\'"><p>{text}</p></body></html>'
        recorder = FontRecorder(tmp_path)
        with recorder:
            pdfs.append(weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=b"x"))
        fonts.append(recorder.fonts)
        assert fonts[-1], "the recorder saw no font"
    for pdf in pdfs:  # each slide's font programs are placeholders, not subsets
        programs = [s for s in PdfFile(pdf).streams.values() if b"/Length1" in s or b"/Subtype /OpenType" in s]
        assert programs and all(_is_placeholder(s) for s in programs)
    with pytest.raises(ReportError, match="left to the join"):
        join(pdfs, [0, 0])
    joined = join(pdfs, [0, 0], fonts=shared_subsets(fonts, tmp_path))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(joined)).pages)
    assert "Gallium 205" in text and "Magnesium 828" in text
    (tmp_path / "joined.pdf").write_bytes(joined)
    listing = subprocess.run(["pdffonts", str(tmp_path / "joined.pdf")], capture_output=True, text=True, check=True)
    rows = listing.stdout.splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows), listing.stdout  # every font embedded


def test_the_recorder_keeps_each_font_file_and_reads_it_again_if_it_changed(tmp_path):
    """WeasyPrint copies the whole font file out of HarfBuzz for every font of every slide it writes; the
    recorder keeps that copy (the file's own bytes) for the next slides, and reads again when the data at the
    same place no longer match it."""
    import subprocess

    from weasyprint.text.fonts import get_hb_object_data

    from critmet.report.pages import FontRecorder, _harfbuzz_face

    font = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK JP"], capture_output=True, text=True).stdout
    data = bytearray(Path(font).read_bytes())
    face, keep = _harfbuzz_face(data, 0)
    reads = []

    def read(hb_face):
        reads.append(1)
        return get_hb_object_data(hb_face)

    recorder = FontRecorder(tmp_path)
    first = recorder._face_bytes(face, read)
    assert first == bytes(data) and recorder._face_bytes(face, read) is first and len(reads) == 1
    data[len(data) // 2] ^= 0xFF  # the same place, other contents
    assert recorder._face_bytes(face, read) == bytes(data) and len(reads) == 2
    del keep


def test_source_lines_join_as_sentences():
    from critmet.editions import join_sources

    assert join_sources(["IMA (brine: interviews).", "Step values: IPCC 2006"], "en") == (
        "IMA (brine: interviews). Step values: IPCC 2006"
    )
    assert join_sources(["USGS MCS 2023", "JOGMEC"], "en") == "USGS MCS 2023; JOGMEC"
    assert join_sources(["IMAの資料を基に作成。", "工程別の値：IPCC"], "ja") == "IMAの資料を基に作成。工程別の値：IPCC"
    assert join_sources(["USGS", "JOGMEC"], "ja") == "USGS；JOGMEC"
