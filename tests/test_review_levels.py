"""One report through the office's chain: 初审 → 审核 → 审定, and the shorter chain."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.delivery import notices
from store.models import AdoptionLevel, Channel, OutboxMessage, Report, ReportStatus, StaffNotice, User
from store.network import addresses
from store.reports import lifecycle
from store.reports import queries as reports
from store.reports.lifecycle import Action
from store.review import chain as review
from tests.domain_support import make_report


def _offers(session: Session, report: Report, *users: User) -> list[list[str]]:
    return [[a.value for a in lifecycle.allowed_actions(session, report, u)] for u in users]


def test_a_report_passes_first_review_review_and_approval(
    session: Session, clerk: User, director: User, secretary: User
) -> None:
    report = make_report(session)
    session.commit()
    assert review.level_at(review.chain(session), report.review_level).label() == "初审"
    assert reports.my_queue(session, clerk)[1] == 1
    assert reports.my_queue(session, director)[1] == 0

    lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk, note="事实清楚")
    assert (report.status, review.level_at(review.chain(session), report.review_level).label()) \
        == (ReportStatus.REVIEWING, "审核")
    assert _offers(session, report, clerk, director, secretary) == [
        ["edit"], ["sign_off", "decline", "return", "merge", "edit"], ["edit"]]

    lifecycle.apply(session, report, Action.SIGN_OFF, user=director)
    assert review.level_at(review.chain(session), report.review_level).label() == "审定"
    assert reports.my_queue(session, secretary)[0] == [report]

    lifecycle.apply(session, report, Action.ADOPT, user=secretary,
                    values={"adoption_level": AdoptionLevel.COUNTY})
    session.commit()

    session.rollback()
    stored = session.get_one(Report, report.id)
    assert stored.status is ReportStatus.ADOPTED
    assert [(e.action, e.user_id, e.level) for e in stored.events] == [
        ("submit", None, None), ("sign_off", clerk.id, "first"),
        ("sign_off", director.id, "second"), ("adopt", secretary.id, "final")]
    [feedback] = session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.report_id == report.id)).all()
    assert "已被采用" in feedback.text


def test_in_a_two_level_chain_approval_follows_first_review(
    session: Session, clerk: User, director: User, secretary: User
) -> None:
    review.set_chain(session, "two")
    report = make_report(session)
    session.commit()

    lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk)

    assert review.level_at(review.chain(session), report.review_level).label() == "审定"
    assert reports.my_queue(session, director)[1] == 0
    assert _offers(session, report, director, secretary) == [
        ["edit"], ["adopt", "decline", "return", "merge", "edit"]]
    lifecycle.apply(session, report, Action.DECLINE, user=secretary, note="已在处理中")
    session.commit()
    assert report.status is ReportStatus.NOT_ADOPTED


def test_a_chain_cut_short_leaves_reports_waiting_at_its_last_level(
    session: Session, clerk: User, director: User, secretary: User
) -> None:
    report = make_report(session)
    lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk)
    lifecycle.apply(session, report, Action.SIGN_OFF, user=director)
    review.set_chain(session, "two")  # the report stood at level 2 of 3
    session.commit()

    assert reports.my_queue(session, secretary)[0] == [report]
    lifecycle.apply(session, report, Action.ADOPT, user=secretary,
                    values={"adoption_level": AdoptionLevel.COUNTY})
    assert report.status is ReportStatus.ADOPTED


def test_an_urgent_report_goes_first_and_alerts_the_first_level(
    session: Session, clerk: User, director: User, admin: User, viewer: User
) -> None:
    addresses.link(session, clerk, Channel.TELEGRAM, "777")
    session.commit()
    calm = make_report(session, title="路灯不亮")
    urgent = make_report(session, title="河堤出现 3 米长裂缝", urgent=True)
    later = make_report(session, title="公交站没有遮阳棚")
    session.commit()

    listed, total = reports.page(session, admin)
    assert total == 3 and listed[0] == urgent and listed[1:] == [later, calm]
    assert reports.my_queue(session, clerk)[0][0] == urgent

    alerts = session.scalars(sa.select(StaffNotice).where(StaffNotice.report_id == urgent.id)).all()
    assert sorted(n.user_id for n in alerts) == sorted([clerk.id, admin.id])
    assert all(n.kind == "urgent" and "【紧急】" in n.text and urgent.tracking_no in n.text
               for n in alerts)
    assert notices.unread_count(session, clerk) == 1
    assert notices.unread_count(session, director) == 0
    assert notices.unread_count(session, viewer) == 0
    [telegram] = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.user_id.is_not(None)))
    assert (telegram.user_id, telegram.chat_id, telegram.reporter_id) == (clerk.id, "777", None)
    assert "河堤" in telegram.text
    # Calm reports alert nobody.
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffNotice)
                          .where(StaffNotice.report_id != urgent.id)) == 0

    notices.mark_read(session, clerk)
    session.commit()
    assert notices.unread_count(session, clerk) == 0
