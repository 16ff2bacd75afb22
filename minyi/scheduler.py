"""Scheduled jobs (APScheduler on the runner's asyncio loop).

Jobs are plain functions that open their own unit of work; the scheduler runs
them in its thread pool so the event loop never waits on the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session, sessionmaker

from store.models import OutboxMessage, OutboxStatus, ProcessedUpdate, utcnow

log = logging.getLogger("minyi.scheduler")

# Telegram redelivers an update for at most a day; a week is ample margin.
KEEP_PROCESSED_UPDATES = timedelta(days=7)
# Feedback older than this and still unsent means delivery is stuck.
STUCK_AFTER = timedelta(minutes=15)
HOUSEKEEPING_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class OutboxHealth:
    pending: int
    sending: int
    dead: int
    oldest_pending: datetime | None

    def stuck(self, now: datetime) -> bool:
        return self.oldest_pending is not None and now - self.oldest_pending > STUCK_AFTER


def prune_processed_updates(session: Session, now: datetime | None = None) -> int:
    """Forget update ids older than `KEEP_PROCESSED_UPDATES`; returns how many went."""
    cutoff = (now or utcnow()) - KEEP_PROCESSED_UPDATES
    result = session.execute(sa.delete(ProcessedUpdate).where(ProcessedUpdate.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def outbox_health(session: Session) -> OutboxHealth:
    counts: dict[str, int] = {
        status: n for status, n in session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    }
    oldest = session.scalar(
        sa.select(sa.func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
    )
    return OutboxHealth(
        pending=counts.get(OutboxStatus.PENDING, 0), sending=counts.get(OutboxStatus.SENDING, 0),
        dead=counts.get(OutboxStatus.DEAD, 0), oldest_pending=oldest,
    )


def housekeeping(session_factory: sessionmaker[Session], now: datetime | None = None) -> OutboxHealth:
    """Prune old update ids and log how the outbox is doing (a warning when it is stuck)."""
    now = now or utcnow()
    with session_factory() as s, s.begin():
        pruned = prune_processed_updates(s, now)
        health = outbox_health(s)
    level = logging.WARNING if health.stuck(now) else logging.INFO
    log.log(level, "outbox: %d pending, %d sending, %d given up%s; pruned %d old update ids",
            health.pending, health.sending, health.dead,
            f"; oldest unsent since {health.oldest_pending:%Y-%m-%d %H:%M} UTC"
            if health.oldest_pending else "", pruned)
    return health


def build_scheduler(session_factory: sessionmaker[Session]) -> AsyncIOScheduler:
    """A scheduler with minyi's jobs; the caller starts it inside the running loop."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        housekeeping, "interval", args=[session_factory], id="housekeeping",
        seconds=HOUSEKEEPING_EVERY.total_seconds(), next_run_time=datetime.now(tz=utcnow().tzinfo),
        coalesce=True, max_instances=1,
    )
    return scheduler
