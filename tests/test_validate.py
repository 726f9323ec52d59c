"""The validator: each kind of bad input gets one clear message naming file, line, column and value;
messy but unambiguous input is normalised and noted."""

from __future__ import annotations

import pytest

from critmet.validate import RawDataError, load_codes, normalise_key, validate_all, validate_table


def _validate(raw):
    return validate_table(raw / "supply.csv", load_codes(raw / "codes"))


def _write(raw, text, encoding="utf-8"):
    (raw / "supply.csv").write_bytes(text.encode(encoding) if isinstance(text, str) else text)


def test_valid_table_maps_names_to_codes(tiny_raw):
    table = _validate(tiny_raw)
    assert [r["country"] for r in table.rows] == ["CN", "RU", "CN", "RU"]
    assert [r["value_t"] for r in table.rows] == [90.0, 13.0, 360.0, 13.0]
    assert table.rows[0]["year"] == 2010 and table.notes == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("year,country\n2010,CN\n", "missing column 'value_t'"),
        ("year,country,value_t,extra\n2010,CN,1,2\n", "unexpected column 'extra'"),
        (
            "year,country,value_t\n2010,CN,ninety\n",
            "line 2, column 'value_t': not a number (value: 'ninety')",
        ),
        ("year,country,value_t\n2010.5,CN,1\n", "column 'year': not a whole number"),
        ("", "the file is empty"),
        ("year,country,value_t\n", "no data rows"),
        ("year,country,value_t\n2010,CN,-3\n", "line 2, column 'value_t': negative quantity (value: '-3')"),
        ("year,country,value_t\n2010,CN,1\n2010,中国,2\n", "line 3, column 'year, country': duplicate key"),
        (
            "year,country,value_t\n2010,Atlantis,1\n",
            "line 2, column 'country': unknown country/region (value: 'Atlantis')",
        ),
        ("year,country,value_t\n2031,CN,1\n", "line 2, column 'year': year out of range (value: '2031')"),
        ("year,country,value_t\n2010,CN\n", "line 2: 2 fields"),
        ("year,country,value_t\n2010,CN,\n", "line 2, column 'value_t': empty cell"),
    ],
)
def test_bad_input_is_named(tiny_raw, text, needle):
    _write(tiny_raw, text)
    with pytest.raises(RawDataError) as err:
        _validate(tiny_raw)
    message = str(err.value)
    assert message.startswith(str(tiny_raw / "supply.csv"))
    assert needle in message
    assert "expected" in message


def test_shift_jis_is_refused_with_a_hint(tiny_raw):
    _write(tiny_raw, "year,country,value_t\n2010,中国,90\n", encoding="cp932")
    with pytest.raises(RawDataError) as err:
        _validate(tiny_raw)
    assert "not UTF-8" in str(err.value) and "Shift_JIS" in str(err.value) and "line 2" in str(err.value)


def test_messy_but_unambiguous_input_is_normalised(tiny_raw):
    _write(tiny_raw, '\ufeffyear, country ,value_t\n２０１０, 中国 ,"1,020"\n2020,RU,１３\n')
    table = _validate(tiny_raw)
    assert table.rows == [
        {"year": 2010, "country": "CN", "value_t": 1020.0},
        {"year": 2020, "country": "RU", "value_t": 13.0},
    ]
    joined = " ".join(table.notes)
    for note in ("byte-order mark", "full-width", "thousands separators", "stray spaces"):
        assert note in joined


def test_metadata_must_be_complete(tiny_raw):
    meta = tiny_raw / "supply.meta.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace('title: {ja: "テスト表", en: "Test table"}\n', ""),
        encoding="utf-8",
    )
    with pytest.raises(RawDataError, match="metadata key 'title' is missing"):
        _validate(tiny_raw)


def test_metadata_needs_both_languages(tiny_raw):
    meta = tiny_raw / "supply.meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace('en: "Test source"', 'en: ""'), encoding="utf-8")
    with pytest.raises(RawDataError, match="'source' needs both languages"):
        _validate(tiny_raw)


def test_duplicate_code_in_code_lists(tiny_raw):
    (tiny_raw / "codes" / "more.csv").write_text(
        "code,kind,name_ja,name_en,aliases\nCN,country,中国,China,\n", encoding="utf-8"
    )
    with pytest.raises(RawDataError, match="duplicate code"):
        load_codes(tiny_raw / "codes")


def test_names_compare_without_width_case_or_spaces():
    assert normalise_key("Korea, Republic of") == normalise_key("korea,republicof")
    assert normalise_key("ＣＮ") == normalise_key("cn")


def test_the_project_raw_data_is_valid():
    from conftest import ROOT

    codes, tables = validate_all(ROOT / "data" / "raw")
    assert len(tables) >= 20
    assert "CN" in codes.entries and codes.name("CN", "ja") == "中国"
