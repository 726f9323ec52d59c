"""The narrative text files: per-language YAML, each string a small Jinja template over the variables.

Strings remember the file and line they come from, so an unknown variable or a broken placeholder fails the
build naming both. Text is rendered to plain strings here; the HTML templates escape it.

Text files are edited by many hands and built unattended, so they can never run code: every string is
rendered in a `jinja2.sandbox.ImmutableSandboxedEnvironment` that knows the variables `v`, the number filters
and a few harmless built-in ones, and nothing else (no globals, no loader, no `__class__`/`__globals__`
attribute, no method that changes data, no huge `*`/`**`). A forbidden construct stops the build naming the
text file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
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


SAFE_BUILTIN_FILTERS = ("abs", "default", "first", "float", "int", "last", "length", "lower", "round", "upper")
LARGEST_RESULT = 10_000  # items or characters a `*` may make in a text; `**` exponents up to 64


class TextSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The environment of the text files: the sandbox, plus limits on `*` and `**`."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise jinja2.sandbox.SecurityError(f"the exponent {right} is too large for a text file")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > LARGEST_RESULT:
                    raise jinja2.sandbox.SecurityError("a repeated text or list would be too long")
        return super().call_binop(context, operator, left, right)


def text_env(filters: dict | None = None) -> TextSandbox:
    """The sandbox for text strings: StrictUndefined, no globals, the report's filters and a few built-ins."""
    from critmet.report.filters import FILTERS

    env = TextSandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    builtin = {name: env.filters[name] for name in SAFE_BUILTIN_FILTERS}
    env.filters = {**builtin, **FILTERS, **{k: v for k, v in (filters or {}).items() if k in FILTERS}}
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "number", "string", "none")}
    env.globals = {}
    return env


_TEXT_ENV: dict[int, TextSandbox] = {}


def render_strings(node: Any, env: jinja2.Environment, variables: dict, lang: str) -> Any:
    """Render every string of a loaded text file through Jinja with `v` = the variables, in the sandbox
    (`env` gives the filters; its globals, loader and other powers are not used)."""
    if not isinstance(env, TextSandbox):
        env = _TEXT_ENV.setdefault(id(env), text_env(getattr(env, "filters", None)))
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
            except jinja2.sandbox.SecurityError as exc:
                reason = str(exc).rstrip(".")
                raise ReportError(
                    f"{where}: not allowed in a text file: {reason}; a text may only use placeholders such as "
                    "{{ v.name | num }}"
                ) from None
            except jinja2.TemplateSyntaxError as exc:
                raise ReportError(f"{where}: broken placeholder: {exc.message}") from None
            except jinja2.TemplateError as exc:
                raise ReportError(f"{where}: not allowed in a text file: {exc}") from None
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise ReportError(f"{where}: {exc}") from None
        return text
    return node
