"""Short addresses on posters (`/p/<code>`): typed by hand, unforgeable, retired with the QR code."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store.models import CollectionPoint, PointScan, User
from store.network import points, tokens
from tests.conftest import SECRET
from tests.test_cli import env as cli_env  # noqa: F401  (the clean CLI environment)
from tests.test_webchat import Visitor
from tests.web_support import login


def short_of(point: CollectionPoint) -> str:
    return points.short_code_for(point, SECRET)


def web_scans(session: Session) -> dict[int, int]:
    session.rollback()
    return {r.point_id: r.count for r in session.scalars(sa.select(PointScan))}


# -- the code ------------------------------------------------------------------


def test_it_makes_short_codes_in_an_alphabet_that_cannot_be_misread() -> None:
    for point_id in (1, 30, 31, 1200, 10**9):
        code = tokens.make_short(SECRET, point_id, 1)
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]+-[2-9A-HJKMNP-Z]{7}", code), code
        assert len(code) <= 15
        parsed = tokens.parse_short(code)
        assert parsed is not None and parsed.point_id == point_id
        assert tokens.short_matches(SECRET, parsed, 1)
        assert not tokens.short_matches(SECRET, parsed, 2)
        assert not tokens.short_matches("another-secret-0123456789", parsed, 1)


def test_it_reads_a_short_code_however_it_was_typed() -> None:
    code = tokens.make_short(SECRET, 1200, 3)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)  # a Chinese input method's letters
    for typed in (code, code.lower(), code.replace("-", ""), f" {code[:3]} {code[3:]} ",
                  full_width, code + "."):
        parsed = tokens.parse_short(typed)
        assert parsed is not None and tokens.short_matches(SECRET, parsed, 3), typed


@pytest.mark.parametrize("typed", [None, "", "3-", "ABCDEFG", "3-ABCDEF", "3-ABCDEFGH0",
                                   "3-O1LI234", "3-ABC DEF!", "x" * 41, "2-ABCDEFG",
                                   "赵钱孙李-ABCDEFG", "ZZZZZZZZZ-ABCDEFG"])
def test_it_rejects_what_cannot_be_a_short_code(typed: str | None) -> None:
    assert tokens.parse_short(typed) is None


def test_it_finds_the_token_behind_a_short_code(session: Session, point: CollectionPoint) -> None:
    code = short_of(point)
    assert points.token_for_short(session, SECRET, code) == points.token_for(point, SECRET)
    assert points.token_for_short(session, SECRET, code.lower()) == points.token_for(point, SECRET)
    last = code[-1]
    forged = code[:-1] + ("A" if last != "A" else "B")
    assert points.token_for_short(session, SECRET, forged) is None
    assert points.token_for_short(session, SECRET, tokens.make_short(SECRET, 999, 1)) is None
    assert points.token_for_short(session, "another-secret-0123456789", code) is None


# -- the address ---------------------------------------------------------------


def test_it_sends_a_typed_short_address_on_to_the_points_web_chat_and_counts_the_scan(
    client: FlaskClient, session: Session, point: CollectionPoint, point_token: str
) -> None:
    resp = client.get(f"/p/{short_of(point)}")

    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/c/{point_token}")
    assert resp.headers["Cache-Control"] == "no-store"
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and point.name in page.get_data(as_text=True)
    assert web_scans(session) == {point.id: 1}


def test_it_takes_the_short_address_in_any_case(
    client: FlaskClient, app, session: Session, point: CollectionPoint, point_token: str
) -> None:
    code = short_of(point)
    for path in (f"/p/{code.lower()}", f"/P/{code}", f"/p/{code.replace('-', '')}"):
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].endswith(f"/c/{point_token}")
    with app.test_client() as phone:
        phone.get(f"/p/{code.lower()}", follow_redirects=True)
    assert web_scans(session) == {point.id: 1}


@pytest.mark.parametrize("tamper", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # one letter of the signature
    lambda c: "4" + c[1:],  # another point's id with this point's signature
    lambda c: c + "Q",
    lambda c: "hello",
    lambda c: "../../admin",
    lambda c: "%00%ff",
    lambda c: "",
])
def test_it_explains_a_wrong_short_address_in_chinese(
    client: FlaskClient, session: Session, point: CollectionPoint, tamper
) -> None:
    resp = client.get(f"/p/{tamper(short_of(point))}")

    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert "网址无效" in page and "不区分大小写" in page
    assert "返回信息收件箱" not in page  # a citizen's page, not the console's
    assert web_scans(session) == {}


def test_it_says_a_rotated_points_old_short_address_was_replaced(
    client: FlaskClient, session: Session, point: CollectionPoint, point_token: str
) -> None:
    old = short_of(point)
    points.rotate(session, point)
    session.commit()
    assert short_of(point) != old

    resp = client.get(f"/p/{old}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/c/{point_token}")
    visitor = Visitor(client, point_token)
    replies = visitor.send(command="start", args=point_token)
    assert "这个二维码已经更换" in visitor.texts(replies)
    assert web_scans(session) == {}
    assert client.get(f"/p/{short_of(point)}").headers["Location"].endswith(
        f"/c/{points.token_for(point, SECRET)}")


def test_it_routes_an_old_short_address_to_the_successor(
    client: FlaskClient, session: Session, point: CollectionPoint
) -> None:
    old = short_of(point)
    new = points.create_point(session, "城关镇新便民服务中心")
    points.set_successor(session, point, new)
    points.rotate(session, point)
    session.commit()

    resp = client.get(f"/p/{old}", follow_redirects=True)

    assert "城关镇新便民服务中心" in resp.get_data(as_text=True)
    assert web_scans(session) == {new.id: 1}
    token = resp.request.path.removeprefix("/c/")
    replies = Visitor(client, token).send(command="start", args=token)
    assert "已为您转到新的采集点「城关镇新便民服务中心」" in "\n".join(m["text"] for m in replies)


def test_it_refuses_a_revoked_points_short_address_like_its_qr_code(
    client: FlaskClient, session: Session, point: CollectionPoint, point_token: str
) -> None:
    code = short_of(point)
    points.revoke(session, point)
    session.commit()

    resp = client.get(f"/p/{code}")
    assert resp.headers["Location"].endswith(f"/c/{point_token}")
    visitor = Visitor(client, point_token)
    assert "这个二维码已经更换" in visitor.texts(visitor.send(command="start", args=point_token))
    assert web_scans(session) == {}


# -- where it is shown -----------------------------------------------------------


def test_it_shows_the_short_address_on_the_points_page(
    client: FlaskClient, viewer: User, point: CollectionPoint
) -> None:
    login(client, "victor")
    page = client.get("/points").get_data(as_text=True)
    assert f"http://minyi.test/p/{short_of(point)}" in page and "短网址" in page


def test_it_prints_the_short_address_from_the_command_line(cli_env, capsys) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"]) == 0
    assert main(["point", "add", "城关镇便民服务中心"]) == 0
    code = tokens.make_short(SECRET, 1, 1)
    assert f"短网址:  https://minyi.example.test/p/{code}" in capsys.readouterr().out
    assert main(["point", "list"]) == 0
    assert f"https://minyi.example.test/p/{code}" in capsys.readouterr().out
    assert main(["point", "rotate", "1"]) == 0
    assert f"https://minyi.example.test/p/{tokens.make_short(SECRET, 1, 2)}" in capsys.readouterr().out
