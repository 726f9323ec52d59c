"""Jinja filters: numbers, percentages and units, formatted per language. Registered in one place."""

from __future__ import annotations

import math
import numbers

from jinja2 import Undefined


def _check(value, name):
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises here, naming the missing variable
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"filter '{name}' needs a number, got {value!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"filter '{name}' got a missing value (NaN): the data has no value for this variable")


def num(value, digits: int = 0) -> str:
    """1020 -> '1,020'; num(1) -> one decimal. Same in Japanese and English."""
    _check(value, "num")
    text = f"{float(value):,.{digits}f}"
    return "0" if text in ("-0", "-0.0") else text


def signed(value, digits: int = 0) -> str:
    """+270 / -13: a difference with its sign."""
    _check(value, "signed")
    return ("+" if value > 0 else "") + num(value, digits)


def pct(value, digits: int = 0) -> str:
    """98 -> '98%' (the variable holds percent)."""
    return num(value, digits) + "%"


def year(value) -> str:
    """2023.0 -> '2023': a year, without a thousands separator."""
    _check(value, "year")
    return str(int(round(float(value))))


def plain(text: str) -> str:
    """Text for metadata (title, subject, keywords): without the invisible line-break controls of the body."""
    return str(text).replace("\u2060", "")


FILTERS = {
    "plain": plain,
    "num": num,
    "signed": signed,
    "pct": pct,
    "year": year,
}
