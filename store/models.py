"""Typed SQLAlchemy models: the nouns of minyi.

Only `store.lifecycle` writes `Report.status`; everything else reads it.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite hands them back naive, so re-attach UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class Channel(enum.StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"
    WECHAT = "wechat"  # a WeChat Official Account (issue 11)


class PointKind(enum.StrEnum):
    """Where a collection point sits in the network (issue 4)."""

    COUNTY = "county"
    TOWNSHIP = "township"
    STREET = "street"
    COMMUNITY = "community"
    MEMBER_STUDIO = "member_studio"  # 委员工作室
    COUNCIL_HALL = "council_hall"  # 民生议事堂


class ReporterKind(enum.StrEnum):
    CITIZEN = "citizen"
    MEMBER = "member"


class ReportStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # new, waiting at the first review level
    REVIEWING = "reviewing"  # signed off by a level, waiting at `review_level`
    RETURNED = "returned"  # 退回补充: waiting for the reporter
    RESUBMITTED = "resubmitted"  # supplemented, back at the level that returned it
    REOPENED = "reopened"  # the reporter was not satisfied; back at the first level
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    MERGED = "merged"  # folded into another report (`merged_into_id`)
    TRANSFERRED = "transferred"  # 转办: with a department
    HANDLED = "handled"  # the department replied (办理回复)
    CLOSED = "closed"


class AdoptionLevel(enum.StrEnum):
    """Who adopted a report; higher levels come later (被省政协采用)."""

    COUNTY = "county"
    CITY = "city"
    PROVINCE = "province"
    NATIONAL = "national"


class UnitKind(enum.StrEnum):
    CPPCC = "cppcc"  # a county / city CPPCC office
    PARTY = "party"  # a democratic party committee
    FEDERATION = "federation"  # federation of industry and commerce
    COMMITTEE = "committee"  # a special committee office
    DEPARTMENT = "department"  # a government department that takes transfers
    OTHER = "other"


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Role(enum.StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"  # 信息员: first review
    DIRECTOR = "director"  # 办公室主任: second review
    SECRETARY_GENERAL = "secretary_general"  # 秘书长: final approval
    UNIT_LIAISON = "unit_liaison"  # a reporting unit's liaison: reads its unit's reports
    DEPARTMENT = "department"  # 有关部门: answers transfers to its unit
    VIEWER = "viewer"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


def _enum(cls: type[enum.StrEnum], length: int = 20) -> sa.Enum:
    # Stored as plain strings with a CHECK constraint: portable, and a new
    # value is a migration that touches one constraint, not a PostgreSQL type.
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e],
        create_constraint=True, name=cls.__name__.lower(),
    )


class Unit(Base):
    """An organisation in the network: a CPPCC office, a party committee, a department ..."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind), default=UnitKind.CPPCC)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the unit is retired (撤销): no longer offered for new points, users or
    # transfers; its reports, points and users keep pointing at it (store.units.retire).
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
    kind: Mapped[PointKind] = mapped_column(_enum(PointKind), default=PointKind.COMMUNITY,
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
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    day: Mapped[date] = mapped_column()
    count: Mapped[int] = mapped_column(default=0)


class Reporter(Base):
    """Someone who reports, identified by channel and that channel's user id."""

    __tablename__ = "reporters"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id", name="uq_reporters_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    # Where feedback goes: the Telegram chat id, or the web chat's id.
    chat_id: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[ReporterKind] = mapped_column(_enum(ReporterKind), default=ReporterKind.CITIZEN)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(8), default="zh")
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # -- members and informants (issue 4, MEMBERS) --
    # Set when a binding code is redeemed (store.members); kind turns to MEMBER.
    member_name: Mapped[str | None] = mapped_column(sa.String(100))
    member_role: Mapped[str | None] = mapped_column(sa.String(20))  # member | informant
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Opted in to topic calls (/subscribe).
    topics_opt_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # -- end members --


