"""批示落实 after it was assigned: 改派 to another department, and 督办 once the deadline passed.

Both are kept as `FollowUpStep` rows beside the instruction's one `transfers`
row (store.review.followup), so the board shows who had it before and when
the office's leadership was told it was late. A reassignment moves the open
row to the new department in one conditional UPDATE (of two clerks at once,
one wins; a department that reported back meanwhile keeps its answer) and
starts its reminders and escalation afresh for the new date. `escalate` runs
with the daily reminder job: each instruction past its deadline with nothing
reported is escalated once per deadline, claimed by a conditional UPDATE of
`escalated_at`, to the office's leadership and the unit's administrators who
see the report (to press the department and answer to the leader's office),
and to who recorded and assigned it. Nothing here commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.i18n import register, t
from store.models import FollowUpStep, Transfer, UnitKind, User, utcnow
from store.network import units
from store.review import followup, transfers
from store.review.followup import FollowUpError
from store.review.transfers import INSTRUCTION, LEADERSHIP, OPEN

REASSIGNED, ESCALATED = "reassigned", "escalated"
STEP_NAMES = {REASSIGNED: "改派", ESCALATED: "督办"}

register({
    "notice.instruction_reassigned": {
        "zh": "{leader}对 {no}《{title}》的批示已改由{department}落实，期限 {due}。",
        "en": "The instruction of {leader} on {no} \"{title}\" is now carried out by {department}, "
              "by {due}.",
    },
    "notice.instruction_escalated": {
        "zh": "督办：{leader}对 {no}《{title}》的批示由{department}落实，期限 {due} 已过，尚未报送"
              "落实结果。请督促办理，并向{leader}办公室说明。",
        "en": "Overdue: {department} was to report on the instruction of {leader} on {no} "
              "\"{title}\" by {due} and has not; press them and tell the leader's office.",
    },
})


def reassign(session: Session, row: Transfer, user: User, *, department_id: int,
             due: date | None = None, note: str | None = None,
             now: datetime | None = None) -> FollowUpStep:
    """Hand an open instruction to another department, by `due` (None: the same date).

    Refused: a user who may not assign it, an instruction already reported back,
    the same department, a unit that is not a usable department, a date outside
    today .. a year, a reason that is missing or too long.
    """
    report = row.report
    if row.kind != INSTRUCTION or user.role not in access.OFFICE_ROLES or not user.active \
            or not access.can_see(session, user, report):
        raise FollowUpError("无权改派这条批示。")
    if row.status != OPEN:
        raise FollowUpError("这条批示已报送落实结果，不能再改派。")
    department = units.usable(session, department_id, units.EVERYTHING, role="承办部门",
                              error=FollowUpError)
    if department.kind is not UnitKind.DEPARTMENT:
        raise FollowUpError(f"「{department.name}」不是承办部门，请选择一个部门。")
    if department.id == row.department_id:
        raise FollowUpError(f"这条批示已由{department.name}落实，请选择另一个部门。")
    first = followup.today(now)
    new_due = followup.due_at(due) if due is not None else row.due_at
    if due is not None and not first <= due <= first + timedelta(days=followup.MAX_DAYS):
        raise FollowUpError(f"办理期限须在今天到 {followup.MAX_DAYS} 天之内。")
    note = (note or "").strip()
    if not note:
        raise FollowUpError("请写明改派的原因。")
    if len(note) > followup.TEXT_LIMIT:
        raise FollowUpError(f"改派原因最多 {followup.TEXT_LIMIT} 字。")
    before = row.department_id
    # The old department's deadline, reminder and 督办 do not carry over to the new one.
    moved = session.execute(
        sa.update(Transfer).where(Transfer.id == row.id, Transfer.status == OPEN,
                                  Transfer.department_id == before)
        .values(department_id=department.id, due_at=new_due, reminded_for=None,
                escalated_at=None)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if moved != 1:
        raise FollowUpError("这条批示刚刚有了变化（已改派或已报送结果），请刷新页面。")
    session.refresh(row)
    step = FollowUpStep(transfer_id=row.id, action=REASSIGNED, from_department_id=before,
                        to_department_id=department.id, due_at=new_due, note=note,
                        user_id=user.id, created_at=now or utcnow())
    session.add(step)
    instruction = row.instruction
    assert instruction is not None
    due_on = followup.due_on(row)
    text = t("notice.instruction_reassigned", "zh", leader=instruction.leader_title,
             no=report.tracking_no, title=report.title, department=department.name,
             due=due_on.isoformat() if due_on else "")
    people = {u.id: u for u in transfers.department_staff(session, department)}
    old = session.get(type(department), before)
    if old is not None:
        people.update({u.id: u for u in transfers.department_staff(session, old)})
    for member in people.values():
        notices.notify(session, member, "instruction", text, report)
    session.flush()
    return step


def escalate(session: Session, now: datetime | None = None) -> int:
    """督办 every open instruction whose deadline passed; returns how many were escalated."""
    now = now or utcnow()
    late = list(session.scalars(
        sa.select(Transfer).where(Transfer.kind == INSTRUCTION, Transfer.status == OPEN,
                                  Transfer.escalated_at.is_(None), Transfer.due_at.is_not(None),
                                  Transfer.due_at < now)
        .order_by(Transfer.due_at, Transfer.id)))
    done = 0
    for row in late:
        claimed = session.execute(
            sa.update(Transfer).where(Transfer.id == row.id, Transfer.status == OPEN,
                                      Transfer.escalated_at.is_(None))
            .values(escalated_at=now).execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            continue
        report, instruction = row.report, row.instruction
        assert instruction is not None
        due_on = followup.due_on(row)
        text = t("notice.instruction_escalated", "zh", leader=instruction.leader_title,
                 department=row.department.name, no=report.tracking_no, title=report.title,
                 due=due_on.isoformat() if due_on else "")
        session.add(FollowUpStep(transfer_id=row.id, action=ESCALATED,
                                 from_department_id=row.department_id, due_at=row.due_at,
                                 created_at=now))
        for member in _escalation_people(session, row):
            notices.notify(session, member, "instruction_escalated", text, report)
        done += 1
    session.flush()
    return done


def _escalation_people(session: Session, row: Transfer) -> list[User]:
    """The office's leadership and administrators whose unit answers for the report, and
    who recorded and assigned the instruction (who may be of a unit the report was sent up to,
    as `store.review.followup.assign` allows)."""
    assert row.instruction is not None
    people = {u.id: u for u in notices.staff_who_see(session, row.report, LEADERSHIP)}
    for user_id in (row.instruction.recorded_by_id, row.created_by_id):
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and user.active and access.can_see(session, user, row.report):
            people[user.id] = user
    return sorted(people.values(), key=lambda u: u.id)


def history(session: Session, rows: list[Transfer]) -> dict[int, list[FollowUpStep]]:
    """Each row's steps, oldest first, by row id (rows without steps left out)."""
    out: dict[int, list[FollowUpStep]] = {}
    ids = [r.id for r in rows]
    if not ids:
        return out
    for step in session.scalars(sa.select(FollowUpStep).where(FollowUpStep.transfer_id.in_(ids))
                                .order_by(FollowUpStep.id)):
        out.setdefault(step.transfer_id, []).append(step)
    return out
