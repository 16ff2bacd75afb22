"""The roster (名册) of members and informants, their yearly targets and their progress.

A `Member` is a person, on the roster once, under one home unit: a member
who also sits in another unit (a party committee as well as a county CPPCC)
is not entered twice, because their reports must count once. Entering the
same name with the same contact again is refused, naming the unit that
already has them (`OnRosterError`); the contact is sealed at rest, so "the
same contact" is its blind index (`store.blindindex.digest`). Their chats (`Reporter` rows, one per
channel) are linked by a binding code issued from their page
(`store.network.members.issue_code(member=...)`).

Staff see the roster of their unit and the units below (all: no unit); one
outside that scope is "not found". `contact` is read through
`store.access.reveal_member_contact`, which logs the look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import access, blindindex, upsert
from store.errors import DomainError
from store.models import (
    CommissionMember,
    Member,
    MemberRole,
    Report,
    Reporter,
    ReportStatus,
    Topic,
    Unit,
    User,
)
from store.outputs import adoption

ROLE_NAMES = {MemberRole.MEMBER: "政协委员", MemberRole.INFORMANT: "特邀信息员"}
ROLE_WORDS = {**{r.value: r for r in MemberRole}, "政协委员": MemberRole.MEMBER, "委员": MemberRole.MEMBER,
              "特邀信息员": MemberRole.INFORMANT, "信息员": MemberRole.INFORMANT}
NAME_LIMIT, SECTOR_LIMIT, CONTACT_LIMIT = 100, 100, 200
TARGET_LIMIT = 100
# Years are the office's: China has one zone.
LOCAL = ZoneInfo("Asia/Shanghai")


class RosterError(DomainError):
    """What was entered for a roster entry cannot be kept; the message says which field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OnRosterError(RosterError):
    """The same person (name and contact) is already on the roster, perhaps of another unit."""


@dataclass(frozen=True)
class Entry:
    """What staff typed for a person, as the roster keeps it."""

    name: str
    role: MemberRole
    sector: str | None
    unit_id: int | None
    contact: str | None
    yearly_target: int


