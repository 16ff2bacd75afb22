"""The facts a period's scores and 通报 are counted from, each with its date, unit and reporter.

One row per thing that happened in the period (office dates):
  submitted   a report came in (its filing day)
  adopted     a level adopted a report: each (report, level) once, on its first date
  instructed  a leader's 批示 on a report (each instruction)
  journal     a report carried in a signed-off issue of a journal (its sign-off day)
  special     the same in a 专报 series (one item an issue)
  completed   a returned report that was supplemented (its first resubmission)
Adoption is read from the `adoptions` facts only (as `store.outputs.adoption` does),
so a report adopted, then transferred or closed, still counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import (
    Adoption,
    AdoptionLevel,
    Instruction,
    IssueStatus,
    JournalIssue,
    JournalItem,
    JournalSeries,
    Report,
    ReportEvent,
)
from store.outputs.adoption import BEIJING
from store.outputs.period import Period
from store.reports.transitions import Action

KINDS = ("submitted", "adopted", "instructed", "journal", "special", "completed")
KIND_NAMES = {"submitted": "报送", "adopted": "采用", "instructed": "领导批示",
              "journal": "期刊刊发", "special": "专报", "completed": "退回补充后完成"}


@dataclass(frozen=True)
class Fact:
    kind: str
    report_id: int
    unit_id: int | None
    reporter_id: int
    on: date
    level: AdoptionLevel | None = None

    @property
    def rule(self) -> str:
        """The rule key that scores it (store.outputs.scorerules.RULES)."""
        return f"{self.kind}.{self.level.value}" if self.level is not None else self.kind


def _local(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BEIJING).date()


def gather(session: Session, period: Period) -> list[Fact]:
    """Every fact of `period`, all units."""
    return list(_gather(session, period))


def _gather(session: Session, period: Period) -> Iterator[Fact]:
    since, until = period.utc_bounds()
    start, end = period.start, period.end
    for rid, unit, who, at in session.execute(
            sa.select(Report.id, Report.unit_id, Report.reporter_id, Report.created_at)
            .where(Report.created_at >= since, Report.created_at < until)):
        yield Fact("submitted", rid, unit, who, _local(at))

    first = sa.func.min(Adoption.adopted_on)
    for rid, unit, who, level, on in session.execute(
            sa.select(Report.id, Report.unit_id, Report.reporter_id, Adoption.level, first)
            .join(Report, Report.id == Adoption.report_id)
            .group_by(Report.id, Report.unit_id, Report.reporter_id, Adoption.level)
            .having(first >= start, first <= end)):
        yield Fact("adopted", rid, unit, who, on, AdoptionLevel(level))

    for rid, unit, who, level, on in session.execute(
            sa.select(Report.id, Report.unit_id, Report.reporter_id, Instruction.level,
                      Instruction.instructed_on)
            .join(Report, Report.id == Instruction.report_id)
            .where(Instruction.instructed_on >= start, Instruction.instructed_on <= end)):
        yield Fact("instructed", rid, unit, who, on, AdoptionLevel(level))

    for rid, unit, who, single, signed in session.execute(
            sa.select(Report.id, Report.unit_id, Report.reporter_id, JournalSeries.single_item,
                      JournalIssue.signed_off_at)
            .select_from(JournalItem)
            .join(JournalIssue, JournalIssue.id == JournalItem.issue_id)
            .join(JournalSeries, JournalSeries.id == JournalIssue.series_id)
            .join(Report, Report.id == JournalItem.report_id)
            .where(JournalIssue.status.in_([IssueStatus.SIGNED_OFF, IssueStatus.PUBLISHED]),
                   JournalIssue.signed_off_at >= since, JournalIssue.signed_off_at < until)):
        if signed is not None:
            yield Fact("special" if single else "journal", rid, unit, who, _local(signed))

    resubmitted = sa.func.min(ReportEvent.created_at)
    for rid, unit, who, first_at in session.execute(
            sa.select(Report.id, Report.unit_id, Report.reporter_id, resubmitted)
            .join(Report, Report.id == ReportEvent.report_id)
            .where(ReportEvent.action == Action.RESUBMIT.value)
            .group_by(Report.id, Report.unit_id, Report.reporter_id)
            .having(resubmitted >= since, resubmitted < until)):
        yield Fact("completed", rid, unit, who, _local(first_at))