class Report(Base):
    """A 社情民意信息 as the reporter filed it, and where it stands."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(sa.String(20), unique=True)
    category: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    situation: Mapped[str] = mapped_column(sa.Text)
    analysis: Mapped[str | None] = mapped_column(sa.Text)
    suggestion: Mapped[str] = mapped_column(sa.Text)
    place: Mapped[str | None] = mapped_column(sa.String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency), default=Urgency.NORMAL)
    anonymous: Mapped[bool] = mapped_column(default=False)
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    # Every answer as the form collected it, including per-category extras.
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    form: Mapped[str] = mapped_column(sa.String(40), default="report")
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_points.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"), index=True)
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.SUBMITTED)
    # The unit whose staff handle it (the point's unit), for access rules.
    # Indexed with what a unit's inbox counts and orders by (see __table_args__).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    # Index into the office's review chain (0 = 初审) while the report is in review.
    review_level: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    # The level that returned it for more, so the supplement goes back there.
    returned_from_level: Mapped[int | None]
    # 信息摘要, written by staff.
    summary: Mapped[str | None] = mapped_column(sa.Text)
    adoption_level: Mapped[AdoptionLevel | None] = mapped_column(_enum(AdoptionLevel))
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    # 满意 / 基本满意 (not satisfied reopens instead).
    satisfaction: Mapped[str | None] = mapped_column(sa.String(20))
    # Optimistic lock: a decision names the version it saw.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None]
    # -- topic calls (issue 4, MEMBERS): the 选题 this report answers --
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id"), index=True)
    topic: Mapped[Topic | None] = relationship()
    # -- end topic calls --
    # -- counter intake (代录, issue 4): the staff member who typed it in for a walk-in --
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    # -- end counter intake --

    point: Mapped[CollectionPoint | None] = relationship()
    reporter: Mapped[Reporter] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", order_by="ReportEvent.id"
    )

    __table_args__ = (
        sa.Index("ix_reports_status_created", "status", "created_at"),
        sa.Index("ix_reports_queue", "status", "urgency", "created_at"),
        # A unit's inbox: its status tabs, urgent and 待我审核 counts from the index
        # alone, and its newest reports without a sort (issue 5, a million reports).
        sa.Index("ix_reports_unit_status", "unit_id", "status", "urgency", "review_level"),
        sa.Index("ix_reports_unit_created", "unit_id", "created_at"),
    )


class Attachment(Base):
    """A photo or document kept with a report (or still with a draft)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    # While the report is a draft the file belongs to the conversation.
    conversation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))  # photo | document
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_path: Mapped[str] = mapped_column(sa.String(300))
    # The channel's own handle (Telegram file_unique_id), to spot resends.
    source_ref: Mapped[str | None] = mapped_column(sa.String(200))
    # Added later in answer to a return-for-more question.
    supplement: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report | None] = relationship(back_populates="attachments")


class ReportEvent(Base):
    """Append-only history: who moved a report from where to where, and why."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    # The review level (store.review key: first / second / final) the report
    # stood at when a reviewer acted, so the history says who signed off what.
    level: Mapped[str | None] = mapped_column(sa.String(20))
    # Exactly one of these is set: staff or the reporter acted.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class OutboxMessage(Base):
    """A message owed to a reporter, written in the transaction that owes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The recipient: a reporter, or a staff member at one of their StaffAddress chats.
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    chat_id: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    # [[{"label": ..., "data": ...}, ...], ...]: rows of buttons.
    buttons: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)


