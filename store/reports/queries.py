"""Tracking numbers, and reading reports back (lists, queues, counts); `store.reports.drafts` files them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access, upsert
from store.models import Counter, Report, ReportStatus, Role, Urgency, User, utcnow
from store.reports import lifecycle
from store.review import chain as review


def next_tracking_no(session: Session, now: datetime | None = None) -> str:
    """`2026-000123`: a per-year sequence, atomic on SQLite and PostgreSQL alike."""
    year = (now or utcnow()).year
    # One statement creates the year's counter or raises it: the first two reports
    # of a year at once get 1 and 2, and neither fails.
    value = session.scalar(
        upsert.insert(session, Counter).values(name=f"report:{year}", value=1)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        .returning(Counter.value))
    assert value is not None
    return f"{year}-{value:06d}"


def for_reporter(session: Session, reporter_id: int, limit: int = 10) -> list[Report]:
    return list(session.scalars(
        sa.select(Report).where(Report.reporter_id == reporter_id)
        .order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
    ))


def page(session: Session, user: User, status: ReportStatus | None = None, page: int = 1,
         per_page: int = 20, *, total: int | None = None) -> tuple[list[Report], int]:
    """What `user` may see, urgent pending ones first, then newest first; (reports, total).

    A caller that already knows the total (from `status_counts`) passes it.
    """
    where = [access.report_scope(session, user)]
    if status is not None:
        where.append(Report.status == status)
    if total is None:
        total = count(session, *where)
    urgent = sa.and_(Report.urgency == Urgency.URGENT, Report.status.in_(lifecycle.PENDING))
    rows = _urgent_first(session, where, urgent, (Report.created_at.desc(), Report.id.desc()),
                         page, per_page)
    return rows, total


def count(session: Session, *where: sa.ColumnElement[bool]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Report).where(*where)) or 0


def _urgent_first(session: Session, where: list[sa.ColumnElement[bool]],
                  urgent: sa.ColumnElement[bool], order: tuple[Any, ...], page: int,
                  per_page: int) -> list[Report]:
    """A page of `where` with the `urgent` ones first, each part in `order`.

    Two index-ordered queries instead of one ORDER BY CASE: the urgent ones
    are few, and the rest come straight off the created_at index, so the first
    pages cost the same at a million reports as at a hundred.
    """
    n_urgent = count(session, *where, urgent)
    offset = (max(page, 1) - 1) * per_page
    rows: list[Report] = []
    if offset < n_urgent:
        rows = list(session.scalars(sa.select(Report).where(*where, urgent).order_by(*order)
                                    .offset(offset).limit(per_page)))
    if len(rows) < per_page:
        rows += session.scalars(sa.select(Report).where(*where, sa.not_(urgent)).order_by(*order)
                                .offset(max(0, offset - n_urgent)).limit(per_page - len(rows)))
    return rows


def status_counts(session: Session, user: User) -> dict[ReportStatus, int]:
    """How many reports `user` may see are in each status (every status present)."""
    rows = session.execute(sa.select(Report.status, sa.func.count())
                           .where(access.report_scope(session, user)).group_by(Report.status))
    counts = dict.fromkeys(ReportStatus, 0)
    for status, n in rows:
        counts[ReportStatus(status)] = n
    return counts


def queue_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """Pending reports in `user`'s scope that wait at a level `user` signs off (a report only
    received by 报送 is reviewed on its record, not here: `access.home_scope`)."""
    scope = sa.and_(access.home_scope(session, user), Report.status.in_(lifecycle.PENDING))
    if user.role is Role.ADMIN:
        return scope
    levels = review.chain(session)
    mine = [i for i, level in enumerate(levels) if user.role in level.roles]
    if not mine:
        return sa.false()
    last = len(levels) - 1
    # A report past the end of a chain that got shorter waits at its last level.
    at = [Report.review_level == i for i in mine if i != last]
    if last in mine:
        at.append(Report.review_level >= last)
    return sa.and_(scope, sa.or_(*at))


def my_queue(session: Session, user: User, page: int = 1,
             per_page: int = 20) -> tuple[list[Report], int]:
    """待我审核: pending reports waiting at `user`'s review level, urgent first, oldest first."""
    where = [queue_scope(session, user)]
    rows = _urgent_first(session, where, Report.urgency == Urgency.URGENT,
                         (Report.created_at, Report.id), page, per_page)
    return rows, queue_count(session, user)


def queue_count(session: Session, user: User) -> int:
    """How many reports wait at `user`'s review level (the 待我审核 tab)."""
    return count(session, queue_scope(session, user))


def find(session: Session, user: User, tracking_no: str) -> Report | None:
    """The report numbered `tracking_no`, if `user` may see it."""
    return session.scalar(sa.select(Report).where(Report.tracking_no == tracking_no.strip(),
                                                  access.report_scope(session, user)))
