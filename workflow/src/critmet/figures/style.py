"""The chart style: fonts, sizes, colours and category order, as a context rather than global state.

`Style` is built from style.yaml, the code lists and the figure label files. `style.context()` returns a
context manager that applies matplotlib rcParams (a Japanese font with no fallback, deterministic SVG) and
turns every warning into an error, so a glyph missing from the font (tofu) fails the build.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from critmet.io import load_yaml  # noqa: E402
from critmet.validate import CodeList  # noqa: E402

STYLE_FILE = Path(__file__).with_name("style.yaml")


class StyleError(KeyError):
    """A category has no colour, or a label has no translation."""

    def __str__(self):  # KeyError quotes its message; show it plainly
        return str(self.args[0])


def _font_path(family: str) -> str:
    """The file of `family`, refreshing matplotlib's font cache once if the font was installed after it."""
    prop = font_manager.FontProperties(family=family)
    try:
        return font_manager.findfont(prop, fallback_to_default=False)
    except ValueError:
        font_manager._load_fontmanager(try_read_cache=False)  # fonts installed after the cache was built
        font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
        try:
            return font_manager.fontManager.findfont(prop, fallback_to_default=False)
        except ValueError:
            raise StyleError(
                f"font {family!r} is not installed; run `make deps` (it installs fonts-noto-cjk)"
            ) from None


@dataclass
class Style:
    """Everything a plot function needs besides its data: language, labels, colours, sizes."""

    lang: str
    codes: CodeList
    labels: dict
    config: dict = field(default_factory=lambda: load_yaml(STYLE_FILE))

    # ------------------------------------------------------------------ text
    def name(self, code: str) -> str:
        """The name of a code in this style's language, from the code lists."""
        try:
            return self.codes.name(code, self.lang)
        except KeyError as err:
            raise StyleError(str(err)) from None

    def label(self, key: str, **fmt) -> str:
        """A label from templates/text/<lang>/figures.yaml, by dotted key; a missing one raises, naming it."""
        node = self.labels
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise StyleError(f"no {self.lang} label '{key}' in templates/text/{self.lang}/figures.yaml")
            node = node[part]
        return str(node).format(**fmt) if fmt else str(node)

    # ---------------------------------------------------------------- colour
    def color(self, code: str) -> str:
        colors = self.config["colors"]
        if code in colors:
            return colors[code]
        entry = self.codes.entries.get(code)
        if entry is None:
            raise StyleError(f"category {code!r} has no colour in style.yaml and is not in data/raw/codes")
        order = self.order(entry["kind"])
        palette = self.config["sequences"].get(entry["kind"], self.config["sequences"]["default"])
        index = order.index(code)
        if index >= len(palette):
            raise StyleError(f"category {code!r} ({entry['kind']}) has no colour: add it to style.yaml")
        return palette[index]

    def order(self, kind: str) -> list[str]:
        """Category order of a code-list kind: the order of its code-list file."""
        return [code for code, e in self.codes.entries.items() if e["kind"] == kind]

    def wrap(self, text: str, width: int) -> str:
        """Wrap a label into lines of about `width` characters. Japanese breaks between BudouX phrases
        (never inside a word), before an opening bracket when it can, and never puts closing punctuation
        at the start of a line; a phrase longer than a line is cut by characters."""
        import textwrap

        from critmet.report.filters import ja_phrases
        from critmet.report.text import NO_LINE_END, NO_LINE_START

        if len(text) <= width:
            return text
        if self.lang != "ja":
            return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False))
        if "\n" in text:
            return "\n".join(self.wrap(part, width) for part in text.split("\n"))
        units: list[str] = []
        for phrase in ja_phrases(text):
            cut = phrase.find("（")
            parts = [phrase[:cut], phrase[cut:]] if cut > 0 else [phrase]
            for part in parts:
                while len(part) > width:  # a phrase longer than a line: cut by characters
                    units.append(part[:width])
                    part = part[width:]
                units.append(part)
        lines = [""]
        for unit in units:
            if lines[-1] and len(lines[-1]) + len(unit) > width:
                lines.append(unit)
            else:
                lines[-1] += unit
        for i in range(1, len(lines)):  # kinsoku, should a cut fall next to punctuation
            while lines[i] and lines[i][0] in NO_LINE_START:
                lines[i - 1] += lines[i][0]
                lines[i] = lines[i][1:]
            while lines[i - 1] and lines[i - 1][-1] in NO_LINE_END:
                lines[i] = lines[i - 1][-1] + lines[i]
                lines[i - 1] = lines[i - 1][:-1]
        return "\n".join(line for line in lines if line)

    def size(self, slot: str, fallback: str | None = None) -> tuple[float, float]:
        """The figure size (inches) of a page slot; `slot@<lang>` in style.yaml overrides it for a language.
        With `fallback`, a slot that style.yaml does not size takes the fallback's size."""
        sizes = self.config["sizes"]
        if fallback is not None and slot not in sizes:
            slot = fallback
        return tuple(sizes.get(f"{slot}@{self.lang}", sizes[slot]))

    # --------------------------------------------------------------- context
    def rc(self) -> dict:
        font = self.config["font"]
        _font_path(font["family"])
        families = [font["family"]]
        if self.lang != "ja":  # English: a Latin face first, the CJK face for any Japanese glyph
            _font_path(font["family_latin"])
            families = [font["family_latin"], font["family"]]
        return {
            "font.family": families,
            "font.size": font["size"],
            "axes.titlesize": font["title_size"],
            "axes.labelsize": font["size"],
            "xtick.labelsize": font["small_size"] + 0.5,
            "ytick.labelsize": font["small_size"] + 0.5,
            "legend.fontsize": font["small_size"] + 0.5,
            "axes.edgecolor": self.config["colors"]["muted"],
            "axes.labelcolor": self.config["colors"]["ink"],
            "text.color": self.config["colors"]["ink"],
            "xtick.color": self.config["colors"]["ink"],
            "ytick.color": self.config["colors"]["ink"],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.unicode_minus": False,
            "text.parse_math": False,  # labels are plain text: "US$ 5 to US$ 10" is not mathtext
            "svg.hashsalt": "critmet",
            "svg.fonttype": "none",
            # Text is measured unhinted, as the PDF draws it (WeasyPrint shapes SVG text with HarfBuzz, without
            # hinting): labels are fitted at the widths they print at; FreeType also loads an unhinted glyph in
            # half the time, and measuring text is most of the time spent drawing the charts.
            "text.hinting": "no_hinting",
            "path.simplify": False,
            "figure.dpi": 100,
            "savefig.bbox": "standard",
            "legend.frameon": False,
        }

    @contextlib.contextmanager
    def context(self):
        """rcParams for this style; every warning (a missing glyph among them) raises. Font lookups see only
        the style's families (`_only_fonts`)."""
        rc = self.rc()
        with plt.rc_context(rc), _only_fonts(rc["font.family"]), warnings.catch_warnings():
            warnings.simplefilter("error")
            yield self


@contextlib.contextmanager
def _only_fonts(families: list[str]):
    """Let matplotlib's font lookups consider only the files of `families`. Each new lookup (a new size or
    weight) scores every installed font, several hundred of them, for about 6 ms; the charts use only the
    style's families and no fallback, so the lookups find the same files among these few. Restored on exit.
    A lookup of any other family fails (ValueError: "Failed to find font"); no label asks for one, as none
    is read as mathtext (text.parse_math is off)."""
    manager = font_manager.fontManager
    everything = manager.ttflist
    manager.ttflist = [entry for entry in everything if entry.name in families]
    try:
        yield
    finally:
        manager.ttflist = everything
