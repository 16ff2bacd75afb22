"""报送: adopted reports sent up to destinations, and what comes back.

`send` writes one `UpwardRecord` per report and destination, naming the
version sent; a second send to the same destination while the first waits is
refused by the database itself (a unique index over open records, written
with INSERT … ON CONFLICT DO NOTHING). `record_outcome` closes a record once,
with a compare-and-set on its status: adopted (an `Adoption` fact at the
destination's level), a leader's 批示 (an `Instruction`, and an adoption: the
body carried it to its leader) or declined. The reporter is told of an
adoption or a 批示 through `store.reports.feedback`, in the words the lifecycle's
提高采用级别 and 批示 use.

A destination that is a unit of this network receives the record: its
office staff see the report from then on (`store.access.report_scope`), with
the version sent and the sending unit (`incoming`, `received`,
`visible_record`), but not its reporter, notes or decisions; they alone
record its outcome, and once they adopt it they may 报送 it on along their own
unit's chain. An outside body's outcome is recorded by the sender's office
staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.errors import DomainError
from store.models import (
    AdoptionLevel,
    Destination,
    Instruction,
    Report,
    Role,
    UpwardRecord,
    UpwardStatus,
    User,
    utcnow,
)
from store.outputs import adoption
from store.reports import editing, feedback
from store.review import chain as review

TEXT_LIMIT = 200
NOTE_LIMIT = 2000
OUTCOMES = (UpwardStatus.ADOPTED, UpwardStatus.INSTRUCTED, UpwardStatus.DECLINED)


class UpwardError(DomainError):
    """A 报送 or an outcome refused; the message says why."""


class NotFound(UpwardError):
    """No such report or record for this user (the console answers 404)."""


def for_report(session: Session, report: Report) -> list[UpwardRecord]:
    """The report's upward records, earliest first."""
    return list(session.scalars(sa.select(UpwardRecord).where(UpwardRecord.report_id == report.id)
                                .order_by(UpwardRecord.id)))


def _office(user: User | None) -> None:
    if user is not None and (not user.active or user.role not in access.OFFICE_ROLES):
        raise NotFound("找不到该信息。 / No such report.")


def send(session: Session, report: Report, destination: Destination, *, user: User | None = None,
         version_id: int | None = None, on: date | None = None) -> UpwardRecord:
    """Report `report` (its latest version, or `version_id`) to `destination`.

    `user` None: the command line. Refused: a report the user may not see, one
    not adopted, an inactive destination or the sender's own unit, and a
    destination that has the report already and has not answered.
    """
    _office(user)
    if user is not None and not access.can_see(session, user, report):
        raise NotFound("找不到该信息。 / No such report.")
    if not session.scalar(sa.select(adoption.adopted()).where(Report.id == report.id)):
        raise UpwardError(f"信息 {report.tracking_no} 尚未采用，不能报送。 "
                          f"/ {report.tracking_no} is not adopted; only adopted reports are sent up.")
    if user is not None and not access.can_handle(session, user, report) and not any(
            r.status is not UpwardStatus.DECLINED and r.status is not UpwardStatus.SENT
            for r in received(session, user, report)):
        # A unit that received the report sends it on only once it adopted it itself.
        raise UpwardError(f"本单位尚未采用报送来的 {report.tracking_no}，请先登记采用结果再继续报送。 "
                          "/ Adopt what was sent to your unit before reporting it on.")
    if not destination.active:
        raise UpwardError(f"报送去向「{destination.name}」已停用。 / {destination.name} is no longer in use.")
    if user is not None and destination.unit_id is not None and destination.unit_id == user.unit_id:
        raise UpwardError("不能报送给本单位。 / A unit does not report to itself.")
    versions = editing.versions(session, report)
    chosen = versions[-1] if version_id is None else \
        next((v for v in versions if v.id == version_id), None)
    if chosen is None:
        raise UpwardError("所选版本不属于这条信息。 / That version is not one of this report's.")
    sent_on = on or adoption.today()
    if sent_on > adoption.today() + timedelta(days=1):
        raise UpwardError("报送日期不能晚于今天。 / The date cannot be in the future.")
    row = {"report_id": report.id, "destination_id": destination.id, "version_id": chosen.id,
           "sending_unit_id": user.unit_id if user is not None else report.unit_id,
           "sent_by_id": user.id if user is not None else None, "sent_on": sent_on,
           "status": UpwardStatus.SENT.value, "created_at": utcnow()}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # One statement decides between two clerks sending at once: the open-record
    # index lets one row in, and the other gets no id back.
    new_id = session.scalar(
        insert(UpwardRecord).values(**row)
        .on_conflict_do_nothing(index_elements=["report_id", "destination_id"],
                                index_where=sa.text("status = 'sent'"))
        .returning(UpwardRecord.id))
    if new_id is None:
        raise UpwardError(f"{report.tracking_no} 已报送「{destination.name}」，尚无结果；"
                          f"有结果后才能再次报送。 "
                          f"/ Already sent to {destination.name} and not answered yet.")
    record = session.get_one(UpwardRecord, new_id)
    if destination.unit_id is not None:
        _tell_receivers(session, record, destination, report)
    return record


