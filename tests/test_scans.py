"""Scan analytics: Telegram deep links and web chat page opens, per point, channel and day."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from store.conversation.engine import Engine
from store.models import Channel, CollectionPoint, PointScan, User
from store.network import points, scans
from tests.chat_driver import Chat
from tests.domain_support import make_report
from tests.web_support import login


def counts(session: Session) -> dict[tuple[int, str], int]:
    session.rollback()
    return {(r.point_id, r.channel.value): r.count for r in session.scalars(sa.select(PointScan))}


def test_it_counts_each_telegram_deep_link_but_not_bad_tokens(
    Session_: sessionmaker[Session], engine: Engine, session, point, point_token  # noqa: N803
):
    Chat(Session_, engine, user_id="1").command("start", point_token)
    Chat(Session_, engine, user_id="2").command("start", point_token)
    Chat(Session_, engine, user_id="3").command("start", point_token[:-2] + "xx")
    Chat(Session_, engine, user_id="4").command("start")
    assert counts(session) == {(point.id, "telegram"): 2}


def test_it_counts_a_web_chat_open_once_per_browser_session(
    client: FlaskClient, app, session: Session, point: CollectionPoint, point_token: str
) -> None:
    assert client.get(f"/c/{point_token}").status_code == 200
    client.get(f"/c/{point_token}")  # a reload is the same visit
    assert counts(session) == {(point.id, "web"): 1}
    app.test_client().get(f"/c/{point_token}")  # a fresh cookie on the same phone: no more
    assert counts(session) == {(point.id, "web"): 1}
    with app.test_client() as other:
        other.environ_base["REMOTE_ADDR"] = "198.51.100.2"  # another phone
        other.get(f"/c/{point_token}")
    assert counts(session) == {(point.id, "web"): 2}


def test_it_keeps_days_apart_and_sums_them(session: Session, point: CollectionPoint) -> None:
    scans.record(session, point.id, Channel.WEB, date(2026, 11, 1))
    scans.record(session, point.id, Channel.WEB, date(2026, 11, 1))
    scans.record(session, point.id, Channel.WEB, date(2026, 11, 2))
    scans.record(session, point.id, Channel.TELEGRAM, date(2026, 11, 2))
    session.commit()
    assert session.scalar(sa.select(sa.func.count(PointScan.id))) == 3
    fig = scans.figures(session)[point.id]
    assert (fig.on(Channel.WEB), fig.on(Channel.TELEGRAM), fig.scans, fig.reports) == (3, 1, 4, 0)
    assert fig.on(Channel.WECHAT) == 0


def test_it_shows_scans_against_reports_on_the_points_page(
    client: FlaskClient, viewer: User, session: Session, point: CollectionPoint
) -> None:
    other = points.create_point(session, "东城街道议事堂")
    for _ in range(5):
        scans.record(session, point.id, Channel.TELEGRAM)
    scans.record(session, point.id, Channel.WEB)
    make_report(session, point)
    session.commit()
    login(client, "victor")
    page = client.get("/points").get_data(as_text=True)
    assert "扫码 6 次（网页 1 · Telegram 5）· 提交信息 1 条" in page
    assert "扫码 0 次（网页 0 · Telegram 0）· 提交信息 0 条" in page and other.name in page
