"""The inbox, a report's detail, and the decisions staff take on it."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.settings import Settings
from store.models import (
    Attachment,
    CollectionPoint,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportStatus,
    User,
)
from store.reports import files, lifecycle
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login


def _act(client: FlaskClient, report: Report, action: str, note: str | None = None,
         version: int | None = None, token: str | None = None, status: int = 200,
         **extra: str) -> str:
    """Post one decision as its form would (declining already confirmed)."""
    data = {"action": action, "version": str(version if version is not None else report.version),
            "csrf_token": token or csrf(client, f"/reports/{report.id}"), **extra}
    if action == "decline":
        data["confirm"] = "1"
    if note is not None:
        data["note"] = note
    resp = client.post(f"/reports/{report.id}/act", data=data, follow_redirects=True)
    assert resp.status_code == status, resp.status_code
    return resp.get_data(as_text=True)


def _fresh(session: Session) -> None:
    """A new read snapshot: the app has moved reports since the test last looked."""
    session.rollback()
    session.expire_all()


def _events(session: Session, report: Report) -> list[ReportEvent]:
    _fresh(session)
    return list(session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id == report.id)
                                .order_by(ReportEvent.id)))


def _status(session: Session, report: Report) -> ReportStatus:
    _fresh(session)
    return session.get(Report, report.id).status  # type: ignore[union-attr]


def _version(session: Session, report: Report) -> int:
    _fresh(session)
    return session.get(Report, report.id).version  # type: ignore[union-attr]


def _outbox(session: Session, report: Report) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id)))


def test_it_lists_reports_newest_first_with_status_filter(
    client: FlaskClient, clerk: User, admin: User, session: Session, point: CollectionPoint
) -> None:
    old = make_report(session, point, title="老旧小区加装电梯进展缓慢")
    new = make_report(session, point, title="农贸市场周边占道经营严重", urgent=True)
    login(client, "carol")
    page = client.get("/reports").get_data(as_text=True)
    assert page.index(new.tracking_no) < page.index(old.tracking_no)
    assert "紧急" in page and point.name in page

    adopt(session, old, admin)
    session.commit()
    adopted = client.get("/reports?status=adopted").get_data(as_text=True)
    assert old.tracking_no in adopted and new.tracking_no not in adopted
    waiting = client.get("/reports?status=submitted").get_data(as_text=True)
    assert new.tracking_no in waiting and old.tracking_no not in waiting
    # An unknown status is ignored rather than an error.
    assert client.get("/reports?status=bogus&page=x").status_code == 200


def test_it_pages_the_inbox(client: FlaskClient, clerk: User, session: Session) -> None:
    made = [make_report(session, title=f"第{i:02d}条测试信息标题") for i in range(23)]
    login(client, "carol")
    first = client.get("/reports").get_data(as_text=True)
    second = client.get("/reports?page=2").get_data(as_text=True)
    assert made[-1].tracking_no in first and made[0].tracking_no not in first
    assert "第 1 / 2 页" in first and "下一页" in first
    assert made[0].tracking_no in second and made[-1].tracking_no not in second
    assert len(re.findall(r'<td class="no">', second)) == 3


def test_it_shows_the_detail_with_answers_history_and_attachments(
    client: FlaskClient, clerk: User, session: Session, settings: Settings, point: CollectionPoint
) -> None:
    report = make_report(session, point, answers={"category": "livelihood", "urgent": False,
                                                  "hospital": "城关镇卫生院"})
    png = b"\x89PNG\r\n\x1a\n" + b"x" * 50
    for name, ctype, data in (("现场.png", "image/png", png),
                              ("情况说明.pdf", "application/pdf", b"%PDF-1.4 test")):
        rel, digest = files.save(settings.upload_dir, data, ctype)
        session.add(Attachment(report_id=report.id, kind="photo", filename=name, content_type=ctype,
                               size=len(data), sha256=digest, storage_path=rel))
    session.commit()
    photo, doc = report.attachments

    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert report.tracking_no in page and report.situation in page
    assert "民生保障" in page and "城关镇卫生院" in page
    assert "提交" in page and "已提交，待审核" in page  # the history
    assert f'<img src="/files/{photo.id}"' in page
    assert "情况说明.pdf" in page

    img = client.get(f"/files/{photo.id}")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data == png
    pdf = client.get(f"/files/{doc.id}")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.data == b"%PDF-1.4 test"

    client.post("/logout", data={"csrf_token": csrf(client, "/reports")})
    assert client.get(f"/files/{photo.id}").status_code == 302


def test_it_adopts_at_the_last_level_and_owes_the_reporter_feedback(
    client: FlaskClient, clerk: User, director: User, secretary: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    page = _act(client, report, "sign_off", note="情况属实，建议报送。")
    assert "本级已通过" in page and "待审核" in page and 'id="choose-adopt"' not in page
    login(client, "david")
    assert 'id="choose-sign_off"' in client.get(f"/reports/{report.id}").get_data(as_text=True)
    _act(client, report, "sign_off", version=_version(session, report))
    assert _outbox(session, report) == []  # signing off tells the reporter nothing
    login(client, "sophia")
    page = _act(client, report, "adopt", version=_version(session, report),
                adoption_level="county")
    assert "已采用" in page
    events = _events(session, report)
    assert [e.action for e in events] == ["submit", "sign_off", "sign_off", "adopt"]
    assert [e.user_id for e in events[1:]] == [clerk.id, director.id, secretary.id]
    assert _status(session, report) is ReportStatus.ADOPTED
    (msg,) = _outbox(session, report)
    assert report.tracking_no in msg.text and "已被采用" in msg.text
    # The page now shows the decision in the history and no more review actions.
    assert "Sophia" in page and "Carol" in page and 'id="choose-adopt"' not in page


def test_it_declines_with_a_reason(client: FlaskClient, clerk: User, session: Session) -> None:
    report = make_report(session)
    login(client, "carol")
    _act(client, report, "decline", note="相关部门已在处理，暂不重复报送。")
    assert _status(session, report) is ReportStatus.NOT_ADOPTED
    assert _events(session, report)[-1].note == "相关部门已在处理，暂不重复报送。"
    (msg,) = _outbox(session, report)
    assert "相关部门已在处理" in msg.text


def test_it_returns_for_more_with_a_question(client: FlaskClient, admin: User,
                                            session: Session) -> None:
    report = make_report(session)
    login(client, "alice")
    _act(client, report, "return", note="请补充损坏路灯的具体位置。")
    assert _status(session, report) is ReportStatus.RETURNED
    (msg,) = _outbox(session, report)
    assert "请补充损坏路灯的具体位置" in msg.text and msg.buttons


def test_it_refuses_decline_without_reason_and_return_without_question(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    for action, missing in (("decline", "请选择或填写不采用原因"), ("return", "请填写需要反映人补充的问题")):
        page = _act(client, report, action, note="   ", status=422)
        assert f'id="err-note" role="alert">{missing}' in page
    assert [e.action for e in _events(session, report)] == ["submit"]
    assert _status(session, report) is ReportStatus.SUBMITTED
    assert _outbox(session, report) == []


def test_it_reports_a_conflict_on_a_stale_version(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    token = csrf(client, f"/reports/{report.id}")
    seen = report.version
    # Another tab returns it, and the reporter supplements it: adopting is allowed
    # again, but not from the page that saw the first version.
    _act(client, report, "return", note="请补充照片。", token=token)
    _fresh(session)
    lifecycle.apply(session, report, lifecycle.Action.RESUBMIT, reporter=report.reporter,
                    note="已补充照片")
    session.commit()
    page = _act(client, report, "adopt", version=seen, token=token)
    assert "已被其他人处理" in page
    assert _status(session, report) is ReportStatus.RESUBMITTED
    assert [e.action for e in _events(session, report)] == ["submit", "return", "resubmit"]
    # A page that is stale and whose action is no longer allowed says the same.
    _act(client, report, "decline", note="重复", version=report.version)
    page = _act(client, report, "adopt", version=seen, token=token)
    assert "已被其他人处理" in page


def test_it_lets_a_viewer_look_but_not_act(client: FlaskClient, viewer: User,
                                           session: Session) -> None:
    report = make_report(session)
    login(client, "victor")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert report.title in page and 'id="choose-adopt"' not in page
    resp = client.post(f"/reports/{report.id}/act", data={
        "action": "adopt", "version": "1", "csrf_token": csrf(client, "/reports")})
    assert resp.status_code == 403
    assert "没有权限" in resp.get_data(as_text=True)
    assert [e.action for e in _events(session, report)] == ["submit"]


def test_it_refuses_an_action_without_csrf_token(client: FlaskClient, clerk: User,
                                                 session: Session) -> None:
    report = make_report(session)
    login(client, "carol")
    resp = client.post(f"/reports/{report.id}/act", data={"action": "adopt", "version": "1"})
    assert resp.status_code == 400
    assert [e.action for e in _events(session, report)] == ["submit"]


def test_it_sends_anonymous_actors_to_login(client: FlaskClient, session: Session) -> None:
    report = make_report(session)
    assert client.get(f"/reports/{report.id}").status_code == 302
    resp = client.post(f"/reports/{report.id}/act", data={
        "action": "adopt", "version": "1", "csrf_token": csrf(client)})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_it_renders_markup_in_reports_inert(client: FlaskClient, clerk: User,
                                            session: Session) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    report = make_report(session, title=f"标题{evil}", situation=f"情况共3处{evil}",
                         suggestion=evil, place=evil, contact=evil)
    login(client, "carol")
    for path in ("/reports", f"/reports/{report.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
