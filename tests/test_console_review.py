"""The review office in the console: identity, decline reasons, merge, transfer, 批示, notes, edits."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import (
    AccessLog,
    AdoptionLevel,
    CollectionPoint,
    OutboxMessage,
    Report,
    ReportStatus,
    ReportVersion,
    Role,
    Transfer,
    User,
)
from store.outputs import adoption
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login


def _fresh(session: Session, report: Report) -> Report:
    session.rollback()
    session.expire_all()
    return session.get(Report, report.id)  # type: ignore[return-value]


def _post(client: FlaskClient, path: str, report: Report, session: Session, **data: str) -> str:
    version = _fresh(session, report).version
    body = {"version": str(version), "csrf_token": csrf(client, f"/reports/{report.id}"), **data}
    resp = client.post(path, data=body, follow_redirects=True)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*" role="alert">([^<]*)', page))


def test_it_reveals_the_reporter_only_on_request_and_logs_it(
    client: FlaskClient, clerk: User, viewer: User, session: Session
) -> None:
    report = make_report(session, contact="张先生 13800000000")
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "13800000000" not in page and "查看反映人信息" in page
    resp = client.post(f"/reports/{report.id}/identity",
                       data={"csrf_token": csrf(client, "/reports")})
    shown = resp.get_data(as_text=True)
    assert "13800000000" in shown and report.reporter.chat_id in shown
    session.rollback()
    (log,) = session.scalars(sa.select(AccessLog))
    assert (log.user_id, log.report_id) == (clerk.id, report.id)

    login(client, "victor")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "（无权查看）" in page and "13800000000" not in page and "查看反映人信息" not in page
    resp = client.post(f"/reports/{report.id}/identity",
                       data={"csrf_token": csrf(client, "/reports")})
    assert resp.status_code == 403 and "13800000000" not in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(AccessLog)) == 1


def test_it_shows_no_contact_for_an_anonymous_report(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session, anonymous=True, contact=None)
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "匿名反映" in page and "查看反映人信息" not in page and report.reporter.chat_id not in page


def test_it_declines_with_the_one_click_already_handled_reason(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    from store.review import templates

    templates.ensure_defaults(session)
    session.commit()
    handled = templates.already_handled(session)
    assert handled is not None
    report = make_report(session)
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="choose-already_handled"' in page
    page = _post(client, f"/reports/{report.id}/act", report, session, action="decline",
                 template_id=str(handled.id), confirm="1")
    assert "不采用" in _flash(page)
    assert _fresh(session, report).status is ReportStatus.NOT_ADOPTED
    (msg,) = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id))
    assert handled.text in msg.text


def test_it_needs_the_chain_before_adoption_and_raises_the_level_after(
    client: FlaskClient, admin: User, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="choose-adopt"' not in page and "初审通过" in page
    page = _post(client, f"/reports/{report.id}/act", report, session, action="adopt")
    assert "审定" in _flash(page)  # adoption is decided at the last level
    adopt(session, _fresh(session, report), admin)
    session.commit()
    page = _post(client, f"/reports/{report.id}/act", report, session, action="raise",
                 adoption_level="province")
    assert "提高采用级别" in _flash(page)
    assert adoption.highest(session, _fresh(session, report)) is AdoptionLevel.PROVINCE


def test_it_refuses_the_second_of_two_staff_deciding_at_once(
    client: FlaskClient, app: object, clerk: User, session: Session
) -> None:
    report = make_report(session)
    other = app.test_client()  # type: ignore[attr-defined]
    staff(session, "cathy", Role.CLERK)
    login(client, "carol")
    login(other, "cathy")
    token1, token2 = csrf(client, f"/reports/{report.id}"), csrf(other, f"/reports/{report.id}")
    first = client.post(f"/reports/{report.id}/act", follow_redirects=True, data={
        "action": "return", "note": "请补充具体位置。", "version": "1", "csrf_token": token1})
    second = other.post(f"/reports/{report.id}/act", follow_redirects=True, data={
        "action": "decline", "note": "不具体。", "version": "1", "csrf_token": token2})
    assert "退回补充" in _flash(first.get_data(as_text=True))
    assert "已被其他人处理" in _flash(second.get_data(as_text=True))
    fresh = _fresh(session, report)
    assert fresh.status is ReportStatus.RETURNED
    assert [e.action for e in fresh.events] == ["submit", "return"]


def test_it_merges_into_a_similar_report(
    client: FlaskClient, clerk: User, session: Session, point: CollectionPoint
) -> None:
    main = make_report(session, point, title="人民路路灯不亮", external_id="tg-1")
    dup = make_report(session, point, title="人民路路灯长期不亮", external_id="tg-2")
    login(client, "carol")
    page = client.get(f"/reports/{dup.id}").get_data(as_text=True)
    assert main.tracking_no in page and "相似度" in page
    page = _post(client, f"/reports/{dup.id}/merge", dup, session, tracking_no=main.tracking_no,
                 confirm="1")
    assert main.tracking_no in _flash(page)
    fresh = _fresh(session, dup)
    assert fresh.status is ReportStatus.MERGED and fresh.merged_into_id == main.id


def test_it_transfers_and_only_that_department_replies(
    client: FlaskClient, admin: User, session: Session, network: Network, point: CollectionPoint
) -> None:
    report = make_report(session, point, status=ReportStatus.ADOPTED, by=admin)
    staff(session, "rita", Role.DEPARTMENT, network.roads)
    staff(session, "wang", Role.DEPARTMENT, network.water)
    login(client, "alice")
    page = _post(client, f"/reports/{report.id}/transfer", report, session,
                 department_id=str(network.roads.id), due_days="10", escalate_days="5",
                 note="请核实并维修。")
    assert "县住建局" in _flash(page)
    session.rollback()
    (tr,) = session.scalars(sa.select(Transfer))

    login(client, "wang")  # the water bureau
    assert client.get(f"/reports/{report.id}").status_code == 404
    assert report.tracking_no not in client.get("/transfers").get_data(as_text=True)
    resp = client.post(f"/transfers/{tr.id}/reply", data={
        "text": "不是我们的", "csrf_token": csrf(client, "/transfers")})
    assert resp.status_code == 404

    login(client, "rita")
    listing = client.get("/transfers").get_data(as_text=True)
    assert report.tracking_no in listing and "请核实并维修" in listing
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "（无权查看）" in page and "内部备注" not in page
    resp = client.post(f"/transfers/{tr.id}/reply", follow_redirects=True, data={
        "text": "已于本周完成维修。", "csrf_token": csrf(client, "/transfers")})
    assert "办理回复已提交" in _flash(resp.get_data(as_text=True))
    assert _fresh(session, report).status is ReportStatus.HANDLED
    assert client.post(f"/reports/{report.id}/act", data={
        "action": "close", "version": "9", "csrf_token": csrf(client, "/transfers")}
    ).status_code == 403


def test_it_records_a_leaders_instruction_and_internal_notes(
    client: FlaskClient, admin: User, session: Session
) -> None:
    report = make_report(session, status=ReportStatus.ADOPTED, by=admin)
    login(client, "alice")
    page = _post(client, f"/reports/{report.id}/instruct", report, session, leader_name="李明",
                 leader_title="县长", level="county", instructed_on="2026-03-01",
                 text="请住建局牵头抓紧解决。")
    assert "批示" in _flash(page)
    assert "请住建局牵头抓紧解决" in page and "县长" in page
    resp = client.post(f"/reports/{report.id}/notes", follow_redirects=True, data={
        "text": "<b>已电话联系</b>", "csrf_token": csrf(client, "/reports")})
    page = resp.get_data(as_text=True)
    assert "&lt;b&gt;已电话联系&lt;/b&gt;" in page and "<b>已电话联系" not in page


def test_it_edits_keeps_the_original_and_marks_the_differences(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session, situation="人民路共有路灯40盏，其中12盏已损坏。")
    login(client, "carol")
    form = client.get(f"/reports/{report.id}/edit").get_data(as_text=True)
    assert "人民路共有路灯40盏" in form
    page = _post(client, f"/reports/{report.id}/edit", report, session, title=report.title,
                 situation="人民路共有路灯40盏，其中部分已损坏<script>x</script>。",
                 analysis="", suggestion=report.suggestion, summary="路灯损坏待修")
    assert "第 2 版" in _flash(page) and "路灯损坏待修" in page
    versions = client.get(f"/reports/{report.id}/versions").get_data(as_text=True)
    assert "<del>12盏</del>" in versions and "<ins>部分</ins>" in versions
    assert "&lt;script&gt;" in versions and "<script>x" not in versions
    session.rollback()
    numbers = session.scalars(sa.select(ReportVersion.number).where(
        ReportVersion.report_id == report.id).order_by(ReportVersion.number)).all()
    assert numbers == [1, 2]


def test_it_refuses_a_huge_edit_with_a_clear_message(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    resp = client.post(f"/reports/{report.id}/edit", data={
        "version": "1", "csrf_token": csrf(client, "/reports"), "title": report.title,
        "situation": "很长" * 30_000, "analysis": "", "suggestion": report.suggestion,
        "summary": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "太长了" in page and "具体情况" in page
    assert _fresh(session, report).situation == report.situation


def test_it_lets_a_viewer_read_but_not_act(
    client: FlaskClient, viewer: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "victor")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert report.title in page and "<form method=\"post\" action=\"/reports" not in page
    token = csrf(client, "/reports")
    for path in ("act", "merge", "transfer", "instruct", "notes", "edit"):
        resp = client.post(f"/reports/{report.id}/{path}", data={
            "action": "decline", "version": "1", "note": "x", "text": "x", "csrf_token": token})
        assert resp.status_code == 403, path
    assert client.get(f"/reports/{report.id}/edit").status_code == 403
    assert [e.action for e in _fresh(session, report).events] == ["submit"]


def test_it_queues_reports_for_the_users_level(
    client: FlaskClient, clerk: User, director: User, admin: User, session: Session
) -> None:
    first = make_report(session, title="第一条待初审信息")
    second = make_report(session, title="第二条已到审核级")
    from store.reports import lifecycle

    lifecycle.apply(session, second, lifecycle.Action.SIGN_OFF, user=admin)
    session.commit()
    login(client, "carol")
    mine = client.get("/reports?tab=mine").get_data(as_text=True)
    assert first.tracking_no in mine and second.tracking_no not in mine and "初审" in mine
    login(client, "david")
    mine = client.get("/reports?tab=mine").get_data(as_text=True)
    assert second.tracking_no in mine and first.tracking_no not in mine and "审核" in mine
