"""Proof sheets: every page of each language's PDF as a PNG, and one contact sheet per language.

    python workflow/tools/proof.py [--report results/report] [--out results/proof] [--dpi 80]

Writes results/proof/<lang>/page-NN.png and results/proof/contact_<lang>.png (pages in reading order, six to a
row, each labelled with its number), so that anyone can look at the whole deck at once. Uses pdftoppm
(poppler-utils) and Pillow.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

COLUMNS = 6
THUMB_WIDTH = 420


def render_pages(pdf: Path, out_dir: Path, dpi: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")], check=True)
    pages = sorted(out_dir.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    for p in pages:  # page-1.png / page-01.png depending on the count: one name for all
        p.rename(out_dir / f"page-{int(p.stem.split('-')[1]):02d}.png")
    return sorted(out_dir.glob("page-*.png"))


def contact_sheet(pages: list[Path], out: Path) -> None:
    thumbs = []
    for p in pages:
        with Image.open(p) as im:
            im = im.convert("RGB")
            h = round(im.height * THUMB_WIDTH / im.width)
            thumbs.append(im.resize((THUMB_WIDTH, h), Image.Resampling.LANCZOS))
    th = max(t.height for t in thumbs)
    gap, label = 12, 18
    rows = (len(thumbs) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * (THUMB_WIDTH + gap) + gap, rows * (th + label + gap) + gap), "#9aa3ad")
    draw = ImageDraw.Draw(sheet)
    for i, t in enumerate(thumbs):
        x = gap + (i % COLUMNS) * (THUMB_WIDTH + gap)
        y = gap + (i // COLUMNS) * (th + label + gap)
        draw.text((x, y), f"p.{i + 1}", fill="black")
        sheet.paste(t, (x, y + label))
    sheet.save(out, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", default="results/report")
    parser.add_argument("--out", default="results/proof")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--langs", nargs="+", default=["ja", "en"])
    args = parser.parse_args()
    out = Path(args.out)
    for lang in args.langs:
        pdf = Path(args.report) / f"executive_summary_{lang}.pdf"
        if not pdf.exists():
            print(f"error: {pdf} is missing; run `make report` first", file=sys.stderr)
            return 1
        pages = render_pages(pdf, out / lang, args.dpi)
        contact_sheet(pages, out / f"contact_{lang}.png")
        print(f"{lang}: {len(pages)} pages -> {out / lang}/, contact sheet {out / f'contact_{lang}.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
