"""The narrative text files: per-language YAML, each string a small Jinja template over the variables.

Strings remember the file and line they come from, so an unknown variable or a broken placeholder fails the
build naming both. Text is rendered to plain strings here; the HTML templates escape it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

from critmet.report import ReportError

# Japanese line-breaking rules (kinsoku): these may not start a line, and the openers may not end one.
# Pango's line breaking (Unicode UAX #14, small kana resolved as non-starters) already keeps them;
# tests/test_pdf.py checks every line of the Japanese PDF against these lists.
NO_LINE_START = "、。，．・：；？！）」』】〕〉》’”ー〜…‥ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ%）］｝"
NO_LINE_END = "（「『【〔〈《‘“［｛"


class LineStr(str):
    """A str that knows the file and line it was read from."""

    file: str = "?"
    line: int = 0


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ten times faster
    pass


def _construct_str(loader: _LineLoader, node: yaml.ScalarNode) -> LineStr:
    value = LineStr(loader.construct_scalar(node))
    value.file = loader.name
    value.line = node.start_mark.line + 1
    return value


_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def load_text_file(path: str | Path) -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            loader = _LineLoader(fh)
            loader.name = str(path)
            try:
                return loader.get_single_data()
            finally:
                loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ReportError(f"{where}: the text file does not parse as YAML: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: the text file is not UTF-8; save it as UTF-8") from None


def render_strings(node: Any, env: jinja2.Environment, variables: dict, lang: str) -> Any:
    """Render every string of a loaded text file through Jinja with `v` = the variables."""
    if isinstance(node, dict):
        return {k: render_strings(v, env, variables, lang) for k, v in node.items()}
    if isinstance(node, list):
        return [render_strings(v, env, variables, lang) for v in node]
    if isinstance(node, str):
        where = f"{getattr(node, 'file', '?')}:{getattr(node, 'line', 0)}"
        if "{{" not in node and "{%" not in node:
            text = str(node)
        else:
            try:
                text = env.from_string(str(node)).render(v=variables)
            except jinja2.UndefinedError as exc:
                raise ReportError(
                    f"{where}: {exc.message}; the variables a text can use are listed in "
                    "results/report/variables.md (add new ones in templates/variables.yaml)"
                ) from None
            except jinja2.TemplateSyntaxError as exc:
                raise ReportError(f"{where}: broken placeholder: {exc.message}") from None
            except (TypeError, ValueError) as exc:
                raise ReportError(f"{where}: {exc}") from None
        return text
    return node
