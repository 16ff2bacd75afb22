"""The roster of members and informants (委员履职, issue 13) and who a commission asks.

A `Member` is a person; their chat identities are `Reporter` rows (one per
channel) linked through `Reporter.member_id` by the `/bind` code flow. A
commission (约稿) is a `Topic` with `commissioned` set, addressed to named
members through `CommissionMember` rows; the answers are the reports filed
with that topic by those members.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, enum_type, utcnow
from store.models.enums import MemberRole
from store.models.network import Unit
from store.sealing import Sealed


class Member(Base):
    """A member (委员) or special informant (特邀信息员) on the office's roster.

    One home unit each: a person who sits in two units is on the roster once,
    under the unit their reports count for (`store.network.roster`). Two
    people may share a name; the same name with the same contact is one person.
    `contact` is identity data, sealed at rest (`store.sealing`): read it through
    `store.access.reveal_member_contact`. The same person is found by
    `contact_digest`, a keyed hash of the normalised contact (`store.blindindex`),
    which a key rotation leaves as it is.
    """

    __tablename__ = "members"
    __table_args__ = (sa.UniqueConstraint("name", "contact_digest",
                                          name="uq_members_name_contact_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[MemberRole] = mapped_column(enum_type(MemberRole), default=MemberRole.MEMBER)
    sector: Mapped[str | None] = mapped_column(sa.String(100))  # 界别
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    contact: Mapped[str | None] = mapped_column(Sealed())
    contact_digest: Mapped[str | None] = mapped_column(sa.String(64))
    # Reports a year the office expects (for example at least 2).
    yearly_target: Mapped[int] = mapped_column(default=2, server_default=sa.text("2"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship()


class CommissionMember(Base):
    """One person a commission (a commissioned `Topic`) asks for a report.

    `reminded_at` is set, by one UPDATE, when the overdue reminder was owed:
    each person is reminded once.
    """

    __tablename__ = "commission_members"

    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True,
                                           index=True)
    # How many chat messages the commission was sent as (0: the person has no chat yet).
    sent: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    reminded_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()