def _tell_receivers(session: Session, record: UpwardRecord, destination: Destination,
                    report: Report) -> None:
    text = f"收到报送的信息《{record.version.title}》（{report.tracking_no}），请审核是否采用。"
    receivers = session.scalars(sa.select(User).where(
        User.active.is_(True), User.unit_id == destination.unit_id,
        User.role.in_([Role.ADMIN, *_deciders(session)])))
    for user in receivers:
        notices.notify(session, user, "upward", text)


def _deciders(session: Session) -> frozenset[Role]:
    """Who decides on what another unit sent: the roles of the last review level (审定)."""
    return review.chain(session)[-1].roles


def can_answer(session: Session, user: User, record: UpwardRecord) -> bool:
    """May `user` record `record`'s outcome?

    A unit of the network answers for itself (its deciders, or staff over the
    whole network); an outside body's answer is entered by the sender's office:
    staff of the sending unit (or above it), not a unit the report merely passed
    through on its way up.
    """
    if not user.active or user.role not in access.OFFICE_ROLES:
        return False
    unit_id = record.destination.unit_id
    if unit_id is not None:
        if user.role is not Role.ADMIN and user.role not in _deciders(session):
            return False
        return user.unit_id is None or unit_id in access.unit_subtree(session, user.unit_id)
    if record.sending_unit_id is not None:
        return user.unit_id is None or \
            record.sending_unit_id in access.unit_subtree(session, user.unit_id)
    return access.can_handle(session, user, session.get_one(Report, record.report_id))


def _receiving(session: Session, user: User) -> sa.ColumnElement[bool]:
    """WHERE clause on `Destination`: units of the network whose incoming items `user` sees."""
    units = access.receiving_units(session, user)
    if units is None:
        return Destination.unit_id.is_not(None)
    return Destination.unit_id.in_(units) if units else sa.false()


def received(session: Session, user: User, report: Report) -> list[UpwardRecord]:
    """The records by which `report` was sent to `user`'s unit (or one below), earliest first."""
    if user.unit_id is None:
        return []  # staff over the whole network see every record on the report's own panel
    return list(session.scalars(
        sa.select(UpwardRecord).join(Destination, Destination.id == UpwardRecord.destination_id)
        .where(UpwardRecord.report_id == report.id, _receiving(session, user))
        .order_by(UpwardRecord.id)))


def incoming(session: Session, user: User, *, open_only: bool = False,
             limit: int = 200) -> list[UpwardRecord]:
    """What was sent to `user`'s unit (or units below it), newest first; open ones first."""
    query = (sa.select(UpwardRecord).join(Destination, Destination.id == UpwardRecord.destination_id)
             .where(_receiving(session, user)))
    if open_only:
        query = query.where(UpwardRecord.status == UpwardStatus.SENT)
    return list(session.scalars(query.order_by((UpwardRecord.status == UpwardStatus.SENT).desc(),
                                               UpwardRecord.id.desc()).limit(limit)))


def incoming_open_count(session: Session, user: User) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(UpwardRecord)
        .join(Destination, Destination.id == UpwardRecord.destination_id)
        .where(_receiving(session, user), UpwardRecord.status == UpwardStatus.SENT)) or 0


def visible_record(session: Session, user: User, record_id: int) -> UpwardRecord | None:
    """Record `record_id` if `user` sends it (sees its report) or receives it; None if not."""
    record = session.get(UpwardRecord, record_id)
    if record is None or not user.active or user.role not in access.OFFICE_ROLES:
        return None
    report = session.get_one(Report, record.report_id)
    if access.can_see(session, user, report):
        return record
    received = session.scalar(sa.select(sa.literal(True)).select_from(Destination)
                              .where(Destination.id == record.destination_id,
                                     _receiving(session, user)))
    return record if received else None


@dataclass(frozen=True)
class Outcome:
    """What came back from a destination, as typed."""

    status: UpwardStatus | str
    level: AdoptionLevel | str | None = None  # the adopting level, or the leader's for a 批示
    body: str | None = None
    publication: str | None = None
    leader: str | None = None
    on: date | None = None
    note: str | None = None


