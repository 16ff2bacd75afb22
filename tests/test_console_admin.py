"""Admin pages, notices, link codes and alert chats, and statistics in the console."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store.models import Channel, Role, StaffAddress, StaffNotice, Unit, User
from store.network import addresses
from store.review import chain as review
from store.review import templates
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.web_support import csrf, login
from tests.wechat_emulator import WeChatEmulator
from tests.wechat_support import wechat_settings


def _post(client: FlaskClient, path: str, **data: str) -> str:
    resp = client.post(path, data={"csrf_token": csrf(client, "/reports"), **data},
                       follow_redirects=True)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_it_keeps_admin_pages_to_admins(
    client: FlaskClient, clerk: User, viewer: User, session: Session
) -> None:
    for who in ("carol", "victor"):
        login(client, who)
        for path in ("/admin/users", "/admin/units", "/admin/templates", "/admin/chain"):
            assert client.get(path).status_code == 403, (who, path)
        resp = client.post("/admin/chain", data={"chain": "two",
                                                 "csrf_token": csrf(client, "/reports")})
        assert resp.status_code == 403
    session.rollback()
    assert review.chain_name(session) == "three"


def test_it_adds_units_and_staff_and_changes_a_role(
    client: FlaskClient, admin: User, session: Session, network: Network
) -> None:
    login(client, "alice")
    page = _post(client, "/admin/units", name="县交通局<i>", kind="department",
                 parent_id=str(network.county.id))
    assert "县交通局&lt;i&gt;" in page and "<i>" not in page
    page = _post(client, "/admin/users", username="liu", display_name="刘科长",
                 password="a-long-password", role="department", unit_id=str(network.roads.id))
    assert "已添加工作人员" in page
    session.rollback()
    liu = session.scalar(sa.select(User).where(User.username == "liu"))
    assert liu is not None and liu.role is Role.DEPARTMENT and liu.unit_id == network.roads.id
    assert session.scalar(sa.select(Unit).where(Unit.name == "县交通局<i>")) is not None
    _post(client, f"/admin/users/{liu.id}", role="viewer", unit_id="all")
    session.rollback()
    session.expire_all()
    liu = session.get(User, liu.id)
    assert liu.role is Role.VIEWER and liu.unit_id is None and not liu.active  # type: ignore[union-attr]
    client.post("/logout", data={"csrf_token": csrf(client, "/reports")})
    assert login(client, "liu").status_code == 401  # a switched-off account cannot log in


def test_it_switches_the_review_chain(client: FlaskClient, admin: User, session: Session) -> None:
    login(client, "alice")
    page = _post(client, "/admin/chain", chain="two")
    assert "两级" in page
    session.rollback()
    assert [lv.label() for lv in review.chain(session)] == ["初审", "审定"]


def test_it_manages_decline_templates(client: FlaskClient, admin: User, session: Session) -> None:
    login(client, "alice")
    page = _post(client, "/admin/templates", text="反映问题属于个人诉求，建议通过信访渠道反映。")
    assert "个人诉求" in page
    tid = re.search(r'name="id" value="(\d+)"', page)
    assert tid
    page = _post(client, "/admin/templates", id=tid.group(1), text="属于个人诉求。", active="1")
    assert "属于个人诉求。" in page
    page = _post(client, "/admin/templates", id=tid.group(1), text="属于个人诉求。")  # switched off
    # Still listed, unticked, so it can be switched on again ...
    assert re.search(r'value="属于个人诉求。"[^>]*>.*?name="active" value="1" >', page, re.S)
    session.rollback()
    assert [t.text for t in templates.active(session)] == []
    # ... and it is.
    _post(client, "/admin/templates", id=tid.group(1), text="属于个人诉求。", active="1")
    session.rollback()
    assert [t.text for t in templates.active(session)] == ["属于个人诉求。"]


def test_it_gives_every_staff_member_a_link_code(
    client: FlaskClient, admin: User, clerk: User, session: Session
) -> None:
    login(client, "carol")
    page = _post(client, "/account/link")
    code = re.search(r"/link ([A-Za-z0-9]{8})", page)
    # Telegram is the test app's one channel that takes staff links (the web chat does not).
    assert code and "在Telegram中向我们发送" in page and "网页" not in page.split("提醒渠道")[1]
    session.rollback()
    session.expire_all()
    assert session.get(User, clerk.id).link_code == code.group(1)  # type: ignore[union-attr]
    login(client, "alice")
    page = _post(client, f"/admin/users/{clerk.id}/link")
    assert re.search(r"/link [A-Za-z0-9]{8}", page) and "Carol 的绑定码" in page


@pytest.fixture
def wechat_client(settings: Settings, Session_: sessionmaker[Session]) -> Iterator[FlaskClient]:  # noqa: N803
    """The console with WeChat switched on as well (its API never called here)."""
    from web import create_app

    with WeChatEmulator() as emu:
        app = create_app(wechat_settings(settings, emu), session_factory=Session_)
        app.config["TESTING"] = True
        yield app.test_client()
        app.extensions["minyi"].channels.close()


def _chat_row(page: str, channel: str) -> str:
    found = re.search(rf'<tr id="chat-{channel}">(.*?)</tr>', page, re.S)
    assert found, channel
    return " ".join(found.group(1).split())


def test_it_shows_and_unlinks_each_channel_on_the_account_page(
    wechat_client: FlaskClient, clerk: User, admin: User, session: Session
) -> None:
    addresses.link(session, clerk, Channel.TELEGRAM, "4242")
    addresses.link(session, clerk, Channel.WECHAT, "oCarol")
    addresses.mark_gone(session, Channel.WECHAT, "oCarol")
    session.commit()
    login(wechat_client, "carol")

    page = wechat_client.get("/account").get_data(as_text=True)
    assert "已绑定" in _chat_row(page, "telegram")
    assert "微信" in _chat_row(page, "wechat") and "已失联" in _chat_row(page, "wechat")
    page = _post(wechat_client, "/account/link")
    assert "在Telegram、微信中向我们发送" in page

    page = _post(wechat_client, "/account/unlink", channel="wechat")
    assert "已解除微信绑定" in page and "未绑定" in _chat_row(page, "wechat")
    assert "已绑定" in _chat_row(page, "telegram")
    session.rollback()
    assert [(a.user_id, a.channel) for a in session.scalars(sa.select(StaffAddress))] == [
        (clerk.id, Channel.TELEGRAM)]
    # Unlinking what is not linked, or a channel that does not exist, changes nothing.
    assert "本来就没有绑定" in _post(wechat_client, "/account/unlink", channel="wechat")
    assert "请选择要解除绑定的渠道" in _post(wechat_client, "/account/unlink", channel="fax")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(StaffAddress.id))) == 1

    login(wechat_client, "alice")
    page = wechat_client.get("/admin/users").get_data(as_text=True)
    row = re.search(rf'<tr id="user-{clerk.id}".*?</tr>', page, re.S)
    assert row and "Telegram" in row.group(0) and "微信" not in row.group(0)
    row = re.search(rf'<tr id="user-{admin.id}".*?</tr>', page, re.S)
    assert row and "未绑定" in row.group(0)


def test_it_badges_unread_notices_and_marks_them_read(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session, urgent=True, title="水库<b>渗漏</b>")
    login(client, "carol")
    page = client.get("/reports").get_data(as_text=True)
    assert re.search(r'id="notices"[^>]*>通知 <b class="count">1</b>', page)
    notices = client.get("/notices").get_data(as_text=True)
    assert report.tracking_no in notices and "&lt;b&gt;渗漏" in notices
    _post(client, "/notices/read")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffNotice)
                          .where(StaffNotice.read_at.is_(None))) == 0
    assert 'class="count"' not in client.get("/reports").get_data(as_text=True)


def test_it_keeps_departments_out_of_office_pages(
    client: FlaskClient, session: Session, network: Network
) -> None:
    make_report(session)
    staff(session, "rita", Role.DEPARTMENT, network.roads)
    login(client, "rita")
    assert "暂无" in client.get("/reports").get_data(as_text=True)
    assert client.get("/stats").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert client.get("/transfers").status_code == 200


def test_it_shows_statistics_to_office_and_viewers(
    client: FlaskClient, admin: User, viewer: User, session: Session, point: object
) -> None:
    from tests.review_support import adopt

    report = make_report(session, point)  # type: ignore[arg-type]
    make_report(session, point, title="第二条")  # type: ignore[arg-type]
    adopt(session, report, admin)
    session.commit()
    login(client, "victor")
    page = client.get("/stats").get_data(as_text=True)  # this month, by unit
    assert "收到 2 条信息，采用 1 条" in page and "按采集点" in page
    page = client.get("/stats?by=point").get_data(as_text=True)
    assert re.search(r"城关镇便民服务中心</th>\s*<td><a href=\"[^\"]*point=\d+\">2</a></td><td><a [^>]*>1</a>",
                     page)
