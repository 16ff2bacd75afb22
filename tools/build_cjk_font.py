"""Build the CJK fonts that minyi embeds in its PDFs (qr/fonts/*.ttf) from Noto Sans CJK SC.

reportlab embeds (and subsets) TrueType fonts, but cannot use the CFF outlines
of the Noto Sans CJK files Debian ships. This script takes the Simplified
Chinese face out of Debian's fonts-noto-cjk collection, keeps the characters
minyi prints, turns its cubic outlines into quadratic (TrueType) ones and
renames it, as the SIL Open Font License asks of a modified version.

The result is committed, so nobody needs this script or fontTools to run
minyi; it is here so the files can be made again (another Noto release, more
characters). Run it where `apt-get install fonts-noto-cjk` and
`pip install fonttools` have been done:

    python tools/build_cjk_font.py [--source /usr/share/fonts/opentype/noto]

Characters kept in the regular face: printable ASCII, Latin-1, general
punctuation, CJK symbols and punctuation, full-width forms, and every
ideograph of the CJK Unified Ideographs block (U+4E00–U+9FFF: all of GBK,
so any name or address written in GB2312/GBK). The bold face keeps printable
ASCII only: it sets the short web address under a poster's QR code.

The extra face (MinyiSansSC-Extra) holds the rest of the ideographs Noto Sans
CJK SC draws: extension A, the extension B and later ones it has (𠀾 among
them), compatibility ideographs, radicals, kana and bopomofo, so a rare
character in a name or a journal item is embedded, not left to the reader.
The symbols face (MinyiSymbols) is a subset of Symbola (Debian's fonts-symbola,
"free for any use"): emoji, arrows, dingbats and other symbols that reporters
type, in monochrome outlines a PDF can embed. Pass `--symbola` to find it.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

OUT = Path(__file__).resolve().parent.parent / "qr" / "fonts"
FAMILY = "Minyi Sans SC"
SC_INDEX = 2  # Noto Sans CJK SC in Debian's NotoSansCJK-*.ttc
# Font units (of 1000 per em) a quadratic curve may stray from the cubic one.
MAX_ERR = 1.0


def ranges(*spans: tuple[int, int]) -> set[int]:
    return {c for lo, hi in spans for c in range(lo, hi + 1)}


ASCII = ranges((0x20, 0x7E))
REGULAR = ASCII | ranges(
    (0xA0, 0xFF),  # Latin-1: · × ÷ ° and friends
    (0x2000, 0x206F),  # general punctuation: — … ‘ ’ “ ”
    (0x2100, 0x218F),  # letter-like symbols and number forms: № Ⅰ Ⅱ
    (0x2460, 0x24FF),  # enclosed numbers: ① ②
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。《》「」【】
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xFF00, 0xFFEF),  # full-width forms: ，：（）１２
)


EXTRA = ranges(
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3040, 0x31FF),  # kana, bopomofo, CJK strokes
    (0x3200, 0x33FF),  # enclosed CJK letters, CJK compatibility
    (0x3400, 0x4DBF),  # CJK extension A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE10, 0xFE4F),  # vertical and compatibility forms
    (0x20000, 0x3134F),  # extensions B to G (as far as Noto draws them)
) - REGULAR
SYMBOLS = ranges(
    (0x2190, 0x2BFF),  # arrows, mathematical operators, technical, shapes, dingbats
    (0x1F000, 0x1FAFF),  # mahjong and cards, enclosed alphanumerics, emoji, pictographs
) - REGULAR
SYMBOLA = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines by quadratic glyf ones, in place."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyphs[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    font["maxp"] = maxp
    font["post"].formatType = 3.0  # no glyph names: nothing reads them
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font.sfntVersion = "\x00\x01\x00\x00"
    font["head"].glyphDataFormat = 0


def rename(font: TTFont, style: str) -> None:
    """A modified version goes by its own name (OFL condition 3); credit stays."""
    ps = f"{FAMILY.replace(' ', '')}-{style}"
    table = font["name"]
    for rec in list(table.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17, 21, 22):
            table.removeNames(nameID=rec.nameID)
    for name_id, text in ((1, FAMILY), (2, style), (3, f"{ps};minyi subset of Noto Sans CJK SC"),
                          (4, f"{FAMILY} {style}".replace(" Regular", "")), (6, ps)):
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    table.setName("A subset of Noto Sans CJK SC (SIL Open Font License 1.1), converted to "
                  "TrueType outlines for embedding in minyi's PDF documents.", 10, 3, 1, 0x409)


def build(source: Path, weight: str, keep: set[int]) -> bytes:
    font = TTCollection(str(source / f"NotoSansCJK-{weight}.ttc")).fonts[SC_INDEX]
    return _cut(font, keep, weight)


def build_symbols(symbola: Path) -> bytes:
    """Symbola's symbols and emoji, renamed (it has TrueType outlines already)."""
    font = TTFont(str(symbola))
    keep = SYMBOLS & set(font.getBestCmap())
    options = _options()
    cut = subset.Subsetter(options)
    cut.populate(unicodes=sorted(keep))
    cut.subset(font)
    table = font["name"]
    for rec in list(table.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17, 21, 22):
            table.removeNames(nameID=rec.nameID)
    for name_id, text in ((1, "Minyi Symbols"), (3, "MinyiSymbols;minyi subset of Symbola"),
                          (4, "Minyi Symbols"), (6, "MinyiSymbols")):
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def _options() -> subset.Options:
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.desubroutinize = True
    options.name_IDs = ["*"]
    options.drop_tables += ["vhea", "vmtx", "VORG", "GSUB", "GPOS", "GDEF", "BASE", "DSIG"]
    return options


def _cut(font: TTFont, keep: set[int], style: str) -> bytes:
    cut = subset.Subsetter(_options())
    cut.populate(unicodes=sorted(keep))
    cut.subset(font)
    to_truetype(font)
    rename(font, style)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/usr/share/fonts/opentype/noto"))
    parser.add_argument("--symbola", type=Path, default=SYMBOLA)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    regular = TTCollection(str(args.source / "NotoSansCJK-Regular.ttc")).fonts[SC_INDEX]
    made = {
        "MinyiSansSC-Regular.ttf": build(args.source, "Regular", REGULAR),
        "MinyiSansSC-Bold.ttf": build(args.source, "Bold", ASCII),
        "MinyiSansSC-Extra.ttf": _cut(regular, EXTRA, "Extra"),
        "MinyiSymbols.ttf": build_symbols(args.symbola),
    }
    for name, data in made.items():
        path = OUT / name
        path.write_bytes(data)
        print(f"{path}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
