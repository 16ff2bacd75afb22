"""Members and special informants: one-time binding codes and their own figures.

The console issues a code (`issue_code`); the member sends `/bind CODE` in
either channel and the engine calls `redeem`, which turns their reporter row
into a member of the code's unit. `figures` is what `/mystats` shows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import (
    AdoptionLevel,
    BindingCode,
    Instruction,
    Member,
    MemberRole,
    Report,
    Reporter,
    ReporterKind,
    User,
    utcnow,
)
from store.outputs import adoption

ROLES = ("member", "informant")
# No 0/O, 1/I/L: codes are read off paper and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
DEFAULT_TTL = timedelta(days=7)
# "Adopted upward" in a member's figures: the city or above.
UPWARD = (AdoptionLevel.CITY, AdoptionLevel.PROVINCE, AdoptionLevel.NATIONAL)


def issue_code(session: Session, *, name: str = "", role: str = "", unit_id: int | None = None,
               created_by_id: int | None, ttl: timedelta = DEFAULT_TTL,
               now: datetime | None = None, member: Member | None = None) -> BindingCode:
    """A fresh one-time code for `member` of the roster (or, for a person not on it yet,
    `name`, `role`, `unit_id`: redeeming puts them on it); the caller shows it once and commits."""
    if member is not None:
        name, role, unit_id = member.name, member.role.value, member.unit_id
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValueError("name")
    if role not in ROLES:
        raise ValueError("role")
    code = BindingCode(code="".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)),
                       name=name, role=role, unit_id=unit_id,
                       expires_at=(now or utcnow()) + ttl, created_by_id=created_by_id,
                       member_id=member.id if member is not None else None)
    session.add(code)
    session.flush()
    return code


def normalise_code(text: str) -> str:
    """What the member typed, as stored: upper case, no spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True)
class Redeemed:
    """`reason` is ok | unknown | used | expired (an i18n key suffix)."""

    reason: str
    code: BindingCode | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def redeem(session: Session, reporter: Reporter, typed: str,
           now: datetime | None = None) -> Redeemed:
    """Bind `reporter` to the member named by code `typed`; each code works once."""
    now = now or utcnow()
    code = session.scalar(sa.select(BindingCode).where(BindingCode.code == normalise_code(typed)))
    if code is None:
        return Redeemed("unknown")
    if code.used_at is not None:
        return Redeemed("used", code)
    if code.expires_at <= now:
        return Redeemed("expired", code)
    # Conditional update: of two simultaneous redemptions only one matches.
    result = session.execute(
        sa.update(BindingCode).where(BindingCode.id == code.id, BindingCode.used_at.is_(None))
        .values(used_at=now, reporter_id=reporter.id)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Redeemed("used", code)
    session.refresh(code)
    member = _member_for(session, code)
    # One chat per channel: a new phone's chat replaces the old one's link.
    session.execute(sa.update(Reporter).where(
        Reporter.member_id == member.id, Reporter.channel == reporter.channel,
        Reporter.id != reporter.id).values(member_id=None))
    reporter.kind = ReporterKind.MEMBER
    reporter.member_id = member.id
    reporter.member_name = member.name
    reporter.member_role = member.role.value
    reporter.unit_id = member.unit_id
    session.flush()
    return Redeemed("ok", code)


def _member_for(session: Session, code: BindingCode) -> Member:
    """The roster entry a code binds to; a code issued by name alone adds one."""
    if code.member_id is not None:
        member = session.get(Member, code.member_id)
        assert member is not None
        return member
    member = Member(name=code.name, role=MemberRole(code.role), unit_id=code.unit_id)
    session.add(member)
    session.flush()
    code.member_id = member.id
    return member


@dataclass(frozen=True)
class Figures:
    submitted: int
    adopted: int
    adopted_upward: int
    instructions: int


def figures(session: Session, reporter_id: int, member_id: int | None = None) -> Figures:
    """A reporter's own record: submitted, adopted, adopted above county, 批示; for a
    roster member (`member_id`), everything counted for them, from any of their chats."""
    mine = Report.reporter_id == reporter_id if member_id is None else Report.member_id == member_id
    count = sa.select(sa.func.count()).select_from(Report).where(mine)
    return Figures(
        submitted=session.scalar(count) or 0,
        adopted=session.scalar(count.where(adoption.adopted())) or 0,
        adopted_upward=session.scalar(count.where(adoption.adopted_at_least(UPWARD[0]))) or 0,
        instructions=session.scalar(
            sa.select(sa.func.count()).select_from(Instruction).join(Report).where(mine)) or 0,
    )


def recent_codes(session: Session, limit: int = 50) -> list[BindingCode]:
    return list(session.scalars(sa.select(BindingCode)
                                .order_by(BindingCode.id.desc()).limit(limit)))


def members(session: Session, user: User, limit: int = 500) -> list[Reporter]:
    """Bound chats of the units `user` sees (all: no unit); their names are read through
    `store.access.reveal_bound_names`, which logs the look."""
    units = access.visible_units(session, user)
    where = [Reporter.kind == ReporterKind.MEMBER]
    if units is not None:
        where.append(Reporter.unit_id.in_(units))
    return list(session.scalars(sa.select(Reporter).where(*where).order_by(Reporter.id).limit(limit)))
