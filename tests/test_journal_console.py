"""期刊 in the console: composing, editing, 签发, publishing, documents, settings (issue 12, point 8)."""

from __future__ import annotations

import io
import re

import docx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from store.models import IssueStatus, JournalIssue, JournalSeries, OutboxMessage, Report, User
from store.outputs.journal import issues, series
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login


def _adopted(session: Session, admin: User, n: int) -> list[Report]:
    out = []
    for i in range(n):
        report = make_report(session, title=f"第{i + 1}条：老旧小区加装电梯进展缓慢")
        adopt(session, report, admin)
        out.append(report)
    session.commit()
    return out


def _version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page)[1]  # type: ignore[index]


def test_it_composes_edits_signs_off_and_publishes_an_issue(
        app: Flask, session: Session, admin: User, clerk: User, secretary: User) -> None:
    first, second = _adopted(session, admin, 2)
    desk = app.test_client()
    login(desk, clerk.username)
    page = desk.get("/journal/new").get_data(as_text=True)
    assert first.tracking_no in page and "签发并发布专报" not in page  # a clerk cannot sign off
    token = csrf(desk, "/journal/new")
    resp = desk.post("/journal/new", data={"csrf_token": token, "series": "1",
                                           "report": [str(second.id), str(first.id)]})
    assert resp.status_code == 302
    issue = session.scalars(sa.select(JournalIssue)).one()
    path = f"/journal/issues/{issue.id}"
    page = desk.get(path).get_data(as_text=True)
    assert "草稿（未编号）" in page and 'id="step-sign_off"' not in page

    item = issue.items[0]
    resp = desk.post(f"{path}/items/{item.id}", data={
        "csrf_token": token, "version": _version(page), "title": "长" * 2001, "body": "正文", "note": ""})
    assert resp.status_code == 422
    typed = resp.get_data(as_text=True)
    assert "现有 2001 字" in typed and "长" * 2001 in typed  # the text typed is kept
    resp = desk.post(f"{path}/items/{item.id}", data={
        "csrf_token": token, "version": _version(page), "title": "关于加快加装电梯的建议",
        "body": "一段\n二段", "note": "请参阅"})
    assert resp.status_code == 302
    page = desk.get(path).get_data(as_text=True)
    desk.post(f"{path}/edit", data={"csrf_token": token, "version": _version(page), "note": "",
                                    "bao": "省政协办公厅\n市委办公室", "song": "", "fa": ""})
    session.rollback()  # a fresh snapshot of what the requests wrote
    assert issue.items[0].title == "关于加快加装电梯的建议" and second.title.startswith("第2条")
    assert issue.distribution["bao"] == ["省政协办公厅", "市委办公室"]

    boss = app.test_client()
    login(boss, secretary.username)
    page = boss.get(path).get_data(as_text=True)
    resp = boss.post(f"{path}/sign_off", data={"csrf_token": csrf(boss, path), "version": _version(page)})
    assert resp.status_code == 302
    session.rollback()  # a fresh snapshot of what the requests wrote
    assert issue.status is IssueStatus.SIGNED_OFF and issue.number == 1
    page = desk.get(path).get_data(as_text=True)
    assert f"{issue.year}年第1期" in page and "总第1期" in page
    desk.post(f"{path}/publish", data={"csrf_token": token, "version": _version(page)})
    session.rollback()  # a fresh snapshot of what the requests wrote
    assert issue.status is IssueStatus.PUBLISHED
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.text.contains("已编入《社情民意》"))) == 2
    resp = desk.post(f"{path}/publish", data={"csrf_token": token, "version": _version(page)},
                     follow_redirects=True)
    assert "不能重复发布" in resp.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.text.contains("已编入《社情民意》"))) == 2

    listing_page = desk.get("/journal?status=published").get_data(as_text=True)
    assert f"《社情民意》{issue.year}年第1期" in listing_page
    resp = desk.get(f"{path}/export.docx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    lines = [p.text for p in docx.Document(io.BytesIO(resp.data)).paragraphs]
    assert "关于加快加装电梯的建议" in lines and "报：省政协办公厅、市委办公室" in lines
    assert desk.get(f"{path}/export.pdf").data[:5] == b"%PDF-"
    found = desk.get("/search?carried=1").get_data(as_text=True)
    assert first.tracking_no in found and second.tracking_no in found


def test_a_special_report_goes_out_in_one_step_from_the_console(
        app: Flask, session: Session, admin: User) -> None:
    [report] = _adopted(session, admin, 1)
    desk = app.test_client()
    login(desk, admin.username)
    resp = desk.post("/journal/special", data={"csrf_token": csrf(desk, "/journal/new"),
                                               "report": str(report.id)}, follow_redirects=True)
    assert "专报已签发并发布：《信息专报》" in resp.get_data(as_text=True)
    issue = session.scalars(sa.select(JournalIssue)).one()
    assert issue.status is IssueStatus.PUBLISHED and issue.series.name == "信息专报"


def test_a_template_without_placeholders_is_refused_on_upload(
        app: Flask, session: Session, admin: User) -> None:
    bad = docx.Document()
    bad.add_paragraph("{{journal}} 没有其他占位符")
    buf = io.BytesIO()
    bad.save(buf)
    desk = app.test_client()
    login(desk, admin.username)
    resp = desk.post("/journal/series/1/template", data={
        "csrf_token": csrf(desk, "/journal/series"), "template": (io.BytesIO(buf.getvalue()), "red.docx"),
    }, content_type="multipart/form-data", follow_redirects=True)
    assert "模板缺少占位符" in resp.get_data(as_text=True)
    assert "{{number}}、{{date}}、{{items}}" in resp.get_data(as_text=True)
    session.rollback()  # a fresh snapshot of what the requests wrote
    assert session.get(JournalSeries, 1).template is None  # type: ignore[union-attr]


def test_viewers_and_departments_do_not_get_journal_pages(
        app: Flask, session: Session, admin: User, viewer: User) -> None:
    [report] = _adopted(session, admin, 1)
    issue = issues.compose(session, series.find(session, "社情民意"), [report], admin)
    session.commit()
    desk = app.test_client()
    login(desk, viewer.username)
    assert desk.get("/journal").status_code == 403
    assert desk.get(f"/journal/issues/{issue.id}/export.pdf").status_code == 403
