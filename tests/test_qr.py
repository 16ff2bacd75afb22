"""QR images: valid PNG/SVG that decode back to the link."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import qr

LINK = "http://minyi.test/c/p1_1_abcdefghijklmnopqrstuv"


def test_it_makes_a_png_with_a_quiet_zone() -> None:
    data = qr.png(LINK, scale=4)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(data)).convert("L")
    w, h = img.size
    assert w == h
    # The quiet zone (4 modules of 4 px) is white all round.
    for x in range(16):
        assert img.getpixel((x, x)) == 255
        assert img.getpixel((w - 1 - x, h - 1 - x)) == 255


def test_it_scales_the_png() -> None:
    small = Image.open(io.BytesIO(qr.png(LINK, scale=2))).size[0]
    big = Image.open(io.BytesIO(qr.png(LINK, scale=8))).size[0]
    assert big == small * 4


def test_it_makes_an_svg() -> None:
    data = qr.svg(LINK)
    assert data.startswith(b"<?xml")
    assert b"<svg" in data and b"</svg>" in data


def test_it_refuses_empty_data() -> None:
    with pytest.raises(ValueError):
        qr.png("")
