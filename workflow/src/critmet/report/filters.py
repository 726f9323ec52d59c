"""Jinja filters: numbers, percentages and units, formatted per language. Registered in one place."""

from __future__ import annotations

import functools
import math
import numbers
import re

from jinja2 import Undefined, pass_context

WORD_JOINER = "\u2060"
LONGEST_KEPT_PHRASE = 14  # a longer phrase may still break inside (a narrow cell must not overflow)
LONGEST_KEPT_PART = 8  # a part (between slashes or after a colon) of a longer phrase: kept whole up to this


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


@functools.cache
def _budoux_parser():
    import budoux

    return budoux.load_default_japanese_parser()


def ja_phrases(text: str) -> list[str]:
    """Japanese text cut into BudouX phrases (the units a Japanese reader does not want split across lines)."""
    return _budoux_parser().parse(str(text)) if text else []


def keep_phrases(text: str) -> str:
    """Japanese text whose lines may break only between BudouX phrases: the characters of each phrase are
    joined by U+2060 WORD JOINER, which Pango never breaks at; kinsoku (UAX #14) still applies at the
    phrase boundaries. A phrase may also break after a slash 「／」 (a list of terms) or a colon 「：」;
    phrases longer than LONGEST_KEPT_PHRASE characters are left breakable, but for their parts of up to
    LONGEST_KEPT_PART characters."""
    out = []
    for phrase in ja_phrases(text):
        # a list of terms BudouX reads as one phrase (「採掘／製錬／省資源・代替」) may break after each slash,
        # a label after its colon (「製錬品：ガリウム地金」); a part of a phrase too long to keep is kept only
        # if short (a name), so that no new unbreakable run appears in a narrow cell
        longest = LONGEST_KEPT_PHRASE if len(phrase) <= LONGEST_KEPT_PHRASE else LONGEST_KEPT_PART
        for part in filter(None, re.split("(?<=[／：])", phrase)):
            if len(part) <= longest and not any(c.isspace() for c in part):
                part = WORD_JOINER.join(part)
            out.append(part)
    return "".join(out)


@pass_context
def phrases(context, text) -> str:
    """`{{ heading | phrases }}`: in the Japanese edition, no line break inside a BudouX phrase."""
    if isinstance(text, Undefined):
        str(text)
    if context.get("lang") != "ja":
        return text
    return keep_phrases(str(text))


FILTERS = {
    "phrases": phrases,
    "plain": plain,
    "num": num,
    "signed": signed,
    "pct": pct,
    "year": year,
}
