"""What is late (逾期): reports past their review level's or answer's deadline, transfers past theirs.

The inbox's 逾期 tab and badges and the search filter read `clause` and
`late_among`; the scheduler's `chase` reminds the reviewers of a level once
its deadline has passed (on working days; urgent reports at once). Transfers
are chased by `store.review.transfers.chase`. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.i18n import register, t
from store.models import Report, Role, Transfer, Urgency, User, utcnow
from store.reports import lifecycle
from store.review import chain as review
from store.review import deadlines

register({
    "notice.review_overdue": {
        "zh": "【逾期】{no}《{title}》在{level}已超过期限（{due}），请尽快处理。",
        "en": "[OVERDUE] {no} \"{title}\" is past its deadline at {level} ({due}).",
    },
    "late.review": {"zh": "{level}逾期", "en": "{level} overdue"},
    "late.answer": {"zh": "答复逾期", "en": "Answer overdue"},
    "late.transfer": {"zh": "转办逾期", "en": "Transfer overdue"},
})


def _late_review(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Report.status.in_(lifecycle.PENDING),
                   sa.or_(Report.due_at < now, Report.answer_due_at < now))


def _late_transfer(now: datetime) -> sa.ColumnElement[bool]:
    return sa.exists().where(Transfer.report_id == Report.id, Transfer.status == "open",
                             Transfer.due_at < now)


def clause(now: datetime | None = None) -> sa.ColumnElement[bool]:
    """Reports late now: in review past a deadline, or with an open transfer past its own."""
    now = now or utcnow()
    return sa.or_(_late_review(now), _late_transfer(now))


def _late_ids(session: Session, user: User, now: datetime) -> sa.CompoundSelect:
    """Ids of the late reports `user` may see: two index-backed selects, not one OR."""
    scope = access.report_scope(session, user)
    return sa.union(
        sa.select(Report.id).where(scope, _late_review(now)),
        sa.select(Report.id).join(Transfer, Transfer.report_id == Report.id)
        .where(scope, Transfer.status == "open", Transfer.due_at < now))


def count(session: Session, user: User, now: datetime | None = None) -> int:
    """How many reports `user` may see are late (the inbox's 逾期 tab)."""
    ids = _late_ids(session, user, now or utcnow()).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(ids)) or 0


def page(session: Session, user: User, page_no: int = 1, per_page: int = 20,
         now: datetime | None = None) -> tuple[list[Report], int]:
    """The late reports `user` may see, the longest waiting first; (reports, total)."""
    now = now or utcnow()
    ids = _late_ids(session, user, now).subquery()
    total = session.scalar(sa.select(sa.func.count()).select_from(ids)) or 0
    rows = session.scalars(
        sa.select(Report).where(Report.id.in_(sa.select(ids.c.id)))
        .order_by(Report.created_at, Report.id)
        .offset((max(page_no, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def late_among(session: Session, reports: list[Report], now: datetime | None = None,
               lang: str = "zh") -> dict[int, list[str]]:
    """What is late about each of `reports` (the inbox's badges), by report id; on time: absent."""
    now = now or utcnow()
    levels = review.chain(session)
    out: dict[int, list[str]] = {}
    for report in reports:
        if report.status not in lifecycle.PENDING:
            continue
        marks = []
        if report.due_at is not None and report.due_at < now:
            level = review.level_at(levels, report.review_level)
            marks.append(t("late.review", lang, level=level.label(lang)))
        if report.answer_due_at is not None and report.answer_due_at < now:
            marks.append(t("late.answer", lang))
        if marks:
            out[report.id] = marks
    ids = [r.id for r in reports]
    if ids:
        for report_id in session.scalars(
                sa.select(Transfer.report_id).where(Transfer.report_id.in_(ids), Transfer.status == "open",
                                                    Transfer.due_at < now).distinct()):
            out.setdefault(report_id, []).append(t("late.transfer", lang))
    return out


def chase(session: Session, now: datetime | None = None) -> int:
    """Tell each late report's current level (and admins) once that its deadline has passed.

    On the office's days off only urgent reports are chased. Each report is
    claimed with one UPDATE (`chased_at` still empty), so two schedulers never
    remind twice. Returns how many reports were chased.
    """
    now = now or utcnow()
    where = [Report.status.in_(lifecycle.PENDING), Report.due_at < now, Report.chased_at.is_(None)]
    if not deadlines.rules(session).is_workday(now):
        where.append(Report.urgency == Urgency.URGENT)
    claimed = list(session.scalars(
        sa.update(Report).where(*where).values(chased_at=now, updated_at=Report.updated_at)
        .returning(Report.id).execution_options(synchronize_session=False)))
    levels = review.chain(session)
    for report in session.scalars(sa.select(Report).where(Report.id.in_(claimed)).order_by(Report.id)):
        level = review.level_at(levels, report.review_level)
        text = t("notice.review_overdue", "zh", no=report.tracking_no, title=report.title,
                 level=level.label(), due=deadlines.shown(report.due_at))
        for user in notices.staff_who_see(session, report, level.roles | {Role.ADMIN}):
            notices.notify(session, user, "overdue", text, report)
    session.flush()
    return len(claimed)
