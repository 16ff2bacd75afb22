"""Reports and what hangs off them: reporters, attachments, events, versions, notes, counters."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, enum_type, utcnow
from store.models.enums import Channel, ReporterKind, ReportSource, ReportStatus, Urgency
from store.sealing import Sealed

if TYPE_CHECKING:
    from store.models.network import CollectionPoint, User
    from store.models.review import Topic


class Reporter(Base):
    """Someone who reports, identified by channel and that channel's user id."""

    __tablename__ = "reporters"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id", name="uq_reporters_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    # Where feedback goes: the Telegram chat id, or the web chat's id.
    chat_id: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[ReporterKind] = mapped_column(enum_type(ReporterKind), default=ReporterKind.CITIZEN)
    # Sealed at rest with the data key (store.sealing): who the reporter is (保密).
    display_name: Mapped[str | None] = mapped_column(Sealed())
    contact: Mapped[str | None] = mapped_column(Sealed())
    language: Mapped[str] = mapped_column(sa.String(8), default="zh")
    # Set by /lang: the reporter chose `language`, so the client's own no longer overrides it.
    language_chosen: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # -- members and informants (issue 4, MEMBERS) --
    # Set when a binding code is redeemed (store.network.members); kind turns to MEMBER.
    member_name: Mapped[str | None] = mapped_column(Sealed())
    member_role: Mapped[str | None] = mapped_column(sa.String(20))  # member | informant
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Opted in to topic calls (/subscribe).
    topics_opt_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A member who sent /nobulletin gets no 通报 of their figures (/bulletin takes it back).
    bulletin_opt_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The roster entry this chat belongs to (store.network.members.redeem; issue 13).
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True)


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
    urgency: Mapped[Urgency] = mapped_column(enum_type(Urgency), default=Urgency.NORMAL)
    anonymous: Mapped[bool] = mapped_column(default=False)
    # Loaded only when asked for (the identity step): lists and exports of many reports
    # would otherwise open one sealed value per row for nothing.
    contact: Mapped[str | None] = mapped_column(Sealed(), deferred=True)
    # Every answer as the form collected it, including per-category extras; the answers
    # the form marks `identity` are kept sealed (store.reports.drafts, read by store.access).
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    form: Mapped[str] = mapped_column(sa.String(40), default="report")
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_points.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"), index=True)
    status: Mapped[ReportStatus] = mapped_column(enum_type(ReportStatus), default=ReportStatus.SUBMITTED)
    # The unit whose staff handle it (the point's unit), for access rules.
    # Indexed with what a unit's inbox counts and orders by (see __table_args__).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    # Index into the office's review chain (0 = 初审) while the report is in review.
    review_level: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    # The level that returned it for more, so the supplement goes back there.
    returned_from_level: Mapped[int | None]
    # 信息摘要, written by staff.
    summary: Mapped[str | None] = mapped_column(sa.Text)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    # 满意 / 基本满意 (not satisfied reopens instead).
    satisfaction: Mapped[str | None] = mapped_column(sa.String(20))
    # Optimistic lock: a decision names the version it saw.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None]
    # -- timings (issue 13; store.reports.timings is the only writer) --
    # The office's first answer (adopt, decline, return, merge) and the working days to it and
    # to the decision, in the office's calendar: the dashboard groups by them.
    answered_at: Mapped[datetime | None]
    answer_workdays: Mapped[int | None] = mapped_column(sa.SmallInteger)
    decision_workdays: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # -- end timings --
    # The rank of the highest level that adopted it (county 0 ... national 3; NULL: never
    # adopted), kept by `store.outputs.adoption.record`, the one writer of adoptions, so the
    # dashboard counts "adopted at each level or above" in its one scan (issue 13).
    adopted_rank: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # -- topic calls (issue 4, MEMBERS): the 选题 this report answers --
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id"), index=True)
    topic: Mapped[Topic | None] = relationship()
    # -- end topic calls --
    # -- counter intake (代录, issue 4): the staff member who typed it in for a walk-in --
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    # -- end counter intake --
    # -- deadlines in working days (issue 14, store.review.deadlines; written by lifecycle) --
    # The step the report waits at now: its review level's limit, or the reporter's time to add more.
    due_at: Mapped[datetime | None]
    # When the reporter was told to expect an answer (set on filing, resubmitting, reopening).
    answer_due_at: Mapped[datetime | None]
    # When the reviewers were reminded that `due_at` passed (cleared when it is set anew).
    chased_at: Mapped[datetime | None]
    # -- end deadlines --
    # -- members' work (issue 13): where the report came from, set when it is filed --
    source: Mapped[ReportSource] = mapped_column(enum_type(ReportSource),
                                                 default=ReportSource.CITIZEN,
                                                 server_default=ReportSource.CITIZEN.value,
                                                 index=True)
    # What a staff-entered report was drawn from: the proposal's number, a link ...
    source_ref: Mapped[str | None] = mapped_column(sa.String(300))
    # The roster member it counts for (the reporter's, or the one staff named).
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True)
    # -- end members' work --
    # -- sensitivity marks (issue 14, store.reports.marks is the only writer) --
    # 0 公开, 1 内部, 2 the office's stricter mark (秘密 by default): a level, the label is the office's.
    mark: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default=sa.text("0"))
    # -- end sensitivity marks --

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
        # The network's filtered page: a category's period and whether it was adopted,
        # counted from the index alone (0035).
        sa.Index("ix_reports_category_created", "category", "created_at", "adopted_rank"),
        # What is late in review (the inbox's 逾期 tab, the scheduler's reminders).
        sa.Index("ix_reports_status_due", "status", "due_at"),
        # The 统计 dashboard: a period's reports (of the units in scope) with every column
        # it groups or times by, read from the index alone (issue 13, a million reports).
        sa.Index("ix_reports_dashboard", "unit_id", "created_at", "point_id", "category",
                 "reporter_id", "satisfaction", "answer_workdays", "decision_workdays",
                 "adopted_rank"),
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
    # The review level (store.review.chain key: first / second / final) the report
    # stood at when a reviewer acted, so the history says who signed off what.
    level: Mapped[str | None] = mapped_column(sa.String(20))
    # Exactly one of these is set: staff or the reporter acted.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()

    # The dashboard's first answers and reopenings: one action's reports, from the index alone.
    __table_args__ = (sa.Index("ix_report_events_action", "action", "report_id", "created_at"),)


class Counter(Base):
    """Named sequences, e.g. one per year for tracking numbers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


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


class ReportNote(Base):
    """An internal note on a report, for staff only."""

    __tablename__ = "report_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
