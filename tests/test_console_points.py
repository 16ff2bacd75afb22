"""Collection points in the console: links, tokens, QR images, adding a point."""

from __future__ import annotations

import io
from urllib.parse import unquote

import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from store import points
from store.models import CollectionPoint, User
from tests.conftest import SECRET
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
