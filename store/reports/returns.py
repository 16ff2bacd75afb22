"""Chasing 退回补充: a reminder after N days without an answer, closure after M days.

Both are lifecycle moves made by the system (REMIND keeps the report
returned and repeats the question with the 补充信息 button; EXPIRE closes it
with feedback). Days count from the latest return, so a report returned a
second time gets a fresh reminder. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Report, ReportEvent, ReportStatus, utcnow
from store.reports import lifecycle
from store.reports.lifecycle import Action


def _days(value: timedelta | int) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(days=value)


def chase(session: Session, now: datetime | None = None, remind_after: timedelta | int = 3,
          expire_after: timedelta | int = 7) -> dict[str, int]:
    """Remind (once) or close every returned report left unanswered; ints are days.

    Returns how many reports were reminded and how many were closed.
    """
    now = now or utcnow()
    remind, expire = _days(remind_after), _days(expire_after)
    reminded = expired = 0
    returned = list(session.scalars(
        sa.select(Report).where(Report.status == ReportStatus.RETURNED).order_by(Report.id)))
    for report in returned:
        asked = session.scalar(
            sa.select(ReportEvent).where(ReportEvent.report_id == report.id,
                                         ReportEvent.action == Action.RETURN.value)
            .order_by(ReportEvent.id.desc()).limit(1))
        if asked is None:
            continue
        waited = now - asked.created_at
        if waited >= expire:
            lifecycle.apply(session, report, Action.EXPIRE, system=True)
            expired += 1
            continue
        if waited < remind:
            continue
        already = session.scalar(
            sa.select(ReportEvent.id).where(ReportEvent.report_id == report.id,
                                            ReportEvent.action == Action.REMIND.value,
                                            ReportEvent.id > asked.id).limit(1))
        if already is None:
            # The reminder repeats the question that was asked.
            lifecycle.apply(session, report, Action.REMIND, system=True,
                            context={"note": asked.note or ""})
            reminded += 1
    return {"reminded": reminded, "expired": expired}
