"""A4 poster PDFs: one page per point, the point's name, both QR links; CLI and console."""

from __future__ import annotations

import io

import pypdf
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from qr.posters import Poster, render
from store import points, posters, tokens, units
from store.models import CollectionPoint, User
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
                          "https://t.me/minyi_bot?start=p1_1_abc", "人民路1号"),
                   Poster("张委员工作室", "http://minyi.test/c/p2_1_def")])
    texts = pages(data)
    assert len(texts) == 2
    assert "城关镇人民路社区" in texts[0] and "http://minyi.test/c/p1_1_abc" in texts[0]
    assert "Telegram" in texts[0] and "Telegram" not in texts[1]
    assert "张委员工作室" in texts[1] and "扫" in texts[1]


def test_it_prints_the_short_address_to_type_under_the_codes() -> None:
    short = "https://minyi.example.gov.cn/p/3-K7M2QX9"
    for telegram in ("https://t.me/minyi_bot?start=p1_1_abc", None):
        [text] = pages(render([Poster("城关镇人民路社区", "https://minyi.example.gov.cn/c/p1_1_abc",
                                      telegram, short=short)]))
        # Browsers add the scheme; the page shows only what must be typed.
        assert "无法扫码？在浏览器中输入：\nminyi.example.gov.cn/p/3-K7M2QX9\n" in text
        assert "https://minyi.example.gov.cn/p/" not in text
        assert text.index("手机浏览器扫码反映") < text.index("minyi.example.gov.cn/p/3-K7M2QX9")


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
