"""批示落实: what was done about a leader's instruction, by whom, by when, and who was told.

A 批示 (store.review.instructions) is carried out by one department by a date. That
is a row of the `transfers` table of kind `instruction` (see store.review.transfers:
the department sees the report, the deadline, and answers, as for a 转办).
An instruction's status is derived from that row, never stored: open (no
department yet), handling (with a department), done (the department reported
back). Reporting back is lifecycle's INSTRUCTION_DONE move: the report's
history keeps the result, the office is alerted to pass it to the leader's
office, and the reporter hears that the instruction was carried out (双反馈).
Nothing here commits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.errors import DomainError
from store.i18n import register, t
from store.models import Instruction, Report, ReportEvent, Role, Transfer, Unit, UnitKind, User, utcnow
from store.network import units
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import transfers
from store.review.transfers import INSTRUCTION, LEADERSHIP, LOCAL, OPEN, REPLIED

OPEN_STATUS, HANDLING, DONE = "open", "handling", "done"
STATUS_NAMES = {OPEN_STATUS: "待交办", HANDLING: "办理中", DONE: "已办结"}
MAX_DAYS = 365
TEXT_LIMIT = lifecycle.NOTE_LIMIT

register({
    "notice.instruction_assigned": {
        "zh": "请落实{leader}对 {no}《{title}》的批示，{due} 前报送办理结果。",
        "en": "Carry out the instruction of {leader} on {no} \"{title}\"; report back by {due}.",
    },
    "notice.instruction_due": {
        "zh": "提醒：{leader}对 {no}《{title}》的批示由{department}落实，今天（{due}）到期，尚未报送结果。",
        "en": "Reminder: {department} is to report on the instruction of {leader} on {no} \"{title}\" "
              "by today ({due}); nothing has come yet.",
    },
    "notice.instruction_done": {
        "zh": "{department}已报送{leader}对 {no}《{title}》批示的落实结果，请报{leader}办公室。",
        "en": "{department} reported how the instruction of {leader} on {no} \"{title}\" was carried "
              "out; pass it on to the leader's office.",
    },
})


class FollowUpError(DomainError):
    """A 批示落实 step refused; the message says why."""


@dataclass(frozen=True)
class FollowUp:
    """One instruction and what is being done about it."""

    instruction: Instruction
    report: Report
    row: Transfer | None  # the acting department's work, once assigned
    overdue: bool

    @property
    def status(self) -> str:
        return status_of(self.row)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]


def status_of(row: Transfer | None) -> str:
    if row is None:
        return OPEN_STATUS
    return DONE if row.status == REPLIED else HANDLING


def due_at(due_on: date) -> datetime:
    """The moment a deadline of `due_on` passes: the end of that day in the office's time."""
    return datetime.combine(due_on, time(23, 59, 59), LOCAL).astimezone(UTC)


def due_on(row: Transfer) -> date | None:
    return row.due_at.astimezone(LOCAL).date() if row.due_at is not None else None


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LOCAL).date()


def assign(session: Session, instruction: Instruction, user: User, *, department_id: int,
           due: date, note: str | None = None, now: datetime | None = None) -> Transfer:
    """Hand `instruction` to a department to carry out by `due`; its staff are alerted.

    One department per instruction: a second assignment, even one racing this
    one, is refused (the row's unique instruction id, inserted ON CONFLICT DO NOTHING).
    """
    report = session.get(Report, instruction.report_id)
    if report is None or user.role not in access.OFFICE_ROLES or not user.active \
            or not access.can_see(session, user, report):
        raise FollowUpError("无权交办这条批示。")
    department = units.usable(session, department_id, units.EVERYTHING, role="承办部门",
                              error=FollowUpError)
    if department.kind is not UnitKind.DEPARTMENT:
        raise FollowUpError(f"「{department.name}」不是承办部门，请选择一个部门。")
    first = today(now)
    if not first <= due <= first + timedelta(days=MAX_DAYS):
        raise FollowUpError(f"办理期限须在今天到 {MAX_DAYS} 天之内。")
    note = (note or "").strip() or None
    if note and len(note) > TEXT_LIMIT:
        raise FollowUpError(f"交办说明最多 {TEXT_LIMIT} 字。")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    row_id = session.scalar(
        insert(Transfer).values(kind=INSTRUCTION, report_id=report.id, department_id=department.id,
                             instruction_id=instruction.id, note=note, due_at=due_at(due),
                             status=OPEN, created_by_id=user.id, created_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["instruction_id"]).returning(Transfer.id))
    if row_id is None:
        raise FollowUpError("这条批示已经交办过了，请刷新页面查看承办部门。")
    row = session.get_one(Transfer, row_id)
    text = t("notice.instruction_assigned", "zh", leader=instruction.leader_title,
             no=report.tracking_no, title=report.title, due=due.isoformat())
    for member in transfers.department_staff(session, department):
        notices.notify(session, member, "instruction", text, report)
    return row


