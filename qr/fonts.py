"""The fonts minyi's PDFs embed, registered in one place (posters now, bulletins later).

Chinese is set in Minyi Sans SC, a subset of Noto Sans CJK SC with TrueType
outlines (qr/fonts/, SIL Open Font License; tools/build_cjk_font.py makes it).
reportlab embeds a TrueType font as a subset of the glyphs a document uses, so
a poster prints the same on any printer and in any PDF reader, whatever fonts
that machine has.

The regular face holds every ideograph of the CJK Unified Ideographs block
(all of GBK); the bold face only printable ASCII. The extra face holds the
rarer ideographs Noto draws (extension A, the extension B and later ones it
has, such as 𠀾, compatibility ideographs, radicals, kana), and Minyi Symbols
(a subset of Symbola, qr/fonts/SYMBOLA.txt) emoji and other symbols in
outlines, so these are embedded too. A character none of them has is set in
reportlab's CID font STSong-Light, which the PDF reader supplies: it keeps its
place and its text (search and copy find it), in the reader's face or as a box.
`runs` splits text into such runs; `draw`, `width` and `markup` use it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "MinyiSansSC"
SANS_BOLD = "MinyiSansSC-Bold"
SANS_EXTRA = "MinyiSansSC-Extra"
SYMBOLS = "MinyiSymbols"
# Not embedded: only for characters the embedded faces lack.
FALLBACK = "STSong-Light"
FILES = {SANS: FONT_DIR / "MinyiSansSC-Regular.ttf", SANS_BOLD: FONT_DIR / "MinyiSansSC-Bold.ttf",
         SANS_EXTRA: FONT_DIR / "MinyiSansSC-Extra.ttf", SYMBOLS: FONT_DIR / "MinyiSymbols.ttf"}
# Tried in this order after the face asked for.
CHAIN = (SANS, SANS_EXTRA, SYMBOLS)
# Marks that only choose how the character before them looks (variation selectors,
# the zero-width joiner of emoji sequences): left out where no face draws them,
# since a face without the glyph would print a box.
INVISIBLE = frozenset({0x200D, *range(0xFE00, 0xFE10)})

_lock = threading.Lock()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, with characters beyond U+FFFF written as UTF-16.

    reportlab 4 writes `<1F600>` (an odd number of hex digits, which readers
    reject), so an emoji or an extension-B ideograph printed fine but was lost
    to search, copy and text extraction. The PDF format wants UTF-16BE there:
    a surrogate pair, `<D83DDE00>`.
    """
    text = _original_cmap(fontname, subset)
    head, _, tail = text.partition("beginbfchar\n")
    body, _, rest = tail.partition("\nendbfchar")
    lines = [f"<{i:02X}> <{chr(v).encode('utf-16-be').hex().upper()}>" for i, v in enumerate(subset)]
    return head + "beginbfchar\n" + "\n".join(lines) + "\nendbfchar" + rest


_original_cmap = ttfonts.makeToUnicodeCMap


# Read only when a text needs them: parsing a large face costs a new process about a second.
ON_DEMAND = frozenset({SANS_EXTRA, SYMBOLS})


def register() -> None:
    """Make the fonts known to reportlab (once per process; safe from several threads).

    The extra and symbol faces are registered the first time `runs` meets a
    character only they have.
    """
    with _lock:
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap
        known = set(pdfmetrics.getRegisteredFontNames())
        for name, path in FILES.items():
            if name not in known and name not in ON_DEMAND:
                pdfmetrics.registerFont(TTFont(name, str(path)))
        if FALLBACK not in known:
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))


def _ensure(font: str) -> None:
    if font in ON_DEMAND and font not in _registered:
        with _lock:
            if font not in set(pdfmetrics.getRegisteredFontNames()):
                pdfmetrics.registerFont(TTFont(font, str(FILES[font])))
            _registered.add(font)


_registered: set[str] = set()


def _has(font: str, char: str) -> bool:
    _ensure(font)
    face = pdfmetrics.getFont(font).face
    return ord(char) in face.charToGlyph  # type: ignore[attr-defined]


def runs(text: str, font: str = SANS) -> list[tuple[str, str]]:
    """`text` as (font, piece) runs: `font` where it has the glyph, then the regular
    face, then the fallback."""
    register()
    chain = CHAIN if font == SANS else (font, *CHAIN)
    out: list[tuple[str, str]] = []
    for char in text:
        chosen = next((f for f in chain if _has(f, char)), FALLBACK)
        if ord(char) in INVISIBLE and chosen == FALLBACK:
            continue
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


def markup(text: str, font: str = SANS) -> str:
    """`text` escaped for a reportlab Paragraph, each run in the face that has its glyphs."""
    return "".join(escape(piece) if f == font else f'<font face="{f}">{escape(piece)}</font>'
                   for f, piece in runs(text, font))
