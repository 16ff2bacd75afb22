"""函送参考: a report the office did not adopt, sent to a department for reference, and its reply.

A reference is a row of the `transfers` table of kind `reference` (see
store.review.transfers): the department sees the report in its console and may
answer. Sending is lifecycle's REFER move and answering its REFER_REPLY move,
so the report's history keeps both and the reporter hears of both: that it
was passed on, and then the department's answer, which the reply form says
will be passed on. Neither changes the report's status: it stays 不采用.
Nothing here commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.errors import DomainError
from store.i18n import register, t
from store.models import Report, ReportEvent, ReportStatus, Transfer, UnitKind, User, utcnow
from store.network import units
from store.outputs import adoption
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import transfers
from store.review.transfers import OPEN, REFERENCE, REPLIED

TEXT_LIMIT = lifecycle.NOTE_LIMIT
# Statuses in which the report was adopted: it goes to a department by 转办, not for reference.

register({
    "notice.reference": {
        "zh": "政协办公室函送 {no}《{title}》供参考，如有意见请在“函送参考”中回复。",
        "en": "The office sent {no} \"{title}\" to you for reference; answer under 函送参考 if you wish.",
    },
    "notice.reference_replied": {
        "zh": "{department} 已回复函送参考的 {no}《{title}》。",
        "en": "{department} answered the reference of {no} \"{title}\".",
    },
})


class ReferenceError(DomainError):
    """A 函送参考 step refused; the message says why."""


def send(session: Session, report: Report, user: User, *, department_id: int,
         note: str | None = None, expected_version: int | None = None) -> Transfer:
    """Send `report`, not adopted, to a department for reference; the reporter is told.

    Refused for a report that was adopted (that is a 转办), for a retired unit or
    one that is not a department, and while the same department still has it
    open (one INSERT ON CONFLICT DO NOTHING on a partial unique index: two
    clicks at once send it once).
    """
    if adoption.highest(session, report) is not None:
        raise ReferenceError("这条信息已被采用，请用“转办”交有关部门办理，不必函送参考。")
    if report.status is not ReportStatus.NOT_ADOPTED:
        raise ReferenceError("只有不予采用的信息才能函送参考。")
    try:
        lifecycle.permit(session, report, Action.REFER, user=user,
                         expected_version=expected_version)
    except lifecycle.TransitionError as exc:
        raise ReferenceError(t(exc.code, **exc.params)) from exc
    department = units.usable(session, department_id, units.EVERYTHING, role="承办部门",
                              error=ReferenceError)
    if department.kind is not UnitKind.DEPARTMENT:
        raise ReferenceError(f"「{department.name}」不是有关部门，请选择一个部门。")
    note = (note or "").strip() or None
    if note and len(note) > TEXT_LIMIT:
        raise ReferenceError(f"函送说明最多 {TEXT_LIMIT} 字，现在 {len(note)} 字。")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    row_id = session.scalar(
        insert(Transfer).values(kind=REFERENCE, report_id=report.id, department_id=department.id,
                             note=note, status=OPEN, created_by_id=user.id, created_at=utcnow())
        .on_conflict_do_nothing(
            index_elements=["report_id", "department_id"],
            index_where=sa.text(f"kind = '{REFERENCE}' AND status = '{OPEN}'"))
        .returning(Transfer.id))
    if row_id is None:
        raise ReferenceError(f"这条信息已函送{department.name}参考，尚未回复，不必重复函送。")
    try:
        lifecycle.apply(session, report, Action.REFER, user=user, note=note,
                        expected_version=expected_version, context={"department": department.name})
    except lifecycle.TransitionError as exc:  # the report moved meanwhile: the caller rolls back
        raise ReferenceError(t(exc.code, **exc.params)) from exc
    text = t("notice.reference", "zh", no=report.tracking_no, title=report.title)
    for member in transfers.department_staff(session, department):
        notices.notify(session, member, "reference", text, report)
    return session.get_one(Transfer, row_id)


def reply(session: Session, row: Transfer, user: User, text: str) -> ReportEvent:
    """The department answers a reference; the office is alerted and the reporter reads `text`."""
    if row.kind != REFERENCE or not access.can_reply_transfer(session, user, row):
        raise ReferenceError("无权回复这件函送参考。")
    text = (text or "").strip()
    if not text:
        raise ReferenceError("请填写回复内容。")
    if len(text) > TEXT_LIMIT:
        raise ReferenceError(f"回复最多 {TEXT_LIMIT} 字，现在 {len(text)} 字。")
    report, department = row.report, row.department
    try:
        lifecycle.permit(session, report, Action.REFER_REPLY, user=user)
    except lifecycle.TransitionError as exc:
        raise ReferenceError(t(exc.code, **exc.params)) from exc
    claimed = session.execute(
        sa.update(Transfer).where(Transfer.id == row.id, Transfer.status == OPEN)
        .values(status=REPLIED, reply=text, replied_by_id=user.id, replied_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise ReferenceError("这件函送参考已经回复过了。")
    session.refresh(row)
    try:
        event = lifecycle.apply(session, report, Action.REFER_REPLY, user=user, note=text,
                                context={"department": department.name})
    except lifecycle.TransitionError as exc:
        raise ReferenceError(t(exc.code, **exc.params)) from exc
    sender = session.get(User, row.created_by_id)
    if sender is not None and sender.active and sender.id != user.id:
        notices.notify(session, sender, "reference_replied",
                       t("notice.reference_replied", "zh", department=department.name,
                         no=report.tracking_no, title=report.title), report)
    session.flush()
    return event


def for_user(session: Session, user: User, open_only: bool = False) -> list[Transfer]:
    """References `user` may see (a department: its own), open ones first."""
    return transfers.for_user(session, user, open_only=open_only, kinds=(REFERENCE,))


def for_report(session: Session, report: Report) -> list[Transfer]:
    """Every reference of `report`, oldest first."""
    return transfers.for_report(session, report, kind=REFERENCE)
