"""The figures `/healthz` and `/metrics` read, from the database, so every process agrees.

Counted from the rows rather than from one process's memory: with several web
and worker processes, any of them answers for all. The web layer only asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import OutboxMessage, OutboxStatus, Report, Reporter, utcnow

WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True)
class Backlog:
    """Outbox messages not yet sent (pending or being sent), and how long the oldest waited."""

    count: int
    oldest_age_seconds: float


def database_ok(session: Session) -> bool:
    """Whether the database answers a trivial query."""
    return session.scalar(sa.text("SELECT 1")) == 1


def backlog(session: Session, now: datetime | None = None) -> Backlog:
    count, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(WAITING))).one()
    if not count or oldest is None:
        return Backlog(0, 0.0)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = ((now or utcnow()) - oldest).total_seconds()
    return Backlog(int(count), max(0.0, age))


def backlog_by_channel(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(OutboxMessage.channel, sa.func.count())
        .where(OutboxMessage.status.in_(WAITING)).group_by(OutboxMessage.channel))
    return {str(channel): int(n) for channel, n in rows}


def deliveries(session: Session) -> dict[str, int]:
    """Outbox rows by what became of them: sent, dead (given up), retrying (pending after a
    failed attempt), pending (not yet tried) and sending (claimed now)."""
    retrying = sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.attempts > 0)
    outcome = sa.case((retrying, sa.literal("retrying")),
                      else_=sa.cast(OutboxMessage.status, sa.String))
    rows = session.execute(sa.select(outcome, sa.func.count()).group_by(outcome))
    return {str(name): int(n) for name, n in rows}


def intake_by_channel(session: Session) -> dict[str, int]:
    """Reports received, by the channel their reporter came by."""
    rows = session.execute(
        sa.select(Reporter.channel, sa.func.count(Report.id))
        .join(Reporter, Report.reporter_id == Reporter.id).group_by(Reporter.channel))
    return {str(channel): int(n) for channel, n in rows}
