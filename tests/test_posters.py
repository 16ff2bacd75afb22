"""A4 poster PDFs: one page per point, the point's name, both QR links; CLI and console."""

from __future__ import annotations

import dataclasses
import html
import io
import re

import pypdf
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli import main
from minyi.settings import Settings
from qr import fonts, loopback
from qr.posters import Poster, render
from store.models import CollectionPoint, User
from store.network import points, tokens, units
from store.outputs import posters
from tests.conftest import SECRET
from tests.test_cli import env as cli_env  # noqa: F401  (the clean CLI environment)
from tests.web_support import login


def pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    for page in reader.pages:  # A4 portrait, in points
        assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842
    return [page.extract_text() for page in reader.pages]


def test_it_prints_one_page_per_point_with_its_name_and_link() -> None:
    data = render([Poster("城关镇人民路社区", "http://minyi.test/c/p1_1_abc",
                          (("手机浏览器扫码反映", "http://minyi.test/c/p1_1_abc"),
                           ("Telegram 扫码反映", "https://t.me/minyi_bot?start=p1_1_abc")),
                          "人民路1号"),
                   Poster("张委员工作室", "http://minyi.test/c/p2_1_def")])
    texts = pages(data)
    assert len(texts) == 2
    assert "城关镇人民路社区" in texts[0] and "http://minyi.test/c/p1_1_abc" in texts[0]
    assert "Telegram" in texts[0] and "Telegram" not in texts[1]
    assert "张委员工作室" in texts[1] and "扫" in texts[1]


def test_it_prints_the_short_address_to_type_under_the_codes() -> None:
    short = "https://minyi.example.gov.cn/p/3-K7M2QX9"
    web = "https://minyi.example.gov.cn/c/p1_1_abc"
    for others in ((("Telegram 扫码反映", "https://t.me/minyi_bot?start=p1_1_abc"),
                    ("微信扫码反映", "http://weixin.qq.com/q/02abc")), ()):
        codes = (("手机浏览器扫码反映", web), *others) if others else ()
        [text] = pages(render([Poster("城关镇人民路社区", web, codes, short=short)]))
        # Browsers add the scheme; the page shows only what must be typed.
        assert "无法扫码？在浏览器中输入：\nminyi.example.gov.cn/p/3-K7M2QX9\n" in text
        assert "https://minyi.example.gov.cn/p/" not in text
        assert text.index("手机浏览器扫码反映") < text.index("minyi.example.gov.cn/p/3-K7M2QX9")
        # Every channel switched on has its code on the page, three side by side.
        assert ("微信扫码反映" in text and "Telegram 扫码反映" in text) == bool(others)


