"""QR images for collection points: PNG for printing at a desk, SVG for posters."""

from __future__ import annotations

import io

import segno

# M recovers from ~15 % damage: enough for a poster with a scuffed corner,
# while keeping the modules big enough for a cheap phone camera.
ERROR = "m"
QUIET_ZONE = 4


def _code(data: str) -> segno.QRCode:
    if not data:
        raise ValueError("a QR code needs some data")
    return segno.make_qr(data, error=ERROR, boost_error=False)


def png(data: str, scale: int = 8) -> bytes:
    """A PNG of `data` with a quiet zone, `scale` pixels per module."""
    buf = io.BytesIO()
    _code(data).save(buf, kind="png", scale=scale, border=QUIET_ZONE)
    return buf.getvalue()


def svg(data: str, scale: int = 8) -> bytes:
    """An SVG of `data` with a quiet zone (UTF-8, with XML declaration)."""
    buf = io.BytesIO()
    _code(data).save(buf, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=True,
                     encoding="utf-8")
    return buf.getvalue()
