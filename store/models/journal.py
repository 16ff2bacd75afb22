"""The office's journals (issue 12): series, numbered issues, the items they carry, their history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, enum_type, utcnow

if TYPE_CHECKING:
    from store.models.network import User
    from store.models.reports import Report


class IssueStatus(enum.StrEnum):
    DRAFT = "draft"  # being composed; no number yet
    SIGNED_OFF = "signed_off"  # 签发: numbered, its contents fixed
    PUBLISHED = "published"  # 刊发: the reporters were told


class JournalSeries(Base):
    """A journal the office publishes: 《社情民意》, 《信息专报》 ... (names kept without 《》)."""

    __tablename__ = "journal_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    # 编印单位, printed under the masthead (e.g. 城关县政协办公室).
    publisher: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    # 信息专报: one item an issue.
    single_item: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The office's own .docx template, a path under the instance folder; None: the default.
    template: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalIssue(Base):
    """One issue (期) of a series; numbered when it is signed off, never before."""

    __tablename__ = "journal_issues"
    __table_args__ = (
        sa.UniqueConstraint("series_id", "year", "number", name="uq_journal_issues_number"),
        sa.UniqueConstraint("series_id", "total_number", name="uq_journal_issues_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_series.id"), index=True)
    status: Mapped[IssueStatus] = mapped_column(enum_type(IssueStatus), default=IssueStatus.DRAFT)
    # 2026年第12期 (per series and year) and 总第345期 (per series); set together, once.
    year: Mapped[int | None]
    number: Mapped[int | None]
    total_number: Mapped[int | None]
    # 编者按 for the whole issue.
    note: Mapped[str | None] = mapped_column(sa.Text)
    # 报 / 送 / 发: who receives it, {"bao": [...], "song": [...], "fa": [...]}.
    distribution: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Optimistic lock, as on reports: a change names the version it saw.
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_off_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signed_off_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    series: Mapped[JournalSeries] = relationship()
    items: Mapped[list[JournalItem]] = relationship(
        back_populates="issue", order_by="JournalItem.position", cascade="all, delete-orphan"
    )
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])


class JournalItem(Base):
    """A report as the issue carries it: a copy of its text in house format; the report is untouched."""

    __tablename__ = "journal_items"
    __table_args__ = (sa.UniqueConstraint("issue_id", "report_id", name="uq_journal_items_report"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_issues.id", ondelete="CASCADE"),
                                          index=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    # 按语 for this item.
    note: Mapped[str | None] = mapped_column(sa.Text)
    # The source line (the reporter's unit, 群众反映, a member's name), fixed when the item is added.
    source: Mapped[str] = mapped_column(sa.String(200), default="")

    issue: Mapped[JournalIssue] = relationship(back_populates="items")
    report: Mapped[Report] = relationship()


class JournalEvent(Base):
    """Append-only history of an issue: composed, edited, signed off, published ..."""

    __tablename__ = "journal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_issues.id", ondelete="CASCADE"),
                                          index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    # None: the command line (the operator of the machine).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


# The series every office has from the start (the migration seeds the same two).
STANDARD_SERIES = (("社情民意", False), ("信息专报", True))


@sa.event.listens_for(JournalSeries.__table__, "after_create")
def _seed_series(table: sa.Table, connection: sa.Connection, **_: Any) -> None:
    # A database made by `create_all` (tests, `minyi init` before the first
    # migration ran) starts with them too.
    connection.execute(table.insert(), [
        {"name": name, "publisher": "", "single_item": single, "active": True,
         "created_at": utcnow()} for name, single in STANDARD_SERIES
    ])
