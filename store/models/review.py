"""Handling: transfers to departments, leaders' instructions (批示), decline templates, topics (选题)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, enum_type, utcnow
from store.models.enums import AdoptionLevel

if TYPE_CHECKING:
    from store.models.network import Unit
    from store.models.reports import Report


class Transfer(Base):
    """Work handed to a department, with its reply: 转办, 批示落实 or 函送参考 (`kind`).

    One table, because the three are the same thing seen from the department:
    a report they may now see, perhaps a deadline, and an answer with its date
    and author. What the answer does to the report differs by kind (see
    store.review.transfers, store.review.followup, store.review.reference).
    """

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # transfer (转办) | instruction (批示落实) | reference (函送参考)
    kind: Mapped[str] = mapped_column(sa.String(16), default="transfer", server_default="transfer")
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # The 批示 this row carries out (kind instruction): at most one row per instruction.
    instruction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instructions.id"),
                                                       unique=True)
    note: Mapped[str | None] = mapped_column(sa.Text)
    # None: no deadline (a reference asks for no reply by a date).
    due_at: Mapped[datetime | None]
    # After this the transfer is escalated to the office's leadership (督办); transfers only.
    escalate_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open | replied
    reply: Mapped[str | None] = mapped_column(sa.Text)
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    replied_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    # The due date (office time) whose reminder went out: claimed by one
    # conditional UPDATE, so a date is reminded once however many ticks race.
    reminded_for: Mapped[date | None]
    escalated_at: Mapped[datetime | None]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship()
    department: Mapped[Unit] = relationship()
    instruction: Mapped[Instruction | None] = relationship()

    __table_args__ = (
        sa.Index("ix_transfers_open_due", "status", "due_at"),
        # A report is sent for reference to a department once while that one is open.
        sa.Index("uq_transfers_open_reference", "report_id", "department_id", unique=True,
                 sqlite_where=sa.text("kind = 'reference' AND status = 'open'"),
                 postgresql_where=sa.text("kind = 'reference' AND status = 'open'")),
    )


class FollowUpStep(Base):
    """A change to a 批示落实 after it was assigned, kept as a row: 改派 (handed to another
    department, perhaps by a new date) or 督办 (escalated once its deadline passed)."""

    __tablename__ = "followup_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("transfers.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))  # reassigned | escalated
    from_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    to_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    # The deadline after the step (a reassignment's new date; an escalation's passed one).
    due_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    # None: the scheduler (督办 is automatic).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    from_department: Mapped[Unit | None] = relationship(foreign_keys=[from_department_id])
    to_department: Mapped[Unit | None] = relationship(foreign_keys=[to_department_id])


class Instruction(Base):
    """领导批示: a leader's written instruction on a report."""

    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    leader_name: Mapped[str] = mapped_column(sa.String(100))
    leader_title: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[AdoptionLevel] = mapped_column(enum_type(AdoptionLevel))
    text: Mapped[str] = mapped_column(sa.Text)
    instructed_on: Mapped[date]
    # None: recorded from the command line (an upward record's 批示, issue 12).
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeclineTemplate(Base):
    """A reason for not adopting, worded once by the office and chosen with a click."""

    __tablename__ = "decline_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(500))
    # The one-click "already being handled by the government" reason.
    already_handled: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Topic(Base):
    """A topic call (选题): what the office wants to hear about, until its deadline."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    deadline: Mapped[datetime] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A commission (约稿, issue 13): addressed to named members (`CommissionMember`),
    # not broadcast and not listed in /topics; `unit_id` is the commissioning unit.
    commissioned: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
