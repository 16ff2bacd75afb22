"""Scoring (积分) and 通报 (issue 13): rule sets by effective date, assessment series, bulletins.

Scores are never stored: `store.outputs.scoring` derives them from the facts
(reports, adoptions, 批示, journal items) with the rule set in force on each
fact's date. What is kept here is what people decide (the rules, who is in
which series) and what was published (a period's bulletin documents).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class ScoreRuleSet(Base):
    """Points per fact from `effective_from` on, until a later set takes over; never edited."""

    __tablename__ = "score_rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(unique=True)
    # {"adopted.county": "1", ..., "submitted": "1", "submitted_per": 5}: decimals as strings.
    points: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssessmentSeries(Base):
    """考评序列: a group of units ranked against each other (区县政协, 民主党派 ...)."""

    __tablename__ = "assessment_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesMember(Base):
    """A unit placed in a series for one year; a unit is in at most one series a year."""

    __tablename__ = "series_members"
    __table_args__ = (sa.UniqueConstraint("unit_id", "year", name="uq_series_members_unit_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessment_series.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]


class Bulletin(Base):
    """A period's 通报 as built: its .xlsx and .docx, and whether its messages went out."""

    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The period's key (store.outputs.periods): 2026-11, 2026-Q4, 2026, 2026-01-05..2026-02-03.
    period: Mapped[str] = mapped_column(sa.String(30), unique=True)
    since: Mapped[date]
    until: Mapped[date]
    xlsx: Mapped[bytes] = mapped_column(sa.LargeBinary)
    docx: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # None: the scheduler or the command line.
    built_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Claimed by one conditional UPDATE, so the messages go out once.
    sent_at: Mapped[datetime | None]
    messages: Mapped[int] = mapped_column(default=0)
