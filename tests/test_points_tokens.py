"""Rotating and revoking a point's token; old codes tell the scanner and route to a successor."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store.db import make_engine, make_sessionmaker
from store.models import CollectionPoint, Conversation, User
from store.network import points
from tests.conftest import SECRET
from tests.test_cli import env as cli_env  # noqa: F401  (the clean CLI environment)
from tests.web_support import csrf, login


def bound_point(session: Session, user_id: str = "1001") -> int | None:
    session.rollback()
    return session.scalar(sa.select(Conversation.point_id).where(Conversation.external_id == user_id))


def test_it_retires_old_codes_when_a_point_is_rotated(chat, session, point, point_token):
    points.rotate(session, point)
    session.commit()
    assert point.token_version == 2
    assert points.resolve(session, SECRET, point_token).reason == "retired"
    assert points.resolve(session, SECRET, points.token_for(point, SECRET)).ok
    replies = chat.command("start", point_token)
    assert "已经更换" in replies[0].text
    assert bound_point(session) is None


def test_it_refuses_a_revoked_code_until_the_point_is_rotated(chat, session, point, point_token):
    points.revoke(session, point)
    session.commit()
    assert points.resolve(session, SECRET, point_token).reason == "retired"
    assert "已经更换" in chat.command("start", point_token)[0].text
    points.rotate(session, point)
    session.commit()
    assert point.revoked_at is None
    assert points.resolve(session, SECRET, points.token_for(point, SECRET)).ok


def test_it_routes_an_old_code_to_the_successor_and_says_so(chat, session, point, point_token):
    new = points.create_point(session, "城关镇新便民服务中心")
    points.set_successor(session, point, new)
    points.revoke(session, point)
    session.commit()
    replies = chat.command("start", point_token)
    text = "\n".join(r.text for r in replies)
    assert "已为您转到新的采集点「城关镇新便民服务中心」" in text
    assert bound_point(session) == new.id


def test_it_skips_inactive_successors_and_stops_on_cycles(session, point, point_token):
    a = points.create_point(session, "甲")
    b = points.create_point(session, "乙")
    a.active = False
    points.set_successor(session, point, a)
    points.set_successor(session, a, b)
    points.rotate(session, point)
    found = points.resolve(session, SECRET, point_token)
    assert found.ok and found.point is b and found.replaced is point
    points.set_successor(session, a, point)  # a cycle with no live point
    assert points.resolve(session, SECRET, point_token).reason == "retired"
    with pytest.raises(points.PointError):
        points.set_successor(session, point, point)


def test_it_lets_admins_rotate_revoke_and_set_a_successor_in_the_console(
    client: FlaskClient, admin: User, session: Session, point: CollectionPoint, point_token: str
) -> None:
    new = points.create_point(session, "新址", )
    new.code = "CG-002"
    session.commit()
    login(client, "alice")
    token = csrf(client, "/points")
    page = client.get("/points").get_data(as_text=True)
    assert "更换二维码" in page and "作废二维码" in page
    resp = client.post(f"/points/{point.id}/successor", data={"successor": "CG-002",
                                                               "csrf_token": token})
    assert resp.status_code == 302
    client.post(f"/points/{point.id}/revoke", data={"csrf_token": token, "confirm": "1"})
    page = client.get("/points").get_data(as_text=True)
    assert "二维码已作废" in page and "旧二维码转到：新址" in page
    client.post(f"/points/{point.id}/rotate", data={"csrf_token": token, "confirm": "1"})
    session.expire_all()
    assert point.token_version == 2 and point.revoked_at is None and point.successor_id == new.id
    page = client.get("/points").get_data(as_text=True)
    assert points.token_for(point, SECRET) in page and point_token not in page
    resp = client.post(f"/points/{point.id}/successor", data={"successor": "nope",
                                                               "csrf_token": token},
                       follow_redirects=True)
    assert "找不到采集点「nope」" in resp.get_data(as_text=True)


def test_it_keeps_viewers_and_clerks_from_rotating(
    client: FlaskClient, clerk: User, session: Session, point: CollectionPoint
) -> None:
    login(client, "carol")
    token = csrf(client, "/points")
    assert "更换二维码" not in client.get("/points").get_data(as_text=True)
    assert client.post(f"/points/{point.id}/rotate", data={"csrf_token": token}).status_code == 403
    session.expire_all()
    assert point.token_version == 1


def test_it_rotates_and_revokes_from_the_command_line(cli_env: str, capsys) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"]) == 0
    assert main(["point", "add", "城关镇便民服务中心"]) == 0
    old = points.tokens.make(SECRET, 1, 1)
    capsys.readouterr()
    assert main(["point", "rotate", "1"]) == 0
    out = capsys.readouterr().out
    assert points.tokens.make(SECRET, 1, 2) in out and old not in out
    assert main(["point", "revoke", "1"]) == 0
    assert "作废" in capsys.readouterr().out
    engine = make_engine(cli_env)
    try:
        with make_sessionmaker(engine)() as s:
            point = s.get(CollectionPoint, 1)
            assert point is not None and point.token_version == 2 and point.revoked_at is not None
    finally:
        engine.dispose()
    assert main(["point", "rotate", "999"]) == 1
    assert "999" in capsys.readouterr().err


@pytest.mark.parametrize("act", ["rotate", "revoke"])
def test_it_asks_before_replacing_or_withdrawing_a_code(
    client: FlaskClient, admin: User, session: Session, point: CollectionPoint, act: str
) -> None:
    login(client, "alice")
    token = csrf(client, "/points")

    first = client.post(f"/points/{point.id}/{act}?q=城关", data={"csrf_token": token})

    page = first.get_data(as_text=True)
    assert first.status_code == 200 and 'id="confirm-page"' in page
    assert "已张贴" in page and f'action="/points/{point.id}/{act}?q=' in page
    session.expire_all()
    assert point.token_version == 1 and point.revoked_at is None  # nothing happened yet

    second = client.post(f"/points/{point.id}/{act}?q=城关", data={"csrf_token": token, "confirm": "1"})

    assert second.status_code == 302
    session.rollback()  # end the test's read, see the request's write
    assert (point.token_version == 2) if act == "rotate" else (point.revoked_at is not None)


def test_no_page_relies_on_inline_script_the_csp_blocks() -> None:
    """The console's CSP allows scripts from our static files only: an inline
    onclick/onsubmit (a confirm() before a QR code is replaced, say) never runs."""
    folder = Path(__file__).parent.parent / "web" / "templates"
    import re

    inline = [(p.name, m.group(0)) for p in sorted(folder.glob("*.html"))
              for m in re.finditer(r"\son[a-z]+\s*=", p.read_text(encoding="utf-8"))]
    assert inline == []
