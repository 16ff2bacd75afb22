"""Members and special informants: binding codes, `/bind`, attribution to their unit, `/mystats`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.conversation.engine import Engine
from store.models import AdoptionLevel, BindingCode, Channel, Report, Reporter, ReporterKind, utcnow
from store.network import members
from store.review import instructions
from tests.chat_driver import Chat
from tests.conftest import Network
from tests.review_support import adopt
from tests.web_support import csrf, login


def chat_for(Session_: sessionmaker[Session], engine: Engine, user_id: str = "2001",  # noqa: N803
             channel: Channel = Channel.TELEGRAM) -> Chat:
    return Chat(Session_, engine, user_id=user_id, channel=channel)


def issue(session: Session, network: Network, **kw: object) -> str:
    params: dict = {"name": "王委员", "role": "member", "unit_id": network.township.id,
                    "created_by_id": None, **kw}
    code = members.issue_code(session, **params)
    session.commit()
    return code.code


def reporter_of(session: Session, user_id: str) -> Reporter:
    session.rollback()
    return session.scalar(sa.select(Reporter).where(Reporter.external_id == user_id))


def test_it_binds_a_member_and_files_their_reports_under_their_unit(Session_, engine, session,
                                                                    network):
    code = issue(session, network)
    chat = chat_for(Session_, engine)
    chat.command("bind", code.lower())  # typed in lower case still works
    assert "绑定成功：王委员（政协委员）" in chat.last.text
    member = reporter_of(session, "2001")
    assert member.kind is ReporterKind.MEMBER
    assert (member.member_name, member.member_role, member.unit_id) == (
        "王委员", "member", network.township.id)

    chat.command("new")  # no collection point
    chat.fill_report(photo=False)
    chat.press("确认提交")
    session.rollback()
    [report] = session.scalars(sa.select(Report))
    assert report.point_id is None and report.unit_id == network.township.id
    assert report.reporter_id == member.id


def test_it_keeps_the_points_unit_when_a_member_reports_at_a_point(Session_, engine, session,
                                                                   network, point, point_token):
    point.unit_id = network.county.id
    session.commit()
    chat = chat_for(Session_, engine)
    chat.command("bind", issue(session, network))
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    session.rollback()
    assert session.scalar(sa.select(Report.unit_id)) == network.county.id


def test_it_binds_an_informant_through_the_web_chat(Session_, engine, session, network):
    chat = chat_for(Session_, engine, user_id="web-abc", channel=Channel.WEB)
    chat.command("bind", issue(session, network, name="李信息员", role="informant"))
    assert "李信息员（特邀信息员）" in chat.last.text
    assert reporter_of(session, "web-abc").member_role == "informant"


def test_it_refuses_a_code_used_twice(Session_, engine, session, network):
    code = issue(session, network)
    chat_for(Session_, engine, "2001").command("bind", code)
    other = chat_for(Session_, engine, "2002")
    other.command("bind", code)
    assert "已经使用过" in other.last.text
    assert reporter_of(session, "2002").kind is ReporterKind.CITIZEN
    row = session.scalar(sa.select(BindingCode))
    assert row.reporter_id == reporter_of(session, "2001").id


def test_it_refuses_an_expired_code(Session_, engine, session, network):
    code = issue(session, network, now=utcnow() - timedelta(days=8))
    chat = chat_for(Session_, engine)
    chat.command("bind", code)
    assert "已过期" in chat.last.text
    assert reporter_of(session, "2001").kind is ReporterKind.CITIZEN
    assert session.scalar(sa.select(BindingCode.used_at)) is None


@pytest.mark.parametrize(("typed", "expected"), [("", "请在 /bind 后面加上"),
                                                 ("NOPE1234", "绑定码不正确")])
def test_it_explains_a_missing_or_wrong_code(Session_, engine, session, network, typed, expected):
    issue(session, network)
    chat = chat_for(Session_, engine)
    chat.command("bind", typed)
    assert expected in chat.last.text
    assert reporter_of(session, "2001").kind is ReporterKind.CITIZEN


def test_it_keeps_a_draft_when_binding_midway(Session_, engine, session, network):
    chat = chat_for(Session_, engine)
    chat.command("new")
    chat.fill_report(until="title")
    chat.command("bind", issue(session, network))
    assert "绑定成功" in chat.log[-2].text and "标题" in chat.last.text


def test_it_refuses_a_bad_name_or_role_when_issuing(session, network):
    with pytest.raises(ValueError, match="name"):
        members.issue_code(session, name="  ", role="member", unit_id=None, created_by_id=None)
    with pytest.raises(ValueError, match="role"):
        members.issue_code(session, name="王", role="boss", unit_id=None, created_by_id=None)


def test_it_shows_a_member_their_own_figures(Session_, engine, session, network, admin):
    chat = chat_for(Session_, engine)
    chat.command("bind", issue(session, network))
    for _ in range(3):
        chat.command("new")
        chat.fill_report(photo=False)
        chat.press("确认提交")
    session.rollback()
    first, second, _third = session.scalars(sa.select(Report).order_by(Report.id))
    adopt(session, first, admin)
    adopt(session, second, admin, AdoptionLevel.PROVINCE)
    instructions.record(session, second, admin, leader_name="张三", leader_title="省政协主席",
                        level=AdoptionLevel.PROVINCE, text="请相关部门研究办理。",
                        instructed_on=date.today())
    session.commit()
    # Someone else's report does not count.
    other = chat_for(Session_, engine, "2999")
    other.command("new")
    other.fill_report(photo=False)
    other.press("确认提交")

    chat.command("mystats")
    text = chat.last.text
    assert "王委员" in text
    assert "已报送 3 条" in text and "被采用 2 条" in text
    assert "采用 1 条" in text.split("被采用 2 条")[1]  # upward
    assert "获领导批示 1 次" in text
    assert members.figures(session, reporter_of(session, "2001").id) == members.Figures(3, 2, 1, 1)


def test_it_shows_a_citizen_figures_and_how_to_bind(Session_, engine):
    chat = chat_for(Session_, engine)
    chat.command("mystats")
    assert "已报送 0 条" in chat.last.text and "/bind" in chat.last.text


# -- the console ----------------------------------------------------------------

def test_it_lets_a_clerk_issue_a_code_that_a_member_then_redeems(client, clerk, session, network,
                                                                  Session_, engine):
    login(client, "carol")
    resp = client.post("/members/codes", data={
        "csrf_token": csrf(client, "/members"), "name": "赵委员", "role": "member",
        "unit_id": str(network.township.id), "days": "3"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    session.rollback()
    code = session.scalar(sa.select(BindingCode))
    assert f"已为「赵委员」生成绑定码 {code.code}，3 天内有效" in page
    assert (code.name, code.role, code.unit_id, code.created_by_id) == (
        "赵委员", "member", network.township.id, clerk.id)
    assert timedelta(days=2, hours=23) < code.expires_at - utcnow() <= timedelta(days=3)

    chat_for(Session_, engine).command("bind", code.code)
    page = client.get("/members").get_data(as_text=True)
    assert "已使用" in page and "已绑定（1）" in page and "城关镇政协联络组" in page


@pytest.mark.parametrize(("form", "message"), [
    ({"name": " ", "role": "member", "days": "7"}, "请填写姓名"),
    ({"name": "赵", "role": "boss", "days": "7"}, "请选择身份"),
    ({"name": "赵", "role": "member", "days": "365"}, "请选择有效期"),
])
def test_it_refuses_a_bad_code_request(client, clerk, session, form, message):
    login(client, "carol")
    resp = client.post("/members/codes", data={"csrf_token": csrf(client, "/members"), **form},
                       follow_redirects=True)
    assert message in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(BindingCode)) == 0


def test_it_keeps_viewers_from_issuing_codes(client, viewer):
    login(client, "victor")
    assert client.get("/members").status_code == 403