def test_it_prints_a_units_posters_from_the_command_line(cli_env, tmp_path, capsys) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"]) == 0
    for name in ("城关镇便民服务中心", "东城街道民生议事堂", "西城社区"):
        assert main(["point", "add", name]) == 0
    capsys.readouterr()
    out = tmp_path / "all.pdf"
    assert main(["posters", "--all", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "3/3" in captured.err and "3 posters" in captured.out
    texts = pages(out.read_bytes())
    assert [("城关镇便民服务中心" in t, "西城社区" in t) for t in texts] == [
        (True, False), (False, False), (False, True)]
    for point_id, text in enumerate(texts, start=1):
        assert f"minyi.example.test/p/{tokens.make_short(SECRET, point_id, 1)}" in text
    assert main(["posters", "--unit", "9", "-o", str(tmp_path / "u.pdf")]) == 1
    assert "#9" in capsys.readouterr().err


def test_it_selects_a_unit_and_the_units_below_it(session: Session) -> None:
    county = units.create(session, "城关县政协", "cppcc", None)
    town = units.create(session, "城关镇", "cppcc", county.id)
    other = units.create(session, "别的县", "cppcc", None)
    a = points.create_point(session, "甲")
    b = points.create_point(session, "乙")
    c = points.create_point(session, "丙")
    d = points.create_point(session, "丁")
    a.unit_id, b.unit_id, c.unit_id, d.unit_id = county.id, town.id, other.id, county.id
    points.revoke(session, d)
    assert [p.name for p in posters.selection(session, unit_id=county.id)] == ["甲", "乙"]
    assert len(posters.selection(session)) == 3


def test_it_serves_posters_from_the_console(
    client: FlaskClient, clerk: User, session: Session, point: CollectionPoint
) -> None:
    points.create_point(session, "东城街道民生议事堂")
    session.commit()
    login(client, "carol")
    page = client.get("/points").get_data(as_text=True)
    assert "打印全部海报" in page and f"/points/posters.pdf?point={point.id}" in page
    one = client.get(f"/points/posters.pdf?point={point.id}")
    assert one.status_code == 200 and one.mimetype == "application/pdf"
    [text] = pages(one.data)
    assert point.name in text and points.token_for(point, SECRET) in text
    assert f"minyi.test/p/{points.short_code_for(point, SECRET)}" in text
    assert len(pages(client.get("/points/posters.pdf").data)) == 2
    assert client.get("/points/posters.pdf?point=999").status_code == 404


def test_it_prints_a_units_posters_from_the_console(
    client: FlaskClient, viewer: User, session: Session
) -> None:
    county = units.create(session, "城关县政协", "cppcc", None)
    points.create_point(session, "甲社区", unit_id=county.id)
    points.create_point(session, "无单位的点")
    session.commit()
    login(client, "victor")
    assert "按单位打印海报" in client.get("/points").get_data(as_text=True)
    [text] = pages(client.get(f"/points/posters.pdf?unit={county.id}").data)
    assert "甲社区" in text


def _fonts(data: bytes) -> dict[str, bool]:
    """Every font the pages use: its PDF name -> whether its program is embedded."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    found: dict[str, bool] = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            desc = font.get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            found[str(font["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2",
                                                                    "/FontFile3"))
    return found


def test_it_embeds_a_subset_of_its_cjk_font_so_posters_print_alike_everywhere() -> None:
    data = render([Poster("城关镇人民路社区（第一网格）", "https://minyi.example.gov.cn/c/p1_1_abc",
                          (("手机浏览器扫码反映", "https://minyi.example.gov.cn/c/p1_1_abc"),
                           ("Telegram 扫码反映", "https://t.me/minyi_bot?start=p1_1_abc")),
                          "人民路1号",
                          short="https://minyi.example.gov.cn/p/3-K7M2QX9")])
    used = _fonts(data)
    # Every font is a subset (a six-letter tag) of our TrueType face, embedded (FontFile2).
    assert all(re.match(r"^/[A-Z]{6}\+MinyiSansSC-", name) for name in used), used
    assert all(used.values()), used
    assert {re.sub(r"^/[A-Z]{6}\+", "", name) for name in used} == {
        "MinyiSansSC-Regular", "MinyiSansSC-Bold"}
    reader = pypdf.PdfReader(io.BytesIO(data))
    regular = next(ref.get_object() for ref in reader.pages[0]["/Resources"]["/Font"].values()
                   if "MinyiSansSC-Regular" in str(ref.get_object()["/BaseFont"]))
    program = regular["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
    # Only the glyphs the page uses: a few kilobytes of the 6.8 MB face.
    assert len(program) < 200_000
    assert "城关镇人民路社区" in pages(data)[0]


def test_it_embeds_a_rare_character_and_leaves_only_unknown_ones_to_the_reader() -> None:
    # 㘵 (CJK extension A) and 𠀾 (extension B) are in the embedded extra face;
    # ꀀ (a Yi syllable) is in none of ours: it still prints, in the reader's Song face.
    name = "㘵𠀾村ꀀ便民服务点"
    poster = [Poster(name, "https://minyi.example.gov.cn/c/p1_1_abc")]
    [text] = pages(render(poster))
    assert name in text
    used = _fonts(render(poster))
    assert used.pop("/STSong-Light") is False
    assert {name.split("+")[-1] for name in used} >= {"MinyiSansSC-Extra", "MinyiSansSC-Regular"}
    assert all(used.values())
    assert fonts.runs("㘵村 3-K7") == [(fonts.SANS_EXTRA, "㘵"), (fonts.SANS, "村 3-K7")]
    assert fonts.runs("好😀") == [(fonts.SANS, "好"), (fonts.SYMBOLS, "😀")]


@pytest.mark.parametrize(("url", "host"), [
    ("http://127.0.0.1:8000", "127.0.0.1"), ("http://127.8.9.1", "127.8.9.1"),
    ("http://[::1]:8000/", "::1"), ("http://localhost:8000", "localhost"),
    ("https://minyi.localhost", "minyi.localhost"), ("http://0.0.0.0:8000", "0.0.0.0"),
    ("http://192.168.1.20:8000", None), ("https://minyi.example.gov.cn", None),
    ("http://10.0.0.5", None), ("not a url", None),
])
def test_it_knows_which_links_a_phone_cannot_open(url: str, host: str | None) -> None:
    assert loopback.loopback_host(url) == host
    warning = loopback.warning(url, 8000)
    assert (warning is None) == (host is None)
    if warning:
        assert "HOST=0.0.0.0" in warning and "PUBLIC_URL=http://<本机局域网IP>:8000" in warning


def test_it_warns_before_the_console_prints_codes_for_a_loopback_address(
    settings: Settings, Session_: sessionmaker[Session], clerk: User, session: Session,
    point: CollectionPoint,
) -> None:
    from web import create_app

    app = create_app(dataclasses.replace(settings, public_url="http://127.0.0.1:8000"),
                     session_factory=Session_)
    client = app.test_client()
    login(client, "carol")
    listing = client.get("/points").get_data(as_text=True)
    assert "指向本机地址（127.0.0.1）" in listing

    for path, what in ((f"/points/posters.pdf?point={point.id}", "海报"),
                       (f"/points/{point.id}/qr/web.png?download=1", "二维码")):
        first = client.get(path)
        page = first.get_data(as_text=True)
        assert first.status_code == 409 and first.mimetype == "text/html"
        assert f"{what}上的链接是" in page and "HOST=0.0.0.0" in page
        assert "PUBLIC_URL=http://&lt;本机局域网IP&gt;:8000" in page
        go_on = html.unescape(re.search(r'href="([^"]+confirm=1[^"]*)"', page)[1])  # type: ignore[index]
        confirmed = client.get(go_on)
        assert confirmed.status_code == 200
        assert confirmed.mimetype in ("application/pdf", "image/png")
    # The page's own pictures of the codes are not printing: no question asked.
    assert client.get(f"/points/{point.id}/qr/web.png").mimetype == "image/png"


def test_it_prints_without_a_question_when_the_links_reach_phones(
    client: FlaskClient, clerk: User, point: CollectionPoint,
) -> None:
    login(client, "carol")
    assert "指向本机地址" not in client.get("/points").get_data(as_text=True)
    assert client.get(f"/points/posters.pdf?point={point.id}").mimetype == "application/pdf"


def test_the_command_line_warns_on_stderr_about_loopback_links(
    cli_env, tmp_path, capsys, monkeypatch,  # noqa: F811
) -> None:
    assert main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"]) == 0
    assert main(["point", "add", "城关镇便民服务中心"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:8000")
    out = tmp_path / "local.pdf"
    assert main(["posters", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "警告" in err and "127.0.0.1" in err and "HOST=0.0.0.0" in err
    assert "127.0.0.1:8000/p/" in pages(out.read_bytes())[0]
    monkeypatch.setenv("PUBLIC_URL", "https://minyi.example.test")
    assert main(["posters", "-o", str(out)]) == 0
    assert "警告" not in capsys.readouterr().err


def test_a_posters_code_covers_exactly_the_dark_modules_of_its_data() -> None:
    """The code is drawn as one rectangle per run of dark modules: rasterised back to the
    module grid from the page's drawing operators, it is the QR code segno makes of the link."""
    import segno
    from reportlab.pdfgen.canvas import Canvas

    from qr import posters

    data = "https://minyi.example.org/c/p1_17_AbCdEf0123456789"
    canvas = Canvas(io.BytesIO())
    posters._qr(canvas, data, 100.0, 200.0, 150.0)  # noqa: SLF001
    matrix = [list(row) for row in segno.make_qr(data, error="m", boost_error=False)
              .matrix_iter(border=4)]
    n = len(matrix)
    module = 150.0 / n
    drawn = [[False] * n for _ in range(n)]
    ops = re.findall(r"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re",
                     "\n".join(canvas._code))  # noqa: SLF001
    assert ops, "no rectangles drawn"
    for x, y, w, h in ((float(a), float(b), float(c), float(d)) for a, b, c, d in ops[1:]):
        row = round((200.0 + 150.0 - y - h + 0.05) / module)  # ops[0]: the white quiet zone
        first, count = round((x - 100.0) / module), round((w - 0.05) / module)
        assert count >= 1
        for col in range(first, first + count):
            assert not drawn[row][col], "a module drawn twice"
            drawn[row][col] = True
    assert drawn == [[bool(v) for v in row] for row in matrix]
