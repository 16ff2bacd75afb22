"""How long a report waited: working days from filing to the first answer and to the decision.

The only writer of `Report.answered_at`, `Report.answer_workdays` and
`Report.decision_workdays` (with `Report.decided_at`, which the lifecycle
sets): the lifecycle asks `on_move` for the columns a move sets, and
`recount` brings every stored count back in line with the office's calendar
when that calendar changes (`store.review.deadlines.save`) or after a
migration. The 统计 dashboard then groups by the stored counts instead of
reading each report's history (issue 13: a year of a million reports in ≤ 1 s).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import workdays
from store.models import Report

# The office's first answer to the reporter: it decided, asked for more, or merged it.
ANSWERS = ("adopt", "decline", "return", "merge")
EPOCH = date(1970, 1, 1)


def on_move(session: Session, report: Report, action: str, *, decided: bool,
            now: datetime) -> dict[str, Any]:
    """The timing columns a move of `report` by `action` sets (`decided`: it reaches a decision)."""
    from store.review import deadlines

    changes: dict[str, Any] = {}
    if action in ANSWERS and report.answered_at is None:
        changes["answered_at"] = now
        changes["answer_workdays"] = max(0, deadlines.working_days_between(
            session, report.created_at, now))
    if decided:
        changes["decision_workdays"] = max(0, deadlines.working_days_between(
            session, report.created_at, now))
    return changes


class Counter:
    """Working days between two of the office's day numbers, each day of the calendar asked once."""

    def __init__(self, calendar: workdays.Calendar) -> None:
        self.calendar = calendar
        self.ordinal: dict[int, int] = {}  # day number -> working days counted from the first held

    def __call__(self, filed: int, answered: int) -> int:
        """Working days after `filed` up to `answered` (as `workdays.working_days_between`), ≥ 0."""
        ordinal = self.ordinal
        for n in (filed, answered):
            if n not in ordinal:
                self._extend(n)
        return max(0, ordinal[answered] - ordinal[filed])

    def _extend(self, day: int) -> None:
        ordinal, calendar = self.ordinal, self.calendar
        if not ordinal:
            ordinal[day] = 0
            return
        low, high = min(ordinal), max(ordinal)
        while day > high:
            high += 1
            ordinal[high] = ordinal[high - 1] + calendar.is_workday(EPOCH + timedelta(days=high))
        while day < low:  # going back: the later day counts itself if it is a working day
            ordinal[low - 1] = ordinal[low] - calendar.is_workday(EPOCH + timedelta(days=low))
            low -= 1


def day_number(moment: Any, dialect: str) -> sa.ColumnElement[int]:
    """The office's date of a stored UTC moment, as days since 1970-01-01 (Beijing, UTC+8)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.floor((sa.extract("epoch", moment) + 28800) / 86400), sa.Integer)
    return sa.cast(sa.func.julianday(moment) + sa.literal(1 / 3) - sa.literal(2440587.5), sa.Integer)


def recount(session: Session, batch: int = 5000) -> int:
    """Every report's stored counts, recounted in the office's calendar; returns how many changed.

    The database gives each report's days as the office's day numbers, so the
    calendar counts each pair of days once; only reports whose counts differ
    are written (after a calendar change: those that waited over the days it moved).
    """
    from store.review import deadlines

    count = Counter(deadlines.rules(session).calendar)
    dialect = session.get_bind().dialect.name
    query = (sa.select(Report.id, day_number(Report.created_at, dialect),
                       day_number(Report.answered_at, dialect), day_number(Report.decided_at, dialect),
                       Report.answer_workdays, Report.decision_workdays)
             .where(sa.or_(Report.answered_at.is_not(None), Report.decided_at.is_not(None),
                           Report.answer_workdays.is_not(None), Report.decision_workdays.is_not(None))))
    table = sa.table("reports", sa.column("id"), sa.column("answer_workdays"),
                     sa.column("decision_workdays"))
    update = (sa.update(table).where(table.c.id == sa.bindparam("rid"))
              .values(answer_workdays=sa.bindparam("a"), decision_workdays=sa.bindparam("d")))
    total = 0
    last = 0
    while True:  # by ranges of ids: SQLite cannot update a table a cursor still reads
        rows = session.execute(query.where(Report.id > last).order_by(Report.id).limit(batch)).all()
        if not rows:
            return total
        last = rows[-1][0]
        changed = []
        for rid, f, a, d, stored_a, stored_d in rows:
            want = (None if a is None else count(f, a), None if d is None else count(f, d))
            if want != (stored_a, stored_d):
                changed.append({"rid": rid, "a": want[0], "d": want[1]})
        if changed:
            session.execute(update, changed)
            total += len(changed)
