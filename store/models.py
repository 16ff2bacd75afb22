"""Typed SQLAlchemy models: the nouns of minyi.

Only `store.lifecycle` writes `Report.status`; everything else reads it.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
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


class ReporterKind(enum.StrEnum):
    CITIZEN = "citizen"
    MEMBER = "member"


class ReportStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    RESUBMITTED = "resubmitted"
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Role(enum.StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"
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


class CollectionPoint(Base):
    """A 采集点: a place with a QR code that opens a chat with the point known."""

    __tablename__ = "collection_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    # Bumped to invalidate every code printed so far (rotation, issue 4).
    token_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    # Optimistic lock: a decision names the version it saw.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None]

    point: Mapped[CollectionPoint | None] = relationship()
    reporter: Mapped[Reporter] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", order_by="ReportEvent.id"
    )

    __table_args__ = (sa.Index("ix_reports_status_created", "status", "created_at"),)


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
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"), index=True)
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
    # idle | filling | review | editing | supplement
    mode: Mapped[str] = mapped_column(sa.String(20), default="idle")
    step: Mapped[str | None] = mapped_column(sa.String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Mode-specific extras (the report being supplemented, the last receipt ...).
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
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
