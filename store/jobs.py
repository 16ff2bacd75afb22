"""Which worker runs a scheduled job at a due time: the one whose INSERT claimed it.

Every `minyi worker` (and `minyi serve`) has the same schedule; when a job
falls due, each tries to insert (job, due time) with `INSERT … ON CONFLICT DO
NOTHING`, and only the one that inserted runs it. A job therefore runs once
per due time however many workers there are, and a worker started late
does not run again what another has run. Old rows are pruned by housekeeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import utcnow
from store.models.jobs import JobRun
from store.upsert import insert

KEEP = timedelta(days=30)


def claim(session: Session, job: str, due_at: datetime) -> bool:
    """True when this call claimed `job` at `due_at` (nobody had); commit before running it."""
    stmt = (insert(session, JobRun).values(job=job, due_at=due_at, started_at=utcnow())
            .on_conflict_do_nothing(index_elements=[JobRun.job, JobRun.due_at])
            .returning(JobRun.job))
    return session.scalar(stmt) is not None


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget runs older than `KEEP`; returns how many went."""
    result = session.execute(sa.delete(JobRun).where(JobRun.due_at < (now or utcnow()) - KEEP))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