class WebChatMessage(Base):
    """The web chat's transcript: what the page shows when it is opened again."""

    __tablename__ = "web_chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    direction: Mapped[str] = mapped_column(sa.String(3))  # in | out
    text: Mapped[str] = mapped_column(sa.Text)
    buttons: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    # Set when the message came from the outbox, so a redelivery is a no-op.
    outbox_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """One reporter's place in a form, saved at every step."""

    __tablename__ = "conversations"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_conversations_channel_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"))
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_points.id"))
    form: Mapped[str] = mapped_column(sa.String(40), default="report")
    # A `store.conversation.modes.Mode` value (idle, filling, review, editing, supplement, reopen).
    mode: Mapped[str] = mapped_column(sa.String(20), default="idle")
    step: Mapped[str | None] = mapped_column(sa.String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The mode's typed context, read and written by `store.conversation.context` only.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Bumped at every step; buttons carry it so a stale or double click is spotted.
    turn: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Channel updates already handled, so a redelivered update does nothing."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Counter(Base):
    """Named sequences, e.g. one per year for tracking numbers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class User(Base):
    """A staff member of the office."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(_enum(Role))
    # None: the whole network (a provincial office or the installer's admin).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # The one-time code for /link CODE (StaffAddress); None once used.
    link_code: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    link_code_expires_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class StaffAddress(Base):
    """Where a staff member gets alerts on one channel: the chat they sent /link CODE from.

    One per (user, channel); a chat belongs to one account. `gone_at` is set
    when the channel said the chat blocked or unfollowed us: alerts skip it
    until the person writes from it or links it again (store.addresses).
    """

    __tablename__ = "staff_addresses"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "channel", name="uq_staff_addresses_user_channel"),
        sa.UniqueConstraint("channel", "chat_id", name="uq_staff_addresses_chat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    chat_id: Mapped[str] = mapped_column(sa.String(64))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    gone_at: Mapped[datetime | None]


class ReportVersion(Base):
    """The text of a report at one moment; number 1 is the reporter's original."""

    __tablename__ = "report_versions"
    __table_args__ = (sa.UniqueConstraint("report_id", "number", name="uq_report_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    situation: Mapped[str] = mapped_column(sa.Text)
    analysis: Mapped[str | None] = mapped_column(sa.Text)
    suggestion: Mapped[str] = mapped_column(sa.Text)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    # None for the reporter's original.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class Transfer(Base):
    """转办: a report sent to a department, with a deadline and its reply."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    note: Mapped[str | None] = mapped_column(sa.Text)
    due_at: Mapped[datetime]
    # After this the transfer is escalated to the office's leadership (督办).
    escalate_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open | replied
    reply: Mapped[str | None] = mapped_column(sa.Text)
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    replied_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship()
    department: Mapped[Unit] = relationship()

    __table_args__ = (sa.Index("ix_transfers_open_due", "status", "due_at"),)


class Instruction(Base):
    """领导批示: a leader's written instruction on a report."""

    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    leader_name: Mapped[str] = mapped_column(sa.String(100))
    leader_title: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[AdoptionLevel] = mapped_column(_enum(AdoptionLevel))
    text: Mapped[str] = mapped_column(sa.Text)
    instructed_on: Mapped[date]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportNote(Base):
    """An internal note on a report, for staff only."""

    __tablename__ = "report_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class DeclineTemplate(Base):
    """A reason for not adopting, worded once by the office and chosen with a click."""

    __tablename__ = "decline_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(500))
    # The one-click "already being handled by the government" reason.
    already_handled: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class AccessLog(Base):
    """Who looked at a reporter's identity, and when (保密)."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    what: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffNotice(Base):
    """Something a staff member should look at: the console badge."""

    __tablename__ = "staff_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))  # urgent | overdue | escalated | returned ...
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class OfficeSetting(Base):
    """Settings the office changes in the console (the review chain ...)."""

    __tablename__ = "office_settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)


# -- members, informants and topic calls (issue 4, MEMBERS) --------------------

class BindingCode(Base):
    """A one-time code the console gives a member or informant; `/bind CODE` redeems it."""

    __tablename__ = "binding_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(20))  # member | informant
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Topic(Base):
    """A topic call (选题): what the office wants to hear about, until its deadline."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    deadline: Mapped[datetime] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

# -- end members, informants and topic calls ----------------------------------


class SavedView(Base):
    """A staff member's saved search (issue 5): a name and the search page's URL query."""

    __tablename__ = "saved_views"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    # The filters as `store.search.Filters.to_args()` gives them.
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- the WeChat channel's shared state (issue 11) ------------------------------

class ChannelState(Base):
    """A channel's small shared facts by key: cached QR tickets, options last offered, nonces seen.

    Kept in the database so every process of an office sees the same; rows
    with an `expires_at` in the past are pruned by their writer.
    """

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeChatToken(Base):
    """The access token of one WeChat app, shared by every process; `version` counts refreshes.

    A refresh is claimed by setting `refreshing_until` on the version seen, so
    one process fetches and the others wait for the next version.
    """

    __tablename__ = "wechat_tokens"

    app_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(sa.String(1024))
    expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=0)
    refreshing_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeChatInboxStatus(enum.StrEnum):
    PENDING = "pending"  # received and acknowledged, not yet handled
    ANSWERED = "answered"  # handled; `replies` are being sent
    DONE = "done"
    DEAD = "dead"  # given up; `last_error` says why, `payload` keeps what was sent


class WeChatInbox(Base):
    """One callback from WeChat, kept from the moment it is acknowledged until its replies are out."""

    __tablename__ = "wechat_inbox"
    __table_args__ = (sa.Index("ix_wechat_inbox_due", "status", "next_attempt_at"),
                      sa.Index("ix_wechat_inbox_openid_id", "openid", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # MsgId, or sender + time + event for events: WeChat's retries carry the same.
    msg_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    openid: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[str] = mapped_column(sa.Text)  # the message XML, decrypted
    status: Mapped[WeChatInboxStatus] = mapped_column(_enum(WeChatInboxStatus),
                                                      default=WeChatInboxStatus.PENDING)
    replies: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    sent_parts: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
