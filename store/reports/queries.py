"""Tracking numbers, and reading reports back (lists, queues, counts); `store.reports.drafts` files them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access, upsert
from store.models import Counter, Report, ReportStatus, Role, Urgency, User, utcnow
from store.prepared import Prepared
from store.reports import lifecycle
from store.review import chain as review


def next_tracking_no(session: Session, now: datetime | None = None) -> str:
    """`2026-000123`: a per-year sequence, atomic on SQLite and PostgreSQL alike."""
    year = (now or utcnow()).year
    # One statement creates the year's counter or raises it: the first two reports
    # of a year at once get 1 and 2, and neither fails.
    row = _RAISE.first(session.connection(), {"name": f"report:{year}", "value": 1})
    assert row is not None
    return f"{year}-{row[0]:06d}"


# `next_tracking_no`'s statement, prepared (each chat filing runs it).
_COUNTERS: sa.Table = Counter.__table__  # type: ignore[assignment]
_RAISE = Prepared(lambda dialect: (
    upsert.insert_for(dialect, _COUNTERS)
    .values(name=sa.bindparam("name"), value=sa.bindparam("value"))
    .on_conflict_do_update(index_elements=[_COUNTERS.c.name],
                           set_={"value": _COUNTERS.c.value + 1})
    .returning(_COUNTERS.c.value)))


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
    scopes = access.report_scopes(session, user)
    where = [Report.status == status] if status is not None else []
    if total is None:
        total = count(session, _any(scopes), *where)
    urgent = sa.and_(Report.urgency == Urgency.URGENT, Report.status.in_(lifecycle.PENDING))
    rows = _urgent_first(session, scopes, where, urgent, True, page, per_page)
    return rows, total


def count(session: Session, *where: sa.ColumnElement[bool]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Report).where(*where)) or 0


def _urgent_first(session: Session, scopes: list[sa.ColumnElement[bool]],
                  where: list[sa.ColumnElement[bool]], urgent: sa.ColumnElement[bool],
                  newest_first: bool, page: int, per_page: int) -> list[Report]:
    """A page of the reports in any of `scopes` that meet `where`, the `urgent` ones first,
    each part newest (or oldest) first.

    Two index-ordered queries instead of one ORDER BY CASE: the urgent ones
    are few, and the rest come straight off the created_at index, so the first
    pages cost the same at a million reports as at a hundred.
    """
    order = _order(newest_first)
    n_urgent = count(session, _any(scopes), *where, urgent)
    offset = (max(page, 1) - 1) * per_page
    rows: list[Report] = []
    if offset < n_urgent:
        rows = list(session.scalars(sa.select(Report).where(_any(scopes), *where, urgent)
                                    .order_by(*order).offset(offset).limit(per_page)))
    if len(rows) < per_page:
        rows += _walk(session, scopes, [*where, sa.not_(urgent)], newest_first,
                      max(0, offset - n_urgent), per_page - len(rows))
    return rows


def _any(scopes: list[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    return scopes[0] if len(scopes) == 1 else sa.or_(*scopes)


def _order(newest_first: bool) -> tuple[Any, ...]:
    if newest_first:
        return Report.created_at.desc(), Report.id.desc()
    return Report.created_at, Report.id


def _walk(session: Session, scopes: list[sa.ColumnElement[bool]],
          where: list[sa.ColumnElement[bool]], newest_first: bool, skip: int,
          want: int) -> list[Report]:
    """`want` reports of `where` in any of `scopes`, after the first `skip` in time order.

    Each scope is walked along its own index and the walks merged here: an OR of
    them (a unit's own reports, or what was sent up to it) keeps SQLite from
    using either index's order, so it would read and sort every report in scope.
    """
    order = _order(newest_first)
    if len(scopes) == 1:
        return list(session.scalars(sa.select(Report).where(scopes[0], *where).order_by(*order)
                                    .offset(skip).limit(want)))
    seen: set[tuple[datetime, int]] = set()
    for scope in scopes:
        seen.update((at, rid) for at, rid in session.execute(
            sa.select(Report.created_at, Report.id).where(scope, *where).order_by(*order)
            .limit(skip + want)))
    ids = [rid for _, rid in sorted(seen, reverse=newest_first)[skip:skip + want]]
    found = {r.id: r for r in session.scalars(sa.select(Report).where(Report.id.in_(ids)))}
    return [found[rid] for rid in ids]


def status_counts(session: Session, user: User) -> dict[ReportStatus, int]:
    """How many reports `user` may see are in each status (every status present).

    Counted per clause of the user's scope (`access.disjoint`): a unit's reports from the
    (unit_id, status) index alone, then the few reported up to it from elsewhere. Under
    one OR of the two, PostgreSQL reads every report (0.5 s at a million reports for a
    county clerk).
    """
    parts = [sa.select(Report.status).where(clause)
             for clause in access.disjoint(access.report_scopes(session, user))]
    counted = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()
    rows = session.execute(sa.select(counted.c.status, sa.func.count()).group_by(counted.c.status))
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
    rows = _urgent_first(session, [queue_scope(session, user)], [],
                         Report.urgency == Urgency.URGENT, False, page, per_page)
    return rows, queue_count(session, user)


def queue_count(session: Session, user: User) -> int:
    """How many reports wait at `user`'s review level (the 待我审核 tab)."""
    return count(session, queue_scope(session, user))


def find(session: Session, user: User, tracking_no: str) -> Report | None:
    """The report numbered `tracking_no`, if `user` may see it."""
    return session.scalar(sa.select(Report).where(Report.tracking_no == tracking_no.strip(),
                                                  access.report_scope(session, user)))
