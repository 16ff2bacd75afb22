"""A marked report's files as they leave the console: the viewer's name and time across them.

Photos (JPEG, PNG, WebP, GIF) get the line tiled diagonally in light grey;
PDFs get it on every page (a reportlab overlay merged by pypdf). Other kinds
(Word files, HEIC photos) cannot carry one here: `stamp` says so with None,
and the download is logged all the same.
"""

from __future__ import annotations

import io
import logging

from qr import fonts

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
PDF = "application/pdf"


def stamp(data: bytes, content_type: str, text: str) -> bytes | None:
    """`data` with `text` across it, or None for a kind that cannot carry it (or a broken file)."""
    try:
        if content_type in IMAGE_FORMATS:
            return image(data, IMAGE_FORMATS[content_type], text)
        if content_type == PDF:
            return pdf(data, text)
    except Exception:  # a file that does not open as its type says: served as is, and logged
        log.warning("could not watermark a %s file", content_type, exc_info=True)
    return None


def image(data: bytes, fmt: str, text: str) -> bytes:
    """The picture with `text` tiled diagonally over it."""
    from PIL import Image, ImageDraw, ImageFont

    with Image.open(io.BytesIO(data)) as source:
        picture = source.convert("RGBA")
    size = max(14, min(picture.size) // 22)
    font = ImageFont.truetype(str(fonts.FILES[fonts.SANS]), size)
    side = int((picture.width ** 2 + picture.height ** 2) ** 0.5)
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_x, step_y = int(draw.textlength(text, font=font)) + size * 3, size * 5
    for y in range(0, side, step_y):
        for x in range(-(y // 2) % step_x - step_x, side, step_x):
            draw.text((x, y), text, font=font, fill=(128, 128, 128, 90))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left, top = (side - picture.width) // 2, (side - picture.height) // 2
    layer = layer.crop((left, top, left + picture.width, top + picture.height))
    out = Image.alpha_composite(picture, layer)
    if fmt in ("JPEG", "GIF"):
        out = out.convert("RGB")
    buf = io.BytesIO()
    out.save(buf, fmt)
    return buf.getvalue()


def pdf(data: bytes, text: str) -> bytes:
    """The PDF with `text` diagonally across every page."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib import colors
    from reportlab.pdfgen.canvas import Canvas

    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    fonts.register()
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        overlay = io.BytesIO()
        canvas = Canvas(overlay, pagesize=(width, height))
        canvas.setFillColor(colors.Color(0.5, 0.5, 0.5, alpha=0.25))
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        for dy in (-height / 3, 0, height / 3):
            fonts.draw(canvas, 0, dy, text, 18, centred=True)
        canvas.save()
        page.merge_page(PdfReader(io.BytesIO(overlay.getvalue())).pages[0])
        writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