def _text(value: str | None, what: str, limit: int = TEXT_LIMIT) -> str | None:
    value = " ".join((value or "").split()) or None
    if value is not None and len(value) > limit:
        raise UpwardError(f"{what}最多 {limit} 个字。 / At most {limit} characters.")
    return value


def record_outcome(session: Session, record: UpwardRecord, outcome: Outcome, *,
                   user: User | None = None) -> UpwardRecord:
    """Close `record` with what came back; tell the reporter of an adoption or a 批示.

    `user` None: the command line. Refused: a record already answered, a user
    who may not answer it, an unknown status or level, a 批示 without the
    leader, a date before sending or in the future.
    """
    if user is not None and not can_answer(session, user, record):
        raise NotFound("找不到该报送记录。 / No such record.")
    try:
        status = UpwardStatus(outcome.status)
    except ValueError:
        status = UpwardStatus.SENT
    if status not in OUTCOMES:
        raise UpwardError("结果只能是：采用、批示、不采用。 "
                          "/ The outcome is adopted, instructed or declined.")
    try:
        level = AdoptionLevel(outcome.level) if outcome.level else record.destination.level
    except ValueError:
        raise UpwardError("级别只能是：县、市、省、全国。 / The level is county, city, province "
                          "or national.") from None
    on = outcome.on or adoption.today()
    if on > adoption.today() + timedelta(days=1):
        raise UpwardError("结果日期不能晚于今天。 / The date cannot be in the future.")
    if on < record.sent_on:
        raise UpwardError(f"结果日期不能早于报送日期 {record.sent_on}。 "
                          "/ The date is before the report was sent.")
    leader = _text(outcome.leader, "批示领导", 100)
    if status is UpwardStatus.INSTRUCTED and not leader:
        raise UpwardError("请填写作出批示的领导。 / Name the leader who instructed.")
    body = _text(outcome.body, "采用单位") or record.destination.name
    publication = _text(outcome.publication, "刊物名称")
    note = (outcome.note or "").strip() or None
    if note and len(note) > NOTE_LIMIT:
        raise UpwardError(f"说明最多 {NOTE_LIMIT} 个字。 / At most {NOTE_LIMIT} characters.")
    adopted = status is not UpwardStatus.DECLINED
    values = {"status": status, "outcome_on": on, "note": note, "outcome_at": utcnow(),
              "outcome_by_id": user.id if user is not None else None,
              "body": body if adopted else None, "publication": publication if adopted else None,
              "level": (record.destination.level if status is UpwardStatus.INSTRUCTED else level)
              if adopted else None,
              "leader": leader if status is UpwardStatus.INSTRUCTED else None,
              "leader_level": level if status is UpwardStatus.INSTRUCTED else None}
    # Compare-and-set: of two answers typed at once, the second finds the record closed.
    done = session.execute(sa.update(UpwardRecord)
                           .where(UpwardRecord.id == record.id, UpwardRecord.status == UpwardStatus.SENT)
                           .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise UpwardError("这条报送已有结果，不能再登记。 / This record already has its outcome.")
    session.refresh(record)
    report = session.get_one(Report, record.report_id)
    if adopted:
        assert record.level is not None
        adoption.record(session, report, record.level, on=on, body=body, publication=publication,
                        upward=record, user=user)
    if status is UpwardStatus.ADOPTED:
        feedback.owe(session, report, "raise", "feedback.raised", None, {}, level=record.level)
    elif status is UpwardStatus.INSTRUCTED:
        assert leader is not None
        # The 批示 is an instruction like one typed on the report page, so counts and
        # follow-through find it in one place; its words are not known here.
        session.add(Instruction(report_id=report.id, leader_name=leader, leader_title=leader,
                                level=level, text=note or "", instructed_on=on,
                                recorded_by_id=user.id if user is not None else None))
        feedback.owe(session, report, "instruct", "feedback.instructed", None,
                     {"leader_level": level.value})
    session.flush()
    return record


def open_record(session: Session, report: Report, destination: Destination | None) -> UpwardRecord:
    """The report's one record waiting for an answer (from `destination`, if given)."""
    waiting = [r for r in for_report(session, report) if r.status is UpwardStatus.SENT
               and (destination is None or r.destination_id == destination.id)]
    if len(waiting) == 1:
        return waiting[0]
    if not waiting:
        where = f"「{destination.name}」" if destination is not None else ""
        raise UpwardError(f"{report.tracking_no} 没有等待{where}结果的报送。 / No open record.")
    names = "、".join(r.destination.name for r in waiting)
    raise UpwardError(f"{report.tracking_no} 有多条报送在等待结果（{names}），请指明报送去向。 "
                      "/ Several open records: name the destination.")
