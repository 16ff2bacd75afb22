"""Issue numbers: 2026年第12期 per series and year, and a running total per series.

Each number comes from one statement on a counter row (`INSERT ... ON
CONFLICT DO UPDATE ... RETURNING`): the row lock orders concurrent sign-offs
of one series, and a sign-off that rolls back takes its number back with it,
so numbers are never skipped or given twice.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Counter, JournalIssue

# Issues are dated, and years turn, on Beijing time.
LOCAL = ZoneInfo("Asia/Shanghai")


def next_value(session: Session, name: str) -> int:
    """Add one to counter `name` (made at 1 the first time) and return the new value."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    upsert = insert(Counter).values(name=name, value=1).on_conflict_do_update(
        index_elements=[Counter.name], set_={"value": Counter.value + 1})
    value = session.execute(upsert.returning(Counter.value)).scalar_one()
    return int(value)


def allocate(session: Session, issue: JournalIssue, now: datetime) -> None:
    """Give `issue` the next number of its series in `now`'s (Beijing) year, and the next total."""
    year = now.astimezone(LOCAL).year
    issue.year = year
    issue.number = next_value(session, f"journal:{issue.series_id}:{year}")
    issue.total_number = next_value(session, f"journal:{issue.series_id}:total")


def label(issue: JournalIssue) -> str:
    """`2026年第12期`, or 草稿 for an issue not yet numbered."""
    if issue.number is None:
        return "草稿（未编号）"
    return f"{issue.year}年第{issue.number}期"


def total_label(issue: JournalIssue) -> str:
    return f"总第{issue.total_number}期" if issue.total_number is not None else ""
