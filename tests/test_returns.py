"""退回补充 left unanswered: a reminder after N days (once), closure with feedback after M days."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import (
    CollectionPoint,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportStatus,
    User,
)
from store.reports import lifecycle, returns
from store.reports.lifecycle import Action
from tests.domain_support import make_report


def _returned(session: Session, point: CollectionPoint, clerk: User, question: str) -> tuple[Report, ReportEvent]:
    report = make_report(session, point)
    event = lifecycle.apply(session, report, Action.RETURN, user=clerk, note=question)
    session.commit()
    return report, event


def _owed(session: Session, report: Report) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id)
                                .order_by(OutboxMessage.id)))


def test_it_reminds_once_after_n_days_repeating_the_question(
    session: Session, point: CollectionPoint, clerk: User
) -> None:
    report, asked = _returned(session, point, clerk, "请补充路灯的具体位置")
    start = asked.created_at

    assert returns.chase(session, start + timedelta(days=2, hours=23), 3, 7) == \
        {"reminded": 0, "expired": 0}
    assert returns.chase(session, start + timedelta(days=3), 3, 7) == {"reminded": 1, "expired": 0}
    session.commit()
    assert returns.chase(session, start + timedelta(days=4), 3, 7) == {"reminded": 0, "expired": 0}
    session.commit()

    question, reminder = _owed(session, report)
    assert reminder.text.startswith("提醒") and "请补充路灯的具体位置" in reminder.text
    assert reminder.buttons == question.buttons  # the same 补充信息 button
    report = session.get(Report, report.id)  # type: ignore[assignment]
    assert report.status is ReportStatus.RETURNED
    remind = report.events[-1]
    assert remind.action == "remind" and remind.user_id is None and remind.reporter_id is None


def test_it_closes_an_unanswered_return_after_m_days_with_feedback(
    session: Session, point: CollectionPoint, clerk: User
) -> None:
    report, asked = _returned(session, point, clerk, "请补充路灯的具体位置")
    answered, _ = _returned(session, point, clerk, "请补充照片")
    lifecycle.apply(session, answered, Action.RESUBMIT, reporter=answered.reporter, note="在人民路12号")
    session.commit()

    done = returns.chase(session, asked.created_at + timedelta(days=7), timedelta(days=3),
                         timedelta(days=7))
    session.commit()

    assert done == {"reminded": 0, "expired": 1}
    session.rollback()
    report = session.get(Report, report.id)  # type: ignore[assignment]
    assert report.status is ReportStatus.CLOSED
    assert report.events[-1].action == "expire"
    assert "长时间未补充" in _owed(session, report)[-1].text
    assert session.get(Report, answered.id).status is ReportStatus.RESUBMITTED  # type: ignore[union-attr]


def test_a_second_return_starts_the_clock_again(
    session: Session, point: CollectionPoint, clerk: User
) -> None:
    report, first = _returned(session, point, clerk, "请补充位置")
    returns.chase(session, first.created_at + timedelta(days=3), 3, 7)
    lifecycle.apply(session, report, Action.RESUBMIT, reporter=report.reporter, note="人民路12号")
    second = lifecycle.apply(session, report, Action.RETURN, user=clerk, note="请再补充照片")
    session.commit()

    # Counted from the second question: neither expired nor already reminded.
    later = second.created_at + timedelta(days=3)
    assert returns.chase(session, later, 3, 7) == {"reminded": 1, "expired": 0}
    session.commit()
    assert "请再补充照片" in _owed(session, report)[-1].text
