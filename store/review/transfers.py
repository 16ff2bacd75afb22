"""转办: sending an adopted report to a department, its deadline, its reply, and chasing it.

The `transfers` table holds every piece of work handed to a department, of
three kinds: 转办 (here), 批示落实 (store.review.followup) and 函送参考
(store.review.reference). They share the department's view of it (scope, staff,
deadline, reply, overdue marks); each kind's module owns what its answer does.

`transfer` and `reply` go through the lifecycle (TRANSFER, DEPT_REPLY), so the
reporter hears of both, and of the date the department is due to reply by;
`chase` is the scheduler's daily round: a reminder to the department for each
overdue transfer (on working days; urgent ones every day), and one escalation
(督办) to the office's leadership once the second deadline has passed.
Deadlines count working days in the office's calendar, or clock hours for an
urgent report (`store.review.deadlines`). Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.i18n import register, t
from store.models import Report, ReportEvent, Role, Transfer, Unit, UnitKind, Urgency, User, utcnow
from store.reports import lifecycle
from store.reports.lifecycle import Action, TransitionError
from store.review import deadlines
from store.workdays import OFFICE_TZ

OPEN, REPLIED = "open", "replied"
TRANSFER, INSTRUCTION, REFERENCE = "transfer", "instruction", "reference"
KINDS = (TRANSFER, INSTRUCTION, REFERENCE)
# Deadlines are shown, and "one reminder a day" is counted, in the office's time.
LOCAL = OFFICE_TZ
MAX_DAYS = deadlines.MAX_DAYS
MAX_HOURS = deadlines.MAX_HOURS
# Who hears of an escalation: the office's leadership, above the clerk.
LEADERSHIP = frozenset({Role.DIRECTOR, Role.SECRETARY_GENERAL, Role.ADMIN})

register({
    "notice.transfer_replied": {
        "zh": "{department} 已回复转办事项 {no}《{title}》。",
        "en": "{department} replied to the transfer of {no} \"{title}\".",
    },
    "error.not_a_department": {
        "zh": "请选择一个承办部门。", "en": "Choose a department to transfer to.",
    },
    "error.bad_days": {
        "zh": "期限须为 1～{max} 个工作日。", "en": "Deadlines must be between 1 and {max} working days.",
    },
    "error.bad_hours": {
        "zh": "紧急事项的期限须为 1～{max} 小时。",
        "en": "Urgent deadlines must be between 1 and {max} hours.",
    },
    "error.transfer_answered": {
        "zh": "该转办事项已经回复过了。", "en": "This transfer has already been answered.",
    },
})


def local_date(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d")


def transfer(session: Session, report: Report, user: User, *, department: Unit,
             due_days: int | None = None, escalate_days: int | None = None,
             due_hours: int | None = None, escalate_hours: int | None = None,
             note: str | None = None, expected_version: int | None = None,
             now: datetime | None = None) -> Transfer:
    """Send `report` to `department`, due and then escalated after the office's limits.

    `due_days` / `escalate_days` (working days) or `due_hours` / `escalate_hours`
    (clock hours) override the limits for this transfer; the escalation counts
    from the due date. The reporter is told which department has it and by when
    it is due to reply; the department's staff get a notice (and a Telegram
    message if they linked it).
    """
    if department.kind is not UnitKind.DEPARTMENT:
        raise TransitionError("error.not_a_department")
    for days in (due_days, escalate_days):
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise TransitionError("error.bad_days", max=MAX_DAYS)
    for hours in (due_hours, escalate_hours):
        if hours is not None and not 1 <= hours <= MAX_HOURS:
            raise TransitionError("error.bad_hours", max=MAX_HOURS)
    now = now or utcnow()
    due_at, escalate_at = _deadlines(session, report, now, due_days, due_hours, escalate_days,
                                     escalate_hours)
    lifecycle.apply(session, report, Action.TRANSFER, user=user, note=note,
                    expected_version=expected_version, now=now,
                    context={"department": department.name, "due": deadlines.shown(due_at)})
    row = Transfer(kind=TRANSFER, report_id=report.id, department_id=department.id,
                   note=(note or "").strip() or None,
                   due_at=due_at, escalate_at=escalate_at,
                   status=OPEN, created_by_id=user.id, created_at=now)
    session.add(row)
    session.flush()
    text = t("notice.transfer", "zh", no=report.tracking_no, title=report.title,
             due=deadlines.shown(due_at))
    for member in department_staff(session, department):
        notices.notify(session, member, "transfer", text, report)
    return row


def _deadlines(session: Session, report: Report, now: datetime, due_days: int | None,
               due_hours: int | None, escalate_days: int | None,
               escalate_hours: int | None) -> tuple[datetime, datetime]:
    """When a transfer made `now` is due and escalated: what was asked, else the office's limits."""
    rules = deadlines.rules(session)
    urgent = report.urgency is Urgency.URGENT
    if due_days is None and due_hours is None:
        due_at = rules.due("transfer", now, urgent=urgent)
    else:
        due_at = rules.after(now, days=due_days, hours=due_hours)
    if escalate_days is None and escalate_hours is None:
        escalate_at = rules.due("escalate", due_at, urgent=urgent)
    else:
        escalate_at = rules.after(due_at, days=escalate_days, hours=escalate_hours)
    return due_at, escalate_at


