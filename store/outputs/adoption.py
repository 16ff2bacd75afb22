"""Adoption as a fact: "adopted" and "the highest level" read from one place.

A report counts as adopted when there is an `Adoption` row for it: the
office's own 采用 (lifecycle ADOPT, at the level chosen there), a higher level
recorded with 提高采用级别 (RAISE), or an upward record that came back adopted
or with a leader's 批示 (`store.outputs.upward`). A report adopted and later
transferred, handled or closed is still adopted. `highest_level()` derives
the highest level from the facts, and every reader (statistics, search, the
inbox, the reporter's news and messages) goes through this module; `record`
also keeps its rank on the report (`Report.adopted_rank`), which the 统计
dashboard counts by in one scan (`adopted_rank_at_least`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Adoption, AdoptionLevel, Report, ReportEvent, User
from store.models.upward import UpwardRecord

LEVELS = tuple(AdoptionLevel)  # lowest first: county < city < province < national
# Dates of adoption and 报送 are the office's calendar days.
BEIJING = timezone(timedelta(hours=8))


def today() -> date:
    return datetime.now(BEIJING).date()


def rank(level: AdoptionLevel | str | None) -> int:
    """County 0 < city 1 < province 2 < national 3; None below all (-1)."""
    return -1 if level is None else LEVELS.index(AdoptionLevel(level))


def level_of(rank_: int | None) -> AdoptionLevel | None:
    return None if rank_ is None or rank_ < 0 else LEVELS[rank_]


def rank_sql(column: sa.ColumnElement[Any] | Any) -> sa.ColumnElement[int]:
    """`rank` in SQL: a level column's rank, -1 for anything else."""
    return sa.case({lv.value: i for i, lv in enumerate(LEVELS)}, value=column, else_=-1)


def adopted() -> sa.ColumnElement[bool]:
    """WHERE clause on `Report`: the report counts as adopted (it has an adoption fact).

    Read from `Report.adopted_rank`, which `record` sets with every adoption it writes: a
    column an index can carry (ix_reports_category_created), not a lookup per report."""
    return Report.adopted_rank.is_not(None)


def reported_upward() -> sa.ColumnElement[bool]:
    """WHERE clause on `Report`: it was sent upward (报送) at least once.

    Here rather than in `upward`, with the other clauses the inbox filters by: `store.search`
    reads them, and `upward` (which files through the lifecycle) must not be imported by it.
    """
    return sa.exists().where(UpwardRecord.report_id == Report.id)


def highest_level() -> sa.ScalarSelect[int]:
    """The rank (see `rank`) of the highest level that adopted `Report`; NULL if none did."""
    return (sa.select(sa.func.max(rank_sql(Adoption.level)))
            .where(Adoption.report_id == Report.id).scalar_subquery())


def adopted_at_least(level: AdoptionLevel) -> sa.ColumnElement[bool]:
    """WHERE clause on `Report`: `highest_level()` is `level` or above.

    Written as EXISTS over the levels that qualify, which the report_id index
    answers without computing every report's maximum.
    """
    levels = [lv.value for lv in LEVELS[rank(level):]]
    return sa.exists().where(Adoption.report_id == Report.id, Adoption.level.in_(levels))


def adopted_rank_at_least(level: AdoptionLevel) -> sa.ColumnElement[bool]:
    """`adopted_at_least(level)` read from the rank `record` keeps on the report."""
    return Report.adopted_rank >= rank(level)


def highest_levels(session: Session, report_ids: Iterable[int]) -> dict[int, AdoptionLevel]:
    """Each adopted report's highest level (reports never adopted are left out)."""
    ids = list(dict.fromkeys(report_ids))
    out: dict[int, AdoptionLevel] = {}
    for i in range(0, len(ids), 500):
        for report_id, top in session.execute(
                sa.select(Report.id, highest_level()).where(Report.id.in_(ids[i:i + 500]))):
            level = level_of(top)
            if level is not None:
                out[report_id] = level
    return out


def highest(session: Session, report: Report) -> AdoptionLevel | None:
    """The highest level that adopted `report`, or None."""
    if report.id is None:
        return None
    return highest_levels(session, [report.id]).get(report.id)


def history(session: Session, report: Report) -> list[Adoption]:
    """Every adoption of `report`, earliest first: each level with its date."""
    return list(session.scalars(sa.select(Adoption).where(Adoption.report_id == report.id)
                                .order_by(Adoption.adopted_on, Adoption.id)))


def record(session: Session, report: Report, level: AdoptionLevel | str, *,
           on: date | None = None, body: str | None = None, publication: str | None = None,
           event: ReportEvent | None = None, upward: UpwardRecord | None = None,
           user: User | None = None) -> Adoption:
    """Write the fact that `level` adopted `report` (the one writer of `Adoption` rows
    and of `Report.adopted_rank`).

    Called by `lifecycle.apply` for 采用 and 提高采用级别 and by
    `store.outputs.upward` for an outcome; checks are theirs.
    """
    row = Adoption(report_id=report.id, level=AdoptionLevel(level), adopted_on=on or today(),
                   body=body, publication=publication,
                   event_id=event.id if event is not None else None,
                   upward_id=upward.id if upward is not None else None,
                   recorded_by_id=user.id if user is not None else None)
    session.add(row)
    session.flush()
    # The report keeps the highest rank: one UPDATE, so concurrent adoptions cannot lower it.
    top = rank(row.level)
    session.execute(sa.update(Report).where(
        Report.id == report.id, sa.or_(Report.adopted_rank.is_(None), Report.adopted_rank < top))
        .values(adopted_rank=top))
    return row
