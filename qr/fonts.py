"""The fonts minyi's PDFs embed, registered in one place (posters now, bulletins later).

Chinese is set in Minyi Sans SC, a subset of Noto Sans CJK SC with TrueType
outlines (qr/fonts/, SIL Open Font License; tools/build_cjk_font.py makes it).
reportlab embeds a TrueType font as a subset of the glyphs a document uses, so
a poster prints the same on any printer and in any PDF reader, whatever fonts
that machine has.

The regular face holds every ideograph of the CJK Unified Ideographs block
(all of GBK); the bold face only printable ASCII. A rarer character (an
extension-A ideograph in a place name, say) is set in reportlab's CID font
STSong-Light, which the PDF reader supplies: it still prints, in the reader's
Song face rather than ours. `draw` and `width` split text into such runs.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "MinyiSansSC"
SANS_BOLD = "MinyiSansSC-Bold"
# Not embedded: only for characters the embedded faces lack.
FALLBACK = "STSong-Light"
FILES = {SANS: FONT_DIR / "MinyiSansSC-Regular.ttf", SANS_BOLD: FONT_DIR / "MinyiSansSC-Bold.ttf"}

_lock = threading.Lock()


def register() -> None:
    """Make the fonts known to reportlab (once per process; safe from several threads)."""
    with _lock:
        known = set(pdfmetrics.getRegisteredFontNames())
        for name, path in FILES.items():
            if name not in known:
                pdfmetrics.registerFont(TTFont(name, str(path)))
        if FALLBACK not in known:
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))


def _has(font: str, char: str) -> bool:
    face = pdfmetrics.getFont(font).face
    return ord(char) in face.charToGlyph  # type: ignore[attr-defined]


def runs(text: str, font: str = SANS) -> list[tuple[str, str]]:
    """`text` as (font, piece) runs: `font` where it has the glyph, then the regular
    face, then the fallback."""
    register()
    chain = [font] if font == SANS else [font, SANS]
    out: list[tuple[str, str]] = []
    for char in text:
        chosen = next((f for f in chain if _has(f, char)), FALLBACK)
        if out and out[-1][0] == chosen:
            out[-1] = (chosen, out[-1][1] + char)
        else:
            out.append((chosen, char))
    return out


def width(text: str, size: float, font: str = SANS) -> float:
    """How wide `text` is at `size` points, as `draw` sets it."""
    return sum(pdfmetrics.stringWidth(piece, f, size) for f, piece in runs(text, font))


def draw(canvas: Canvas, x: float, y: float, text: str, size: float, font: str = SANS,
         *, centred: bool = False) -> None:
    """Set `text` with its baseline at `y`, starting at `x` or centred on it."""
    pieces = runs(text, font)
    if centred:
        x -= sum(pdfmetrics.stringWidth(p, f, size) for f, p in pieces) / 2
    # One text object, so a reader's search and copy see one line.
    line = canvas.beginText(x, y)
    for f, piece in pieces:
        line.setFont(f, size)
        line.textOut(piece)
    canvas.drawText(line)
