"""Reading issues back: lists by state, one issue, the reports an issue may take, where a report went."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from store import access
from store.errors import DomainError
from store.models import IssueStatus, JournalEvent, JournalIssue, JournalItem, Report, User
from store.outputs.journal import rules

PICK_LIMIT = 200


class NotFound(DomainError):
    pass


def issue(session: Session, issue_id: int) -> JournalIssue:
    found = session.get(JournalIssue, issue_id, options=[selectinload(JournalIssue.items)])
    if found is None:
        raise NotFound(f"没有编号为 {issue_id} 的期刊 / no issue #{issue_id}")
    return found


def issues(session: Session, status: IssueStatus | None = None, series_id: int | None = None,
           limit: int = 100) -> list[JournalIssue]:
    """Newest first: drafts by when they were made, the others by their numbers."""
    query = sa.select(JournalIssue).options(selectinload(JournalIssue.items),
                                            selectinload(JournalIssue.series))
    if status is not None:
        query = query.where(JournalIssue.status == status)
    if series_id is not None:
        query = query.where(JournalIssue.series_id == series_id)
    query = query.order_by(JournalIssue.total_number.desc().nulls_first(),
                           JournalIssue.id.desc()).limit(limit)
    return list(session.scalars(query))


def counts(session: Session) -> dict[IssueStatus, int]:
    rows = session.execute(sa.select(JournalIssue.status, sa.func.count()).group_by(JournalIssue.status))
    out = dict.fromkeys(IssueStatus, 0)
    out.update({IssueStatus(s): n for s, n in rows})
    return out


def carriable(session: Session, user: User, limit: int = PICK_LIMIT) -> list[Report]:
    """Reports `user` may see that an issue may carry and no published issue has carried yet."""
    return list(session.scalars(
        sa.select(Report).where(access.report_scope(session, user), rules.may_carry(),
                                sa.not_(rules.carried()))
        .order_by(Report.urgency.desc(), Report.created_at.desc(), Report.id.desc()).limit(limit)
    ))


def by_tracking_numbers(session: Session, numbers: list[str]) -> list[Report]:
    """The reports `numbers` name, in that order; a clear refusal naming any unknown one."""
    wanted = [n.strip() for n in numbers if n.strip()]
    found = {r.tracking_no: r for r in session.scalars(
        sa.select(Report).where(Report.tracking_no.in_(wanted)))}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise NotFound(f"找不到信息：{'、'.join(missing)} / no report numbered {', '.join(missing)}")
    return [found[n] for n in dict.fromkeys(wanted)]


def carried_in(session: Session, report: Report) -> list[JournalIssue]:
    """The signed-off and published issues carrying `report`."""
    return list(session.scalars(
        sa.select(JournalIssue).join(JournalItem, JournalItem.issue_id == JournalIssue.id)
        .where(JournalItem.report_id == report.id, JournalIssue.status != IssueStatus.DRAFT)
        .order_by(JournalIssue.id)
    ))


def visible_reports(session: Session, user: User, ids: list[int]) -> list[Report]:
    """The reports with these ids that `user` may see, in the order given (the others left out)."""
    found = {r.id: r for r in session.scalars(
        sa.select(Report).where(Report.id.in_(ids), access.report_scope(session, user)))}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def events(session: Session, issue: JournalIssue) -> list[JournalEvent]:
    """What happened to `issue`, oldest first."""
    return list(session.scalars(sa.select(JournalEvent).where(JournalEvent.issue_id == issue.id)
                                .order_by(JournalEvent.id)))
