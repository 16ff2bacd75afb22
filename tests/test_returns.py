"""退回补充 left unanswered: a reminder after N working days (once), closure with feedback when the
date the reporter was told has passed.

The office's limits are the defaults: remind after 3 working days, close after 7. The moments are
in March 2026 (no public holiday), so only weekends are skipped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

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
from store.workdays import OFFICE_TZ, end_of
from tests.domain_support import make_report


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=OFFICE_TZ).astimezone(UTC)


MONDAY = date(2026, 3, 2)


def _returned(session: Session, point: CollectionPoint, clerk: User, question: str,
              when: datetime | None = None) -> tuple[Report, ReportEvent]:
    report = make_report(session, point)
    event = lifecycle.apply(session, report, Action.RETURN, user=clerk, note=question,
                            now=when or at(MONDAY))
    session.commit()
    return report, event


def _owed(session: Session, report: Report) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id)
                                .order_by(OutboxMessage.id)))


def test_it_reminds_once_after_n_working_days_repeating_the_question(
    session: Session, point: CollectionPoint, clerk: User
) -> None:
    report, _ = _returned(session, point, clerk, "请补充路灯的具体位置")

    # Three working days after Monday: the end of Thursday.
    assert returns.chase(session, at(date(2026, 3, 5), 18)) == {"reminded": 0, "expired": 0}
    assert returns.chase(session, at(date(2026, 3, 6), 9)) == {"reminded": 1, "expired": 0}
    session.commit()
    assert returns.chase(session, at(date(2026, 3, 9), 9)) == {"reminded": 0, "expired": 0}
    session.commit()

    question, reminder = _owed(session, report)
    # Seven working days after Monday 2 March: Wednesday 11 March; the question and the
    # reminder both say so.
    assert report.due_at == end_of(date(2026, 3, 11))
    assert "请在 2026-03-11 前补充" in question.text
    assert reminder.text.startswith("提醒") and "请补充路灯的具体位置" in reminder.text
    assert "请在 2026-03-11 前补充" in reminder.text
    assert reminder.buttons == question.buttons  # the same 补充信息 button
    report = session.get(Report, report.id)  # type: ignore[assignment]
    assert report.status is ReportStatus.RETURNED
    remind = report.events[-1]
    assert remind.action == "remind" and remind.user_id is None and remind.reporter_id is None


def test_it_closes_an_unanswered_return_after_the_date_told_with_feedback(
    session: Session, point: CollectionPoint, clerk: User
) -> None:
    report, _ = _returned(session, point, clerk, "请补充路灯的具体位置")
    answered, _ = _returned(session, point, clerk, "请补充照片")
    lifecycle.apply(session, answered, Action.RESUBMIT, reporter=answered.reporter, note="在人民路12号")
    session.commit()

    assert returns.chase(session, at(date(2026, 3, 11), 23))["expired"] == 0
    done = returns.chase(session, at(date(2026, 3, 12), 0))
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
    report, _ = _returned(session, point, clerk, "请补充位置")
    returns.chase(session, at(date(2026, 3, 6)))
    lifecycle.apply(session, report, Action.RESUBMIT, reporter=report.reporter, note="人民路12号",
                    now=at(date(2026, 3, 6), 11))
    lifecycle.apply(session, report, Action.RETURN, user=clerk, note="请再补充照片",
                    now=at(date(2026, 3, 9)))
    session.commit()

    # Counted from the second question (Monday 9 March): neither expired nor already reminded.
    assert report.due_at == end_of(date(2026, 3, 18))
    assert returns.chase(session, at(date(2026, 3, 13))) == {"reminded": 1, "expired": 0}
    session.commit()
    assert "请再补充照片" in _owed(session, report)[-1].text
