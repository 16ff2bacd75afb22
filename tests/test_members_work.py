"""委员履职: the roster, commissions (约稿) answered from the chat, report sources, scope."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi import scheduler
from store.conversation.engine import Engine
from store.models import (
    AccessLog,
    BindingCode,
    Channel,
    CommissionMember,
    Member,
    OutboxMessage,
    Report,
    Reporter,
    ReportSource,
    Role,
    Topic,
    utcnow,
)
from store.network import commissions, members, roster, topics
from tests.chat_driver import Chat
from tests.conftest import Network, staff
from tests.test_races import together
from tests.web_support import csrf, login, post_page

PHONE = "13700009999"


def _clerk(client: FlaskClient, session: Session, network: Network, unit: str = "county",
           name: str = "clerk-a") -> None:
    user = staff(session, name, Role.CLERK, getattr(network, unit))
    login(client, user.username)


def _add(client: FlaskClient, unit_id: int, name: str = "王委员", contact: str = PHONE,
         **extra: str) -> FlaskClient:
    return client.post("/roster", data={
        "csrf_token": csrf(client, "/roster"), "name": name, "role": "member", "sector": "经济界",
        "unit_id": str(unit_id), "contact": contact, "yearly_target": "2", **extra})


def _bind(client: FlaskClient, session: Session, member: Member, chat: Chat) -> None:
    post_page(client, f"/roster/{member.id}/code", days="7")
    session.rollback()
    code = session.scalar(sa.select(BindingCode.code).where(BindingCode.member_id == member.id))
    chat.command("bind", code)
    assert "绑定成功：王委员（政协委员）" in chat.last.text


def test_it_carries_a_commission_from_the_console_to_the_chat_and_back_to_the_progress(
        client: FlaskClient, session: Session, Session_: sessionmaker[Session],  # noqa: N803
        engine: Engine, network: Network) -> None:
    _clerk(client, session, network)
    resp = _add(client, network.township.id)
    assert resp.status_code == 302
    session.rollback()
    wang = session.scalar(sa.select(Member).where(Member.name == "王委员"))
    assert wang is not None and wang.unit_id == network.township.id and wang.contact == PHONE
    assert _add(client, network.township.id, name="李委员", contact="13600001111").status_code == 302
    session.rollback()
    li = session.scalar(sa.select(Member).where(Member.name == "李委员"))
    assert li is not None
    chat = Chat(Session_, engine, user_id="3001")
    _bind(client, session, wang, chat)
    session.rollback()
    assert session.scalar(sa.select(Reporter.member_id).where(Reporter.external_id == "3001")) == wang.id

    deadline = (utcnow() + timedelta(days=5)).astimezone(topics.LOCAL).strftime("%Y-%m-%dT%H:%M")
    page = post_page(client, "/commissions", title="农村养老服务情况", description="请结合走访写一篇。",
                     deadline=deadline, member_id=[str(wang.id), str(li.id)])
    assert "已发出约稿「农村养老服务情况」，共约 2 人，已通过聊天发送 1 条通知" in page
    assert "未绑定聊天，未能发送" in page  # 李委员 has no chat yet
    session.rollback()
    topic = session.scalar(sa.select(Topic).where(Topic.commissioned.is_(True)))
    assert topic is not None and topic.unit_id == network.county.id
    [message] = session.scalars(sa.select(OutboxMessage)).all()
    assert message.chat_id == "3001" and "约稿：农村养老服务情况" in message.text
    assert message.buttons == [[{"label": "撰写约稿信息", "data": f"~topic:{topic.id}"}]]
    # Not a public call: nobody else is told, and /topics lists it only to those it asked.
    stranger = Chat(Session_, engine, user_id="3002")
    stranger.command("topics")
    assert "农村养老服务情况" not in stranger.last.text
    stranger.send(callback=f"~topic:{topic.id}")
    assert "没有找到这个选题" in stranger.last.text

    chat.send(callback=message.buttons[0][0]["data"])
    chat.fill_report(photo=False)
    chat.press("确认提交")
    session.rollback()
    [report] = session.scalars(sa.select(Report)).all()
    assert (report.topic_id, report.member_id, report.source) == (
        topic.id, wang.id, ReportSource.COMMISSIONED)
    assert report.unit_id == network.township.id

    detail = client.get(f"/commissions/{topic.id}").get_data(as_text=True)
    assert "已交 1 / 受约 2" in detail and report.tracking_no in detail
    listing = client.get("/roster").get_data(as_text=True)
    row = listing.split("王委员", 1)[1].split("</tr>", 1)[0]
    assert '<td data-label="已报送">1</td>' in row and '<td data-label="约稿">1/1</td>' in row
    assert PHONE not in listing  # the contact is never on the list
    assert roster.progress(session, wang, utcnow().astimezone(roster.LOCAL).year).filed == 1
    # Answered: no longer offered in their /topics.
    chat.command("topics")
    assert "农村养老服务情况" not in chat.last.text


def test_it_reminds_the_overdue_once_and_not_those_who_answered(
        session: Session, Session_: sessionmaker[Session], engine: Engine,  # noqa: N803
        network: Network, clerk) -> None:  # noqa: ANN001
    clerk.unit_id = network.county.id
    people = [roster.add(session, roster.entry(name=n, role="member", unit_id=network.county.id))
              for n in ("甲委员", "乙委员")]
    chats = []
    for i, person in enumerate(people):
        reporter = Reporter(channel=Channel.TELEGRAM, external_id=f"40{i}", chat_id=f"40{i}",
                            member_id=person.id, unit_id=person.unit_id)
        session.add(reporter)
        chats.append(reporter)
    now = utcnow()
    topic, queued = commissions.commission(session, clerk, title="河道治理", description="写一篇",
                                           deadline=now + timedelta(hours=1),
                                           member_ids=[p.id for p in people], now=now)
    session.commit()
    assert queued == 2
    # 甲 answers (late answers are welcome too); 乙 does not.
    chat = Chat(Session_, engine, user_id="400")
    chat.send(callback=f"~topic:{topic.id}")
    chat.fill_report(photo=False)
    chat.press("确认提交")
    later = now + timedelta(days=1)
    assert scheduler.remind_commissions(Session_, now=now) == 0  # not due yet
    assert scheduler.remind_commissions(Session_, now=later) == 1
    assert scheduler.remind_commissions(Session_, now=later + timedelta(hours=1)) == 0
    session.rollback()
    reminders = session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.text.contains("已于"))).all()
    assert [m.chat_id for m in reminders] == ["401"]
    assert "约稿“河道治理”" in reminders[0].text
    rows = {r.member_id: r.reminded_at for r in session.scalars(sa.select(CommissionMember))}
    assert rows[people[0].id] is None and rows[people[1].id] is not None


def test_it_keeps_another_units_roster_and_commissions_out_of_sight(
        client: FlaskClient, session: Session, network: Network) -> None:
    theirs = roster.add(session, roster.entry(name="东山委员", role="member",
                                              unit_id=network.other_county.id, contact=PHONE))
    owner = staff(session, "east-clerk", Role.CLERK, network.other_county)
    topic, _ = commissions.commission(session, owner, title="东山约稿", description="写",
                                      deadline=utcnow() + timedelta(days=3), member_ids=[theirs.id])
    session.commit()
    _clerk(client, session, network)
    assert client.get(f"/roster/{theirs.id}").status_code == 404
    assert client.get(f"/roster/{theirs.id}/edit").status_code == 404
    assert client.post(f"/roster/{theirs.id}/contact",
                       data={"csrf_token": csrf(client, "/roster")}).status_code == 404
    assert client.get(f"/commissions/{topic.id}").status_code == 404
    assert "东山委员" not in client.get("/roster").get_data(as_text=True)
    assert "东山约稿" not in client.get("/commissions").get_data(as_text=True)
    # Nor can they be commissioned from here.
    page = client.post("/commissions", data={
        "csrf_token": csrf(client, "/commissions/new"), "title": "偷约", "description": "x",
        "deadline": "2099-01-01T09:00", "member_id": str(theirs.id)})
    assert page.status_code == 422 and "请从名册中选择约稿对象" in page.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Topic)) == 1
    # A liaison has no roster pages at all.
    viewer = FlaskClient(client.application)
    login(viewer, staff(session, "liaison", Role.UNIT_LIAISON, network.county).username)
    assert viewer.get("/roster").status_code == 403


def test_it_puts_a_member_in_two_units_on_the_roster_once(
        client: FlaskClient, session: Session, network: Network) -> None:
    _clerk(client, session, network)
    assert _add(client, network.township.id).status_code == 302
    resp = _add(client, network.county.id, name=" 王委员 ")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "「王委员」（同一联系方式）已在「城关镇政协联络组」的名册中" in text
    assert 'value=" 王委员 "' in text  # what was typed is still there
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 1
    # A namesake with another contact is another person.
    assert _add(client, network.county.id, contact="13500000000").status_code == 302


def test_it_shows_a_members_contact_only_on_request_and_logs_the_look(
        client: FlaskClient, session: Session, network: Network) -> None:
    _clerk(client, session, network)
    _add(client, network.county.id)
    session.rollback()
    wang = session.scalar(sa.select(Member))
    assert wang is not None
    assert PHONE not in client.get(f"/roster/{wang.id}").get_data(as_text=True)
    assert PHONE not in client.get(f"/roster/{wang.id}/edit").get_data(as_text=True)
    shown = post_page(client, f"/roster/{wang.id}/contact")
    assert PHONE in shown
    session.rollback()
    [log] = session.scalars(sa.select(AccessLog)).all()
    assert (log.member_id, log.report_id, log.what) == (wang.id, None, "member_contact")
    # Saving the edit form with the contact left empty keeps it.
    post_page(client, f"/roster/{wang.id}", name="王委员", role="informant", sector="科技界",
              unit_id=str(network.township.id), contact="", yearly_target="4")
    session.rollback()
    session.refresh(wang)
    assert (wang.contact, wang.role.value, wang.unit_id, wang.yearly_target) == (
        PHONE, "informant", network.township.id, 4)


def test_it_takes_a_report_drawn_from_a_proposal_without_a_point(
        client: FlaskClient, session: Session, network: Network) -> None:
    _clerk(client, session, network)
    _add(client, network.township.id)
    session.rollback()
    wang = session.scalar(sa.select(Member))
    assert wang is not None
    page = client.get("/intake/new").get_data(as_text=True)
    citizen = page.split('name="citizen" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": csrf(client, "/intake/new"), "citizen": citizen, "point_id": "",
            "source": "proposal", "source_ref": "", "member_id": str(wang.id),
            "a_category": "livelihood", "a_title": "关于完善社区养老服务的建议",
            "a_situation": "全县60岁以上老人2.3万人，社区日间照料中心仅有12家。",
            "a_suggestion": "建议三年内每个社区建成一处日间照料中心。", "a_urgent": "0",
            "a_anonymous": "1"}
    bad = client.post("/intake/new", data=form, content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "请填写提案的编号、名称或链接" in bad.get_data(as_text=True)
    assert "关于完善社区养老服务的建议" in bad.get_data(as_text=True)
    form["source_ref"] = "政协第十届三次会议第 0123 号提案"
    ok = client.post("/intake/new", data=form, content_type="multipart/form-data")
    assert ok.status_code == 302, ok.get_data(as_text=True)
    session.rollback()
    [report] = session.scalars(sa.select(Report)).all()
    assert (report.source, report.source_ref, report.member_id, report.point_id,
            report.unit_id) == (ReportSource.PROPOSAL, "政协第十届三次会议第 0123 号提案",
                                wang.id, None, network.township.id)
    # It counts for the member, and their page says where it came from.
    member_page = client.get(f"/roster/{wang.id}").get_data(as_text=True)
    assert report.tracking_no in member_page and "提案" in member_page


def test_it_still_needs_a_point_for_a_citizens_report_at_the_counter(
        client: FlaskClient, session: Session, network: Network) -> None:
    _clerk(client, session, network)
    page = client.get("/intake/new").get_data(as_text=True)
    citizen = page.split('name="citizen" value="', 1)[1].split('"', 1)[0]
    resp = client.post("/intake/new", data={
        "csrf_token": csrf(client, "/intake/new"), "citizen": citizen, "source": "citizen",
        "a_category": "livelihood", "a_title": "路灯不亮", "a_situation": "12 盏路灯坏了3个月。",
        "a_suggestion": "尽快修复。", "a_urgent": "0", "a_anonymous": "1"},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择采集点" in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_it_records_a_members_and_a_citizens_own_reports_with_their_source(
        Session_: sessionmaker[Session], engine: Engine, session: Session,  # noqa: N803
        network: Network, point, point_token: str) -> None:  # noqa: ANN001
    informant = roster.add(session, roster.entry(name="赵信息员", role="informant",
                                                 unit_id=network.county.id))
    session.add(Reporter(channel=Channel.TELEGRAM, external_id="501", chat_id="501",
                         member_id=informant.id, unit_id=network.county.id))
    session.commit()
    chat = Chat(Session_, engine, user_id="501")
    chat.command("new")
    chat.fill_report(photo=False)
    chat.press("确认提交")
    citizen = Chat(Session_, engine, user_id="502")
    citizen.command("start", point_token)
    citizen.fill_report(photo=False)
    citizen.press("确认提交")
    session.rollback()
    sources = session.execute(sa.select(Report.source, Report.member_id, Report.point_id)
                              .order_by(Report.id)).all()
    assert sources == [(ReportSource.INFORMANT, informant.id, None),
                       (ReportSource.CITIZEN, None, point.id)]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_imports_a_roster_sheet_or_names_every_wrong_line_and_adds_nobody(
        client: FlaskClient, session: Session, network: Network) -> None:
    roster.add(session, roster.entry(name="王委员", role="member", unit_id=network.township.id,
                                     contact=PHONE))
    session.commit()
    _clerk(client, session, network)
    header = ["姓名", "界别", "所在单位", "身份", "联系方式", "年度目标", "备注"]
    bad = _xlsx([header,
                 ["赵委员", "经济界", "城关县政协", "政协委员", 13900000001, 3, ""],
                 ["王委员", "科技界", "城关县政协", "政协委员", PHONE, 2, "也在县政协"],
                 ["钱信息员", "", "东山县政协", "特邀信息员", "", 2, ""],
                 ["孙委员", "", "城关县政协", "常委", "", 2, ""],
                 ["赵委员", "经济界", "城关县政协", "政协委员", 13900000001, "两篇", ""]])
    resp = client.post("/roster/import", data={"csrf_token": csrf(client, "/roster"),
                                               "file": (io.BytesIO(bad), "名册.xlsx")},
                       content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "未导入任何人" in text
    assert "<td>3</td><td>「王委员」（同一联系方式）已在「城关县政协 › 城关镇政协联络组」名册中" in text
    assert "<td>4</td><td>单位「东山县政协」不在您负责的范围内" in text
    assert "<td>5</td><td>身份只能是" in text
    assert "<td>6</td><td>年度目标请填写" in text
    assert "未使用的列：备注" in text
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 1

    good = _xlsx([header, ["赵委员", "经济界", "城关县政协", "政协委员", 13900000001, 3, ""],
                  ["钱信息员", "", f"#{network.township.id}", "特邀信息员", "", "", ""]])
    page = client.post("/roster/import", data={"csrf_token": csrf(client, "/roster"),
                                               "file": (io.BytesIO(good), "名册.xlsx")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "导入完成：2 人加入名册" in page.get_data(as_text=True)
    session.rollback()
    zhao = session.scalar(sa.select(Member).where(Member.name == "赵委员"))
    qian = session.scalar(sa.select(Member).where(Member.name == "钱信息员"))
    assert zhao is not None and qian is not None
    assert (zhao.contact, zhao.yearly_target, zhao.sector, zhao.unit_id) == (
        "13900000001", 3, "经济界", network.county.id)
    assert (qian.role.value, qian.unit_id, qian.yearly_target) == (
        "informant", network.township.id, 2)


def test_it_refuses_an_edit_that_makes_someone_a_second_entry(
        client: FlaskClient, session: Session, network: Network) -> None:
    roster.add(session, roster.entry(name="王委员", role="member", unit_id=network.township.id,
                                     contact=PHONE))
    other = roster.add(session, roster.entry(name="王伟", role="member", unit_id=network.county.id,
                                             contact=PHONE))
    session.commit()
    _clerk(client, session, network)
    resp = client.post(f"/roster/{other.id}", data={
        "csrf_token": csrf(client, "/roster"), "name": "王委员", "role": "member",
        "unit_id": str(network.county.id), "contact": "", "yearly_target": "2"})
    assert resp.status_code == 422
    assert "已在「城关镇政协联络组」的名册中" in resp.get_data(as_text=True)
    session.rollback()
    session.refresh(other)
    assert other.name == "王伟"


def test_it_puts_one_person_entered_by_several_clerks_at_once_on_the_roster_once(
        Session_: sessionmaker[Session], session: Session, network: Network) -> None:  # noqa: N803
    def enter(_: int) -> str:
        with Session_() as s, s.begin():
            try:
                roster.add(s, roster.entry(name="王委员", role="member",
                                           unit_id=network.county.id, contact=PHONE))
            except roster.OnRosterError:
                return "refused"
            return "added"

    assert sorted(together(enter)) == ["added"] + ["refused"] * 7
    assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 1


def test_it_reminds_each_overdue_person_once_when_two_schedulers_run_at_once(
        Session_: sessionmaker[Session], session: Session, network: Network, clerk) -> None:  # noqa: ANN001, N803
    person = roster.add(session, roster.entry(name="甲委员", role="member", unit_id=network.county.id))
    session.add(Reporter(channel=Channel.TELEGRAM, external_id="601", chat_id="601",
                         member_id=person.id))
    now = utcnow()
    commissions.commission(session, clerk, title="河道", description="写", now=now,
                           deadline=now + timedelta(hours=1), member_ids=[person.id])
    session.commit()
    done = together(lambda _: scheduler.remind_commissions(Session_, now=now + timedelta(days=1)), 4)
    assert sorted(done) == [0, 0, 0, 1]
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2  # ask + remind


def test_it_moves_the_link_to_a_members_new_chat_on_the_same_channel(
        Session_: sessionmaker[Session], engine: Engine, session: Session,  # noqa: N803
        network: Network) -> None:
    person = roster.add(session, roster.entry(name="王委员", role="member",
                                              unit_id=network.county.id))
    session.commit()
    for user_id in ("701", "702"):
        code = members.issue_code(session, member=person, created_by_id=None)
        session.commit()
        Chat(Session_, engine, user_id=user_id).command("bind", code.code)
    web = members.issue_code(session, member=person, created_by_id=None)
    session.commit()
    browser = Chat(Session_, engine, user_id="web-703", channel=Channel.WEB)
    browser.command("bind", web.code)
    session.rollback()
    linked = dict(session.execute(sa.select(Reporter.external_id, Reporter.member_id)).all())
    assert linked == {"701": None, "702": person.id, "web-703": person.id}
    assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 1
    # A report from the phone counts in /mystats asked from the browser: one person.
    phone = Chat(Session_, engine, user_id="702")
    phone.command("new")
    phone.fill_report(photo=False)
    phone.press("确认提交")
    browser.command("mystats")
    assert "王委员，您的信息统计：\n已报送 1 条" in browser.last.text