def report_back(session: Session, row: Transfer, user: User, text: str) -> ReportEvent:
    """The acting department reports what it did: the instruction is done, and both sides hear.

    The result stays in the office (the report's history and an alert to the
    staff who follow the instruction, to pass to the leader's office); the
    reporter is told the instruction was carried out, in the leader's title
    only, never the leader's words nor the department's report.
    """
    if row.kind != INSTRUCTION or not access.can_reply_transfer(session, user, row):
        raise FollowUpError("无权报送这条批示的落实结果。")
    text = (text or "").strip()
    if not text:
        raise FollowUpError("请填写批示落实情况。")
    if len(text) > TEXT_LIMIT:
        raise FollowUpError(f"落实情况最多 {TEXT_LIMIT} 字，现在 {len(text)} 字。")
    report, instruction, department = row.report, row.instruction, row.department
    assert instruction is not None  # every instruction row names its 批示
    try:
        lifecycle.permit(session, report, Action.INSTRUCTION_DONE, user=user)
    except lifecycle.TransitionError as exc:
        raise FollowUpError(t(exc.code, **exc.params)) from exc
    now = utcnow()
    # Claimed by one conditional UPDATE: of two answers at once, one wins.
    claimed = session.execute(
        sa.update(Transfer).where(Transfer.id == row.id, Transfer.status == OPEN)
        .values(status=REPLIED, reply=text, replied_by_id=user.id, replied_at=now)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise FollowUpError("落实结果已经报送过了。")
    session.refresh(row)
    context = {"leader": instruction.leader_title, "department": department.name}
    try:
        event = lifecycle.apply(session, report, Action.INSTRUCTION_DONE, user=user, note=text,
                                context=context)
    except lifecycle.TransitionError as exc:  # the report moved meanwhile: the caller rolls back
        raise FollowUpError(t(exc.code, **exc.params)) from exc
    alert = t("notice.instruction_done", "zh", no=report.tracking_no, title=report.title, **context)
    for member in _office(session, row, report, extra=LEADERSHIP):
        if member.id != user.id:
            notices.notify(session, member, "instruction_done", alert, report)
    session.flush()
    return event


def _office(session: Session, row: Transfer, report: Report,
            extra: frozenset[Role] = frozenset()) -> list[User]:
    """Office staff who follow this instruction: who recorded it, who assigned it, and `extra` roles."""
    assert row.instruction is not None
    ids = {row.instruction.recorded_by_id, row.created_by_id}
    people = [u for u in session.scalars(sa.select(User).where(User.id.in_(ids)))
              if u.active and access.can_see(session, u, report)]
    people += [u for u in notices.staff_who_see(session, report, extra) if u.id not in ids]
    return sorted(people, key=lambda u: u.id)


def remind(session: Session, now: datetime | None = None) -> int:
    """Remind the acting department and the office of instructions due today (or missed).

    Each due date is reminded once: the row is claimed by a conditional UPDATE
    of `reminded_for`, so two schedulers ticking at once send one reminder.
    Returns how many instructions were reminded.
    """
    now = now or utcnow()
    day = today(now)
    candidates = list(session.scalars(
        sa.select(Transfer).where(Transfer.kind == INSTRUCTION, Transfer.status == OPEN,
                                  Transfer.due_at.is_not(None), Transfer.due_at <= due_at(day))
        .order_by(Transfer.due_at, Transfer.id)))
    reminded = 0
    for row in candidates:
        due = due_on(row)
        claimed = session.execute(
            sa.update(Transfer).where(Transfer.id == row.id, Transfer.status == OPEN,
                                      sa.or_(Transfer.reminded_for.is_(None),
                                             Transfer.reminded_for != due))
            .values(reminded_for=due).execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            continue
        report, instruction = row.report, row.instruction
        assert instruction is not None and due is not None
        text = t("notice.instruction_due", "zh", leader=instruction.leader_title,
                 department=row.department.name, no=report.tracking_no, title=report.title,
                 due=due.isoformat())
        people = {u.id: u for u in transfers.department_staff(session, row.department)}
        people.update({u.id: u for u in _office(session, row, report)})
        for member in people.values():
            notices.notify(session, member, "instruction_due", text, report)
        reminded += 1
    session.flush()
    return reminded


def visible_instruction(session: Session, user: User, instruction_id: int) -> Instruction | None:
    """Instruction `instruction_id` if `user` may see its report; None alike if there is none."""
    instruction = session.get(Instruction, instruction_id)
    if instruction is None:
        return None
    return instruction if access.visible_report(session, user, instruction.report_id) else None


def for_report(session: Session, report: Report) -> dict[int, Transfer]:
    """The acting department's row of each of `report`'s instructions, by instruction id."""
    rows = session.scalars(sa.select(Transfer).where(Transfer.report_id == report.id,
                                                     Transfer.kind == INSTRUCTION))
    return {r.instruction_id: r for r in rows if r.instruction_id is not None}


@dataclass(frozen=True)
class Board:
    """The 批示落实 page: the instructions shown, and open ones counted per leader and per unit."""

    items: list[FollowUp]
    by_leader: list[tuple[str, int, int]]  # leader, open, overdue
    by_unit: list[tuple[Unit | None, int, int]]  # acting department (None: not yet assigned)


def board(session: Session, user: User, *, leader: str | None = None, unit_id: int | None = None,
          include_done: bool = False, now: datetime | None = None) -> Board:
    """Instructions `user` may see, filtered by leader (`"title name"`) and acting unit.

    Department staff see only the instructions their unit (or one below it) carries
    out. Open ones first, the most overdue on top, then by the date of the 批示.
    """
    now = now or utcnow()
    query = (sa.select(Instruction, Report, Transfer)
             .join(Report, Report.id == Instruction.report_id)
             .outerjoin(Transfer, sa.and_(Transfer.instruction_id == Instruction.id,
                                          Transfer.kind == INSTRUCTION))
             .where(access.report_scope(session, user)))
    if user.role is Role.DEPARTMENT:
        if user.unit_id is None:
            return Board([], [], [])
        query = query.where(Transfer.department_id.in_(access.unit_subtree(session, user.unit_id)))
    everything = [FollowUp(i, r, tr, tr is not None and transfers.is_overdue(tr, now))
                  for i, r, tr in session.execute(query)]
    open_items = [f for f in everything if f.status != DONE]
    per_leader: Counter[str] = Counter(leader_of(f.instruction) for f in open_items)
    late_leader: Counter[str] = Counter(leader_of(f.instruction) for f in open_items if f.overdue)
    per_unit: Counter[int | None] = Counter(f.row.department_id if f.row else None
                                            for f in open_items)
    late_unit: Counter[int | None] = Counter(f.row.department_id if f.row else None
                                             for f in open_items if f.overdue)
    names = {u.id: u for u in session.scalars(
        sa.select(Unit).where(Unit.id.in_([k for k in per_unit if k is not None])))}
    shown = everything if include_done else open_items
    if leader:
        shown = [f for f in shown if leader_of(f.instruction) == leader]
    if unit_id is not None:
        below = access.unit_subtree(session, unit_id)
        shown = [f for f in shown if f.row is not None and f.row.department_id in below]
    shown.sort(key=lambda f: (f.status == DONE, not f.overdue,
                              f.row.due_at if f.row and f.row.due_at else datetime.max.replace(tzinfo=UTC),
                              f.instruction.instructed_on, f.instruction.id))
    return Board(
        shown,
        sorted(((name, n, late_leader[name]) for name, n in per_leader.items()),
               key=lambda x: (-x[1], x[0])),
        sorted(((names.get(k) if k is not None else None, n, late_unit[k])
                for k, n in per_unit.items()),
               key=lambda x: (x[0] is not None, -x[1], x[0].name if x[0] else "")),
    )


def leader_of(instruction: Instruction) -> str:
    """How the list names a leader: title, then name."""
    return f"{instruction.leader_title} {instruction.leader_name}"