def department_staff(session: Session, department: Unit) -> list[User]:
    """Active department staff who answer transfers to `department` (their unit or one above)."""
    users = session.scalars(sa.select(User).where(
        User.active.is_(True), User.role == Role.DEPARTMENT, User.unit_id.is_not(None)))
    return [u for u in users
            if department.id in access.unit_subtree(session, u.unit_id)]  # type: ignore[arg-type]


def reply(session: Session, transfer_row: Transfer, user: User, text: str) -> ReportEvent:
    """The department answers (办理回复): the report becomes handled and the reporter reads `text`."""
    if transfer_row.kind != TRANSFER or not access.can_reply_transfer(session, user, transfer_row):
        raise TransitionError("error.forbidden")
    if transfer_row.status != OPEN:
        raise TransitionError("error.transfer_answered")
    report = transfer_row.report
    department = transfer_row.department
    event = lifecycle.apply(session, report, Action.DEPT_REPLY, user=user, note=text,
                            context={"department": department.name})
    transfer_row.status = REPLIED
    transfer_row.reply = event.note
    transfer_row.replied_by_id = user.id
    transfer_row.replied_at = event.created_at
    creator = session.get(User, transfer_row.created_by_id)
    if creator is not None and creator.active and creator.id != user.id:
        notices.notify(session, creator, "transfer_replied",
                       t("notice.transfer_replied", "zh", department=department.name,
                         no=report.tracking_no, title=report.title), report)
    session.flush()
    return event


def for_user(session: Session, user: User, open_only: bool = False,
             kinds: tuple[str, ...] = (TRANSFER,)) -> list[Transfer]:
    """Rows of `kinds` `user` may see, open ones first by deadline, then the newest answered.

    Department staff see only work sent to their own unit (or the units below
    it), never another department's, even on a report both handled.
    """
    query = (sa.select(Transfer).join(Report, Report.id == Transfer.report_id)
             .where(access.report_scope(session, user), Transfer.kind.in_(kinds)))
    if user.role is Role.DEPARTMENT:
        if user.unit_id is None:
            return []
        query = query.where(Transfer.department_id.in_(access.unit_subtree(session, user.unit_id)))
    if open_only:
        query = query.where(Transfer.status == OPEN)
    query = query.order_by(sa.case((Transfer.status == OPEN, 0), else_=1),
                           Transfer.due_at.is_(None), Transfer.due_at, Transfer.id.desc())
    return list(session.scalars(query))


def answerable(session: Session, user: User, row_id: int, kind: str) -> Transfer | None:
    """Row `row_id` of `kind` if `user` may answer it (its department's staff, or an admin).

    None alike for no such row, another kind and another department's work,
    so a guessed id tells nothing.
    """
    row = session.get(Transfer, row_id)
    if row is None or row.kind != kind or not access.can_reply_transfer(session, user, row):
        return None
    return row


def for_report(session: Session, report: Report, kind: str = TRANSFER) -> list[Transfer]:
    """Every row of `kind` on `report`, oldest first."""
    return list(session.scalars(
        sa.select(Transfer).where(Transfer.report_id == report.id, Transfer.kind == kind)
        .order_by(Transfer.id)))


def is_overdue(transfer_row: Transfer, now: datetime | None = None) -> bool:
    """Open and past its deadline (work without a deadline is never overdue)."""
    due = transfer_row.due_at
    return transfer_row.status == OPEN and due is not None and (now or utcnow()) > due


def chase(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Remind departments of overdue transfers (once a working day) and escalate the long-overdue.

    Returns how many transfers were reminded and escalated this round.
    """
    now = now or utcnow()
    overdue = session.scalars(
        sa.select(Transfer).where(Transfer.kind == TRANSFER, Transfer.status == OPEN,
                                  Transfer.due_at < now)
        .order_by(Transfer.due_at, Transfer.id))
    # Departments are not chased on their days off, unless the report is urgent.
    working = deadlines.rules(session).is_workday(now)
    reminded = escalated = 0
    for row in overdue:
        report, department = row.report, row.department
        assert row.due_at is not None and row.escalate_at is not None  # every 转办 has both
        due = deadlines.shown(row.due_at)
        if (working or report.urgency is Urgency.URGENT) and (
                row.last_reminded_at is None or local_date(row.last_reminded_at) < local_date(now)):
            text = t("notice.overdue", "zh", no=report.tracking_no, title=report.title, due=due)
            for member in department_staff(session, department):
                notices.notify(session, member, "overdue", text, report)
            row.last_reminded_at = now
            reminded += 1
        if row.escalated_at is None and now > row.escalate_at:
            text = t("notice.escalated", "zh", department=department.name,
                     no=report.tracking_no, title=report.title, due=due)
            for member in notices.staff_who_see(session, report, LEADERSHIP):
                notices.notify(session, member, "escalated", text, report)
            row.escalated_at = now
            escalated += 1
    session.flush()
    return {"reminded": reminded, "escalated": escalated}
