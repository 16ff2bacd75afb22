"""Printable A4 posters for collection points: name, instructions, both QR codes, a short address.

Text is set in the CJK font that `qr.fonts` registers and embeds (a subset
of Noto Sans CJK SC), so a poster prints alike on every printer and reader.
QR codes are drawn as vector squares so they print sharp at any size.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import groupby

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from qr import fonts

# The short address is read letter by letter; a bold sans face reads best.
SHORT_FONT = fonts.SANS_BOLD
TITLE = "政协社情民意信息直通车"
INSTRUCTIONS = (
    "身边有问题、有意见建议？扫一扫下方二维码，",
    "按提示填写，几分钟即可反映给政协。",
    "提交后会收到受理编号，办理结果也会在这里告诉您。",
    "可以匿名反映；请勿填写涉密信息。",
)


@dataclass(frozen=True)
class Poster:
    """What one page shows: a code per channel that is switched on, the web chat's first.

    `codes` are (caption, what the code encodes), from the channel registry;
    without them the web link is the one code. `short` is the address to type
    when scanning fails (`https://` is left off the page: browsers add it);
    without one the full web link is offered instead.
    """

    name: str
    web: str
    codes: tuple[tuple[str, str], ...] = ()
    address: str | None = None
    short: str | None = None


def _qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """A QR code with its quiet zone, `size` wide, lower-left corner at (x, y)."""
    code = segno.make_qr(data, error="m", boost_error=False)
    rows = list(code.matrix_iter(border=4))
    module = size / len(rows)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    # One filled path, a rectangle per run of dark modules in a row: a third of the
    # rectangles of one per module, each written to the PDF as four numbers.
    path = canvas.beginPath()
    for r, row in enumerate(rows):
        top = y + size - (r + 1) * module
        start = 0
        for dark, run in groupby(row):
            length = len(list(run))
            if dark:
                # A hair of overlap so printers leave no seams between modules.
                path.rect(x + start * module, top, length * module + 0.05, module + 0.05)
            start += length
    canvas.drawPath(path, stroke=0, fill=1)


def _centered(canvas: Canvas, text: str, y: float, size: float) -> None:
    width, _ = A4
    # Long names shrink to fit the page width.
    while size > 10 and fonts.width(text, size) > width - 30 * mm:
        size -= 1
    fonts.draw(canvas, width / 2, y, text, size, centred=True)


def _fitting(text: str, font: str, largest: int, smallest: int, room: float) -> int | None:
    """The largest size from `largest` down to `smallest` at which `text` fits `room`."""
    for size in range(largest, smallest - 1, -1):
        if fonts.width(text, size, font) <= room:
            return size
    return None


def _short_address(canvas: Canvas, short: str, column: float, y: float) -> None:
    """The address to type, large, under the web QR code (across the page if too long)."""
    width, _ = A4
    text = short.removeprefix("https://")
    # Room symmetric about the column, with the page's margins kept.
    room = 2 * min(column, width - column) - 24 * mm
    size = _fitting(text, SHORT_FONT, 24, 16, room)
    if size is None:
        column = width / 2
        size = _fitting(text, SHORT_FONT, 24, 9, width - 24 * mm) or 9
    fonts.draw(canvas, column, y, "无法扫码？在浏览器中输入：", 12, centred=True)
    fonts.draw(canvas, column, y - 12 * mm, text, size, SHORT_FONT, centred=True)


def _page(canvas: Canvas, poster: Poster) -> None:
    width, height = A4
    canvas.setFillColorRGB(0.72, 0.11, 0.11)
    canvas.rect(0, height - 40 * mm, width, 40 * mm, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    _centered(canvas, TITLE, height - 25 * mm, 30)
    canvas.setFillColorRGB(0, 0, 0)
    _centered(canvas, poster.name, height - 62 * mm, 28)
    if poster.address:
        canvas.setFillColorRGB(0.35, 0.35, 0.35)
        _centered(canvas, poster.address, height - 72 * mm, 13)
        canvas.setFillColorRGB(0, 0, 0)
    y = height - 90 * mm
    for line in INSTRUCTIONS:
        _centered(canvas, line, y, 15)
        y -= 9 * mm
    codes = list(poster.codes) or [("手机浏览器扫码反映", poster.web)]
    # Side by side across the page: 70 mm each for two, smaller for more.
    size = min(70 * mm, (width - 20 * mm) / len(codes) - 10 * mm)
    gap = (width - len(codes) * size) / (len(codes) + 1)
    top = y - 8 * mm
    for i, (caption, link) in enumerate(codes):
        x = gap + i * (size + gap)
        _qr(canvas, link, x, top - size, size)
        fonts.draw(canvas, x + size / 2, top - size - 8 * mm, caption, 14, centred=True)
    if poster.short:
        _short_address(canvas, poster.short, gap + size / 2, top - size - 18 * mm)
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        fonts.draw(canvas, width / 2, 22 * mm, "完整链接：", 9, centred=True)
        fonts.draw(canvas, width / 2, 18 * mm, poster.web, 8, centred=True)
    else:
        fonts.draw(canvas, width / 2, 32 * mm, "无法扫码？在浏览器中输入：", 12, centred=True)
        fonts.draw(canvas, width / 2, 25 * mm, poster.web, 11, centred=True)
    canvas.setFillColorRGB(0.4, 0.4, 0.4)
    fonts.draw(canvas, width / 2, 12 * mm, "本二维码为该采集点专用，如有更换以新张贴的为准。", 10,
               centred=True)


def render(posters: Iterable[Poster], progress: Callable[[int], None] | None = None) -> bytes:
    """One A4 page per poster, as a PDF; `progress(n)` after each page."""
    fonts.register()
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=fonts.SANS)
    canvas.setTitle("采集点海报")
    canvas.setAuthor("民意直通车")
    count = 0
    for poster in posters:
        _page(canvas, poster)
        canvas.showPage()
        count += 1
        if progress:
            progress(count)
    if count == 0:
        raise ValueError("no posters to print / 没有可打印的采集点")
    canvas.save()
    return buf.getvalue()