def entry(*, name: str, role: str, sector: str = "", unit_id: int | None, contact: str = "",
          yearly_target: str | int = 2) -> Entry:
    """Check one person's fields; `RosterError` names the first that is wrong."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_LIMIT:
        raise RosterError("name", f"请填写姓名（不超过 {NAME_LIMIT} 字）。")
    # The stored value, or the words a sheet uses for it (政协委员, 委员, 信息员 ...).
    kind = ROLE_WORDS.get(role.strip().lower())
    if kind is None:
        raise RosterError("role", "身份只能是“政协委员”或“特邀信息员”。")
    sector = " ".join(sector.split())
    if len(sector) > SECTOR_LIMIT:
        raise RosterError("sector", f"界别不能超过 {SECTOR_LIMIT} 字。")
    contact = " ".join(contact.split())
    if len(contact) > CONTACT_LIMIT:
        raise RosterError("contact", f"联系方式不能超过 {CONTACT_LIMIT} 字。")
    raw = str(yearly_target).strip() or "0"
    if not raw.isdigit() or int(raw) > TARGET_LIMIT:
        raise RosterError("yearly_target", f"年度目标请填写 0 到 {TARGET_LIMIT} 之间的整数（篇）。")
    return Entry(name, kind, sector or None, unit_id, contact or None, int(raw))


def add(session: Session, new: Entry) -> Member:
    """Put a person on the roster; `OnRosterError` if the same name and contact is there.

    One INSERT … ON CONFLICT DO NOTHING: of two clerks entering the same
    person at once, one gets the row and the other the refusal.
    """
    digest = blindindex.digest(session, new.contact)
    row = session.execute(
        upsert.insert(session, Member).values(
            name=new.name, role=new.role, sector=new.sector, unit_id=new.unit_id,
            contact=new.contact, contact_digest=digest, yearly_target=new.yearly_target,
            active=True, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=[Member.name, Member.contact_digest])
        .returning(Member.id)).scalar()
    if row is None:
        raise _already(session, new.name, digest)
    member = session.get(Member, row)
    assert member is not None
    return member


def update(session: Session, member: Member, new: Entry, *, keep_contact: bool = False) -> None:
    """Change a person's entry (a move to another unit included); `keep_contact` leaves the
    contact as it was, so the edit form need not show it."""
    if keep_contact:
        new = Entry(new.name, new.role, new.sector, new.unit_id, member.contact, new.yearly_target)
    digest = blindindex.digest(session, new.contact)
    try:
        # The unique key decides a clash (two edits at once included), in a savepoint
        # (begun before the change: beginning one flushes) so the caller's work survives.
        with session.begin_nested():
            member.name, member.role, member.sector = new.name, new.role, new.sector
            member.unit_id, member.contact = new.unit_id, new.contact
            member.contact_digest = digest
            member.yearly_target = new.yearly_target
            session.flush()
    except IntegrityError:
        session.expire(member)
        raise _already(session, new.name, digest) from None
    # Their chats report for the unit they are in now.
    session.execute(sa.update(Reporter).where(Reporter.member_id == member.id).values(
        unit_id=new.unit_id, member_name=new.name, member_role=new.role.value))
    session.flush()


def set_active(session: Session, member: Member, active: bool) -> None:
    """Take someone off the active roster (their reports stay counted), or back on."""
    member.active = active
    session.flush()


def _already(session: Session, name: str, digest: str | None) -> OnRosterError:
    unit = session.scalar(sa.select(Unit.name).join(Member, Member.unit_id == Unit.id)
                          .where(Member.name == name, Member.contact_digest == digest))
    where = f"「{unit}」的名册" if unit else "名册"
    return OnRosterError("name", f"「{name}」（同一联系方式）已在{where}中。每人只记在一个单位名下，"
                                 "反映的信息只计一次；如需调整，请在原记录中修改所在单位。")


# -- who sees whom ---------------------------------------------------------------------

def scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Member`: the people of the units `user` sees (all: no unit)."""
    if not user.active:
        return sa.false()
    units = access.visible_units(session, user)
    return sa.true() if units is None else Member.unit_id.in_(units)


def visible(session: Session, user: User, member_id: int) -> Member | None:
    """Member `member_id` if `user` may see them; None for one outside their scope or none."""
    return session.scalar(sa.select(Member).where(Member.id == member_id, scope(session, user)))


def chosen(session: Session, user: User, ids: list[int]) -> list[Member]:
    """The active members among `ids` that `user` sees, by name."""
    return list(session.scalars(sa.select(Member).where(
        Member.id.in_(ids), Member.active.is_(True), scope(session, user)).order_by(Member.name)))


# -- progress ----------------------------------------------------------------------------

def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The office's calendar year as UTC moments [start, end)."""
    return (datetime(year, 1, 1, tzinfo=LOCAL).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=LOCAL).astimezone(UTC))


