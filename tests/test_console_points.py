"""Collection points in the console: links, tokens, QR images, adding a point."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from store.models import Channel, CollectionPoint, PointKind, Unit, UnitKind, User
from store.network import points, scans
from tests.conftest import SECRET
from tests.domain_support import make_report
from tests.web_support import csrf, login


def test_it_shows_each_points_token_and_links(
    client: FlaskClient, viewer: User, point: CollectionPoint
) -> None:
    login(client, "victor")
    page = client.get("/points").get_data(as_text=True)
    token = points.token_for(point, SECRET)
    assert point.name in page and token in page
    assert f"http://minyi.test/c/{token}" in page
    assert f"https://t.me/minyi_test_bot?start={token}" in page
    assert "添加采集点" not in page  # viewers cannot add


def test_it_serves_valid_png_and_svg_qr_codes(
    client: FlaskClient, clerk: User, point: CollectionPoint
) -> None:
    login(client, "carol")
    for kind in ("web", "telegram"):
        png = client.get(f"/points/{point.id}/qr/{kind}.png")
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
        img = Image.open(io.BytesIO(png.data))
        assert img.size[0] == img.size[1] > 100
        svg = client.get(f"/points/{point.id}/qr/{kind}.svg")
        assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    download = client.get(f"/points/{point.id}/qr/web.png?download=1")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "城关镇便民服务中心-网页反映二维码.png" in unquote(disposition)
    assert client.get(f"/points/{point.id}/qr/other.png").status_code == 404
    assert client.get("/points/9999/qr/web.png").status_code == 404


def test_it_keeps_qr_codes_from_anonymous_visitors(client: FlaskClient,
                                                   point: CollectionPoint) -> None:
    assert client.get(f"/points/{point.id}/qr/web.png").status_code == 302


def test_it_lets_an_admin_add_a_point(client: FlaskClient, admin: User, session: Session) -> None:
    login(client, "alice")
    resp = client.post("/points", data={"name": "东街社区委员工作室", "address": "东街8号",
                                        "csrf_token": csrf(client, "/points")},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "已添加采集点「东街社区委员工作室」" in page
    added = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.name == "东街社区委员工作室"))
    assert added is not None and added.address == "东街8号"
    assert points.token_for(added, SECRET) in page


def test_it_refuses_an_empty_point_name(client: FlaskClient, admin: User, session: Session) -> None:
    login(client, "alice")
    resp = client.post("/points", data={"name": "  ", "csrf_token": csrf(client, "/points")},
                       follow_redirects=True)
    assert "采集点名称不能为空" in resp.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(CollectionPoint)) == 0


def test_it_forbids_clerks_from_adding_points(client: FlaskClient, clerk: User,
                                             session: Session) -> None:
    login(client, "carol")
    resp = client.post("/points", data={"name": "无权添加", "csrf_token": csrf(client, "/points")})
    assert resp.status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(CollectionPoint)) == 0


# -- a network of 1,201 points: pages, search, filters ------------------------------

TOWNS = ["第一镇", "第二镇", "第三镇", "第四镇", "第五镇", "第六镇", "第七镇", "第八镇", "第九镇", "第十镇",
         "第十一镇", "第十二镇", "第十三镇", "第十四镇", "第十五镇", "第十六镇", "第十七镇", "第十八镇",
         "第十九镇", "第二十镇", "第二十一镇", "第二十二镇", "第二十三镇", "第二十四镇"]


@dataclass
class Big:
    county: CollectionPoint
    found: CollectionPoint  # 城关镇人民路社区 under 第十二镇
    town_unit: Unit
    county_unit: Unit


@pytest.fixture
def big(session: Session) -> Big:
    """A county point, 24 townships below it and 49 communities below each: 1,201 points."""
    county_unit = Unit(name="城关县政协", kind=UnitKind.CPPCC)
    session.add(county_unit)
    session.flush()
    town_unit = Unit(name="第三镇联络组", kind=UnitKind.CPPCC, parent_id=county_unit.id)
    session.add(town_unit)
    county = CollectionPoint(name="城关县", kind=PointKind.COUNTY, code="C0000")
    session.add(county)
    session.flush()
    towns = [CollectionPoint(name=name, kind=PointKind.TOWNSHIP, code=f"T{i:02d}", parent_id=county.id)
             for i, name in enumerate(TOWNS, start=1)]
    session.add_all(towns)
    session.flush()
    towns[2].unit_id = county_unit.id
    n = 0
    for town in towns:
        for j in range(1, 50):
            n += 1
            name = "城关镇人民路社区" if (town is towns[11] and j == 7) else f"{town.name}幸福社区{j}"
            session.add(CollectionPoint(
                name=name, kind=PointKind.COMMUNITY, code=f"CG-{1000 + n}", parent_id=town.id,
                address=f"{town.name}{j}号", unit_id=town_unit.id if town is towns[2] else None))
    session.commit()
    found = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.name == "城关镇人民路社区"))
    assert found is not None and session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 1201
    return Big(county, found, town_unit, county_unit)


def shown(page: str) -> list[str]:
    """The names of the points a page lists, in order."""
    return re.findall(r'<section class="card point[^"]*" id="point-\d+">\s*<div class="point-info">\s*'
                      r'<h2>(?:<span class="muted">[^<]*</span>)?([^<]+?) <span', page)


def test_it_pages_a_thousand_points_fifty_at_a_time_in_tree_order(
    client: FlaskClient, viewer: User, big: Big
) -> None:
    login(client, "victor")
    first = client.get("/points").get_data(as_text=True)

    names = shown(first)
    assert len(names) == 50
    assert names[:3] == ["城关县", "第一镇", "第一镇幸福社区1"]
    assert "共 1201 个采集点，本页第 1–50 个" in first and "第 1 / 25 页" in first
    assert 'href="/points?page=2"' in first and 'href="/points?page=25"' in first
    assert 'href="/points?page=3"' in first and 'href="/points?page=7"' not in first

    second = client.get("/points?page=2").get_data(as_text=True)
    assert len(shown(second)) == 50 and not set(shown(second)) & set(names)
    # A page that starts inside a subtree still says where each point hangs.
    assert "上级：城关县 › 第一镇" in second
    last = client.get("/points?page=999").get_data(as_text=True)
    assert len(shown(last)) == 1 and "第 25 / 25 页" in last


def test_it_finds_a_point_by_code_or_a_fragment_of_its_chinese_name(
    client: FlaskClient, viewer: User, big: Big, session: Session
) -> None:
    for _ in range(3):
        scans.record(session, big.found.id, Channel.TELEGRAM)
    scans.record(session, big.found.id, Channel.WEB)
    scans.record(session, big.county.id, Channel.WEB)
    make_report(session, big.found)
    make_report(session, big.found, title="人民路积水")
    session.commit()
    login(client, "victor")

    assert big.found.code is not None
    for query in (big.found.code, big.found.code.lower(), "人民路", "人民路社"):
        page = client.get("/points", query_string={"q": query}).get_data(as_text=True)
        assert shown(page) == ["城关镇人民路社区"], query
        assert "找到 1 个采集点" in page
        assert "上级：城关县 › 第十二镇" in page
        assert "扫码 4 次（网页 1 · Telegram 3）· 提交信息 2 条" in page
        assert "翻页" not in page
    county = client.get("/points?q=C0000").get_data(as_text=True)
    assert shown(county) == ["城关县"] and "扫码 1 次（网页 1 · Telegram 0）· 提交信息 0 条" in county
    by_id = client.get(f"/points?q={big.found.id}").get_data(as_text=True)
    assert "城关镇人民路社区" in shown(by_id)
    none = client.get("/points?q=不存在的社区").get_data(as_text=True)
    assert shown(none) == [] and "没有符合条件的采集点" in none
    assert shown(client.get("/points?q=%25").get_data(as_text=True)) == []  # LIKE wildcards are text


def test_it_filters_by_kind_and_unit_and_keeps_the_filters_in_page_links(
    client: FlaskClient, viewer: User, big: Big
) -> None:
    login(client, "victor")
    towns = client.get("/points?kind=township").get_data(as_text=True)
    assert shown(towns) == TOWNS and "找到 24 个采集点" in towns
    assert 'value="township" selected' in towns

    county_unit = client.get(f"/points?unit={big.county_unit.id}").get_data(as_text=True)
    assert len(shown(county_unit)) == 50 and shown(county_unit)[0] == "第三镇"  # the unit and below
    town_unit = client.get(f"/points?unit={big.town_unit.id}").get_data(as_text=True)
    assert "找到 49 个采集点" in town_unit

    communities = client.get("/points?kind=community&q=幸福").get_data(as_text=True)
    assert "找到 1175 个采集点" in communities and len(shown(communities)) == 50
    assert re.search(r'href="/points\?page=2&amp;q=%E5%B9%B8%E7%A6%8F&amp;kind=community"', communities)
    assert client.get("/points?kind=emperor&unit=x").status_code == 200  # bad filters are ignored


def test_it_returns_to_the_same_search_after_an_action(
    client: FlaskClient, admin: User, big: Big, session: Session
) -> None:
    login(client, "alice")
    code = big.found.code
    page = client.get(f"/points?q={code}").get_data(as_text=True)
    action = f"/points/{big.found.id}/rotate?q={code}"
    assert f'action="{action}"' in page

    resp = client.post(action, data={"csrf_token": csrf(client, "/points"), "confirm": "1"})

    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/points?q={code}#point-{big.found.id}"
    session.rollback()  # end the fixture's read, see the request's write
    assert big.found.token_version == 2


def test_it_opens_the_page_of_a_point_just_added(client: FlaskClient, admin: User, big: Big) -> None:
    login(client, "alice")
    resp = client.post("/points", data={"name": "第二十四镇新社区", "parent": "T24",
                                        "unit": str(big.county_unit.id),
                                        "csrf_token": csrf(client, "/points")})
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/points?page=25#point-")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "第二十四镇新社区" in shown(page)
