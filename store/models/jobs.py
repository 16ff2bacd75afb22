"""Scheduled jobs' runs: one row per job and due time, claimed by the worker that runs it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class JobRun(Base):
    """`job` ran (or is running) for the due time `due_at`; inserted once (`store.jobs.claim`)."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
