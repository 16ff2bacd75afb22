"""Chasing 退回补充: a reminder after N working days without an answer, closure when time runs out.

Both are lifecycle moves made by the system (REMIND keeps the report
returned and repeats the question with the 补充信息 button; EXPIRE closes it
with feedback). The reminder counts from the latest return, in the office's
working days (`store.review.deadlines`), so a report returned a second time
gets a fresh one; closure comes once the date the reporter was told
(`Report.due_at`, set by the return) has passed. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Report, ReportEvent, ReportStatus, utcnow
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import deadlines


def chase(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Remind (once) or close every returned report left unanswered.

    Returns how many reports were reminded and how many were closed.
    """
    now = now or utcnow()
    rules = deadlines.rules(session)
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
        # A report returned before deadlines were kept has no date: the limit counts from the return.
        expires = report.due_at or rules.due("supplement", asked.created_at)
        if now > expires:
            lifecycle.apply(session, report, Action.EXPIRE, system=True, now=now)
            expired += 1
            continue
        if now <= rules.due("remind", asked.created_at):
            continue
        already = session.scalar(
            sa.select(ReportEvent.id).where(ReportEvent.report_id == report.id,
                                            ReportEvent.action == Action.REMIND.value,
                                            ReportEvent.id > asked.id).limit(1))
        if already is None:
            # The reminder repeats the question that was asked.
            lifecycle.apply(session, report, Action.REMIND, system=True, now=now,
                            context={"note": asked.note or ""})
            reminded += 1
    return {"reminded": reminded, "expired": expired}
