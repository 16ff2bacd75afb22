"""The network: units, collection points and their scans, staff accounts, binding codes."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, enum_type, utcnow
from store.models.enums import Channel, PointKind, Role, UnitKind
from store.sealing import Sealed


class Unit(Base):
    """An organisation in the network: a CPPCC office, a party committee, a department ..."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[UnitKind] = mapped_column(enum_type(UnitKind), default=UnitKind.CPPCC)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the unit is retired (撤销): no longer offered for new points, users or
    # transfers; its reports, points and users keep pointing at it (store.network.units.retire).
    retired_at: Mapped[datetime | None] = mapped_column()


class CollectionPoint(Base):
    """A 采集点: a place with a QR code that opens a chat with the point known."""

    __tablename__ = "collection_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Bumped to invalidate every code printed so far (rotation, issue 4).
    token_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[PointKind] = mapped_column(enum_type(PointKind), default=PointKind.COMMUNITY,
                                            server_default=PointKind.COMMUNITY.value)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_points.id"),
                                                  index=True)
    # The office's own code for the point; the key of bulk import and export.
    code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Where a retired or revoked code sends the scanner instead.
    successor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_points.id"))
    # Set when the point's code is withdrawn without a new one; rotation clears it.
    revoked_at: Mapped[datetime | None] = mapped_column()


class PointScan(Base):
    """How often a point's code was opened on one channel on one (UTC) day."""

    __tablename__ = "point_scans"
    __table_args__ = (sa.UniqueConstraint("point_id", "channel", "day",
                                          name="uq_point_scans_point_channel_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(sa.ForeignKey("collection_points.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    day: Mapped[date] = mapped_column()
    count: Mapped[int] = mapped_column(default=0)


class ScanVisitor(Base):
    """Who has already counted as a scan of a point on one (UTC) day: a keyed hash of the
    visitor (a chat user, or the web chat's client address), never the address itself."""

    __tablename__ = "scan_visitors"

    point_id: Mapped[int] = mapped_column(sa.ForeignKey("collection_points.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    visitor: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class User(Base):
    """A staff member of the office."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    # None: the whole network (a provincial office or the installer's admin).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # The one-time code for /link CODE (StaffAddress); None once used.
    link_code: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    link_code_expires_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Raised by logout, a password change or reset and deactivation: a console session
    # carries the number it was opened under and ends when it no longer matches.
    session_generation: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    # 通报: the monthly figures are not sent to this account's chats (set on 我的账号).
    bulletin_opt_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Second factor (store.network.second_factor): the TOTP secret, sealed at rest; it asks
    # for codes at login once confirmed (`totp_since`). The last time step a code was taken
    # for, so a code seen once cannot open a second session.
    totp_secret: Mapped[str | None] = mapped_column(Sealed())
    totp_since: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The console's language for this account: "zh" or "en" (set on 我的账号, web.i18n).
    language: Mapped[str] = mapped_column(sa.String(8), default="zh", server_default="zh")


class StaffAddress(Base):
    """Where a staff member gets alerts on one channel: the chat they sent /link CODE from.

    One per (user, channel); a chat belongs to one account. `gone_at` is set
    when the channel said the chat blocked or unfollowed us: alerts skip it
    until the person writes from it or links it again (store.network.addresses).
    """

    __tablename__ = "staff_addresses"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "channel", name="uq_staff_addresses_user_channel"),
        sa.UniqueConstraint("channel", "chat_id", name="uq_staff_addresses_chat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    chat_id: Mapped[str] = mapped_column(sa.String(64))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    gone_at: Mapped[datetime | None]


class BindingCode(Base):
    """A one-time code the console gives a member or informant; `/bind CODE` redeems it."""

    __tablename__ = "binding_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # The member's or informant's name, sealed at rest like the reporter's it becomes.
    name: Mapped[str] = mapped_column(Sealed())
    role: Mapped[str] = mapped_column(sa.String(20))  # member | informant
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The roster entry the redeeming chat is linked to (issue 13).
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