@dataclass(frozen=True)
class Progress:
    """One person's year: reports filed (merged ones not counted twice), adopted, asked for."""

    member: Member
    unit_name: str | None
    filed: int
    adopted: int
    commissioned: int  # commissions addressed to them this year
    answered: int  # of those, the ones they answered
    chats: int  # linked chat identities

    @property
    def met(self) -> bool:
        return self.filed >= self.member.yearly_target

    @property
    def percent(self) -> int:
        target = self.member.yearly_target
        return 100 if target == 0 else min(100, self.filed * 100 // target)


@dataclass(frozen=True)
class Filters:
    year: int
    unit_id: int | None = None
    sector: str | None = None
    role: MemberRole | None = None
    include_inactive: bool = False


def listing(session: Session, user: User, filters: Filters, limit: int = 1000) -> list[Progress]:
    """The roster `user` sees, filtered, each person with their progress in `filters.year`."""
    where = [scope(session, user)]
    if filters.unit_id is not None:
        where.append(Member.unit_id == filters.unit_id)
    if filters.sector:
        where.append(Member.sector == filters.sector)
    if filters.role is not None:
        where.append(Member.role == filters.role)
    if not filters.include_inactive:
        where.append(Member.active.is_(True))
    people = list(session.scalars(sa.select(Member).where(*where)
                                  .order_by(Member.unit_id, Member.name, Member.id).limit(limit)))
    return _progress(session, people, filters.year)


def progress(session: Session, member: Member, year: int) -> Progress:
    return _progress(session, [member], year)[0]


def _progress(session: Session, people: list[Member], year: int) -> list[Progress]:
    if not people:
        return []
    ids = [m.id for m in people]
    start, end = year_bounds(year)
    counted = sa.and_(Report.member_id.in_(ids), Report.created_at >= start,
                      Report.created_at < end, Report.status != ReportStatus.MERGED)
    filed = _by_member(session, sa.select(Report.member_id, sa.func.count())
                       .where(counted).group_by(Report.member_id))
    adopted = _by_member(session, sa.select(Report.member_id, sa.func.count())
                         .where(counted, adoption.adopted()).group_by(Report.member_id))
    asked = sa.select(CommissionMember.member_id, CommissionMember.topic_id).join(
        Topic, Topic.id == CommissionMember.topic_id).where(
        CommissionMember.member_id.in_(ids), Topic.created_at >= start, Topic.created_at < end
    ).subquery()
    commissioned = _by_member(session, sa.select(asked.c.member_id, sa.func.count())
                              .group_by(asked.c.member_id))
    answer = sa.exists().where(Report.topic_id == asked.c.topic_id,
                               Report.member_id == asked.c.member_id)
    answered = _by_member(session, sa.select(asked.c.member_id, sa.func.count())
                          .where(answer).group_by(asked.c.member_id))
    chats = _by_member(session, sa.select(Reporter.member_id, sa.func.count())
                       .where(Reporter.member_id.in_(ids)).group_by(Reporter.member_id))
    units = dict(session.execute(sa.select(Unit.id, Unit.name).where(
        Unit.id.in_({m.unit_id for m in people if m.unit_id is not None}))).all())
    return [Progress(m, units.get(m.unit_id) if m.unit_id else None, filed.get(m.id, 0),
                     adopted.get(m.id, 0), commissioned.get(m.id, 0), answered.get(m.id, 0),
                     chats.get(m.id, 0)) for m in people]


def _by_member(session: Session, query: Any) -> dict[int, int]:
    """{member id: count} of a (member id, count) query."""
    return {k: n for k, n in session.execute(query) if k is not None}


def sectors(session: Session, user: User) -> list[str]:
    """The 界别 named on the roster `user` sees, for the filter."""
    return list(session.scalars(sa.select(Member.sector).distinct().where(
        scope(session, user), Member.sector.is_not(None)).order_by(Member.sector)))


def reports_of(session: Session, user: User, member: Member, year: int,
               limit: int = 200) -> list[Report]:
    """The member's reports of `year` that `user` may see, newest first."""
    start, end = year_bounds(year)
    return list(session.scalars(sa.select(Report).where(
        Report.member_id == member.id, Report.created_at >= start, Report.created_at < end,
        access.report_scope(session, user)).order_by(Report.id.desc()).limit(limit)))


def chats_of(session: Session, member: Member) -> list[Reporter]:
    """The chat identities linked to `member` (the page names only their channels)."""
    return list(session.scalars(sa.select(Reporter).where(Reporter.member_id == member.id)
                                .order_by(Reporter.id)))


def all_visible(session: Session, user: User) -> list[Member]:
    """Active people `user` may commission, by unit and name."""
    return list(session.scalars(sa.select(Member).where(Member.active.is_(True), scope(session, user))
                                .order_by(Member.unit_id, Member.name, Member.id)))


def commissions_of(session: Session, member: Member, limit: int = 50) -> list[tuple[Topic, bool]]:
    """The commissions that asked `member`, newest first, each with whether they answered."""
    answered = sa.exists().where(Report.topic_id == Topic.id, Report.member_id == member.id)
    rows = session.execute(
        sa.select(Topic, answered).join(CommissionMember, CommissionMember.topic_id == Topic.id)
        .where(CommissionMember.member_id == member.id).order_by(Topic.id.desc()).limit(limit))
    return [(topic, bool(done)) for topic, done in rows]
