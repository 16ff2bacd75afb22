"""Scheduled jobs (APScheduler in background threads, beside the runner's loop).

Jobs are plain functions that open their own unit of work; the scheduler runs
them in worker threads so the event loop never waits on the database. Each
takes an optional `now`, so tests run them at any moment they like.

  housekeeping       every 10 minutes: prune update ids, web chat message ids, yesterday's
                     scan visitors and old login failures; log the outbox's health
  sweep_draft_files  hourly: files of drafts never submitted, after DRAFT_FILES_DAYS
  chase_returns      hourly: remind, then close, unanswered 退回补充 questions
  chase_reviews      hourly: tell a review level once that a report passed its deadline
  chase_transfers    daily at 09:00 office time, and once at start-up: overdue 转办
  remind_instructions  daily at 09:00 office time, and once at start-up: 批示落实 due,
                     and 督办 of those past their deadline
  build_bulletin     hourly, and once at start-up: on or after the office's day of the month,
                     last month's 通报 (claimed by INSERT … ON CONFLICT: built and sent once)
  remind_commissions hourly: each person an overdue 约稿 still waits on, reminded once

However many workers run, each job runs once per due time: the worker whose
`INSERT … ON CONFLICT` claims (job, due time) in `job_runs` runs it (`once`).

Every deadline is the office's (系统管理 → 办理时限, `store.review.deadlines`):
working days in its calendar, clock hours for urgent reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store import jobs
from store.delivery import webchat
from store.models import OutboxMessage, OutboxStatus, ProcessedUpdate, utcnow
from store.network import commissions, logins, scans
from store.outputs import bulletin
from store.reports import files, returns
from store.review import followup, followup_steps, overdue, transfers

log = logging.getLogger("minyi.scheduler")

# Telegram redelivers an update for at most a day; a week is ample margin.
KEEP_PROCESSED_UPDATES = timedelta(days=7)
# Feedback older than this and still unsent means delivery is stuck.
STUCK_AFTER = timedelta(minutes=15)
HOUSEKEEPING_EVERY = timedelta(minutes=10)
RETURNS_EVERY = timedelta(hours=1)
SWEEP_EVERY = timedelta(hours=1)
# Urgent reports run on hours, so reviews are looked at every hour, not once a day.
REVIEWS_EVERY = timedelta(hours=1)
BULLETIN_EVERY = timedelta(hours=1)
COMMISSIONS_EVERY = timedelta(hours=1)
# Transfers are chased when the office's working day starts.
OFFICE_TZ = "Asia/Shanghai"
TRANSFERS_AT_HOUR = 9


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
        webchat.prune_sends(s, now)
        scans.prune_visitors(s, now)
        logins.prune(s, now)
        jobs.prune(s, now)
        health = outbox_health(s)
    level = logging.WARNING if health.stuck(now) else logging.INFO
    log.log(level, "outbox: %d pending, %d sending, %d given up%s; pruned %d old update ids",
            health.pending, health.sending, health.dead,
            f"; oldest unsent since {health.oldest_pending:%Y-%m-%d %H:%M} UTC"
            if health.oldest_pending else "", pruned)
    return health


def sweep_draft_files(session_factory: sessionmaker[Session], upload_dir: Path, days: int,
                      now: datetime | None = None) -> files.Swept:
    """Delete what drafts never submitted left on disk `days` ago and more."""
    with session_factory() as s, s.begin():
        swept = files.sweep(s, upload_dir, (now or utcnow()) - timedelta(days=days))
    if swept.rows or swept.files:
        log.info("draft files: %d let go, %d deleted from disk (%.1f MB)", swept.rows,
                 swept.files, swept.bytes / 1024 / 1024)
    return swept


def chase_returns(session_factory: sessionmaker[Session], now: datetime | None = None) -> dict[str, int]:
    """Remind reporters of open 退回补充 questions, and close those left unanswered too long."""
    with session_factory() as s, s.begin():
        done = returns.chase(s, now or utcnow())
    if any(done.values()):
        log.info("returned reports: %(reminded)d reminded, %(expired)d closed unanswered", done)
    return done


def chase_reviews(session_factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Tell each review level of the reports that passed its deadline there (once each)."""
    with session_factory() as s, s.begin():
        done = overdue.chase(s, now or utcnow())
    if done:
        log.info("overdue in review: %d reports, their reviewers told", done)
    return done


def chase_transfers(session_factory: sessionmaker[Session],
                    now: datetime | None = None) -> dict[str, int]:
    """Remind departments of overdue transfers and escalate the long-overdue ones."""
    with session_factory() as s, s.begin():
        done = transfers.chase(s, now or utcnow())
    if any(done.values()):
        log.info("overdue transfers: %(reminded)d reminded, %(escalated)d escalated", done)
    return done


def remind_instructions(session_factory: sessionmaker[Session],
                        now: datetime | None = None) -> int:
    """Remind acting departments and the office of 批示 follow-ups due today (each date once),
    and escalate (督办) those whose deadline passed with nothing reported (each deadline once).
    Returns how many were reminded."""
    with session_factory() as s, s.begin():
        done = followup.remind(s, now or utcnow())
        escalated = followup_steps.escalate(s, now or utcnow())
    if done or escalated:
        log.info("instructions: %d due reminded, %d overdue escalated", done, escalated)
    return done


def build_bulletin(session_factory: sessionmaker[Session],
                   now: datetime | None = None) -> bulletin.Outcome | None:
    """On or after the office's bulletin day, last month's 通报: built and sent once."""
    with session_factory() as s, s.begin():
        done = bulletin.run_due(s, now or utcnow())
        if done is not None and (done.built or done.messages):
            log.info("bulletin %s: %s, %d messages queued",
                     done.bulletin.period if done.bulletin else "?",
                     "built" if done.built else "already built", done.messages)
    return done


def remind_commissions(session_factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Remind each person an overdue commission (约稿) still waits on; each one once."""
    with session_factory() as s, s.begin():
        done = commissions.remind_overdue(s, now or utcnow())
    if done:
        log.info("overdue commissions: %d people reminded", done)
    return done


# Interval jobs fall due on one grid for every worker (multiples of their period since this).
GRID = datetime(2000, 1, 1, tzinfo=UTC)


def every(period: timedelta) -> Callable[[datetime], datetime]:
    """Due times on the grid `period` apart: the latest at or before `now`."""
    def due(now: datetime) -> datetime:
        return GRID + period * ((now - GRID) // period)
    return due


def daily_at(hour: int) -> Callable[[datetime], datetime]:
    """Due times at `hour` o'clock office time: the latest at or before `now`."""
    def due(now: datetime) -> datetime:
        local = now.astimezone(ZoneInfo(OFFICE_TZ))
        at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if at > local:
            at -= timedelta(days=1)
        return at.astimezone(UTC)
    return due


@dataclass(frozen=True)
class Once:
    """`job` run only by the worker that claims its current due time (`store.jobs.claim`).

    The claim is committed before the job runs, so a job that fails is not
    run again by another worker for the same due time: it runs at the next.
    """

    name: str
    due: Callable[[datetime], datetime]
    job: Callable[..., object]

    def __call__(self, session_factory: sessionmaker[Session], *args: object) -> bool:
        with session_factory() as s, s.begin():
            claimed = jobs.claim(s, self.name, self.due(utcnow()))
        if claimed:
            self.job(session_factory, *args)
        else:
            log.debug("%s: already run for this due time by another worker", self.name)
        return claimed


def build_scheduler(session_factory: sessionmaker[Session],
                    settings: Settings) -> BackgroundScheduler:
    """A scheduler with minyi's jobs, run in its own worker threads.

    The jobs are blocking database work, so they get threads of their own
    rather than the event loop's; `shutdown(wait=True)` then waits for a
    running job to finish its unit of work instead of abandoning it. Each job
    runs once per due time however many workers have this schedule (`once`):
    interval jobs fall due on a grid shared by all, and at start-up each job
    runs for the due time just past unless some worker already has.
    """
    scheduler = BackgroundScheduler(timezone="UTC", executors={
        "default": {"type": "threadpool", "max_workers": 2}})
    started = datetime.now(tz=UTC)
    intervals: list[tuple[str, timedelta, Callable[..., object], tuple[object, ...]]] = [
        ("housekeeping", HOUSEKEEPING_EVERY, housekeeping, ()),
        ("chase_returns", RETURNS_EVERY, chase_returns, ()),
        ("sweep_draft_files", SWEEP_EVERY, sweep_draft_files,
         (settings.upload_dir, settings.draft_files_days)),
        ("chase_reviews", REVIEWS_EVERY, chase_reviews, ()),
        ("remind_commissions", COMMISSIONS_EVERY, remind_commissions, ()),
        # Hourly: a restart after the bulletin day still builds it; its claim makes it once.
        ("build_bulletin", BULLETIN_EVERY, build_bulletin, ()),
    ]
    for name, period, job, args in intervals:
        scheduler.add_job(
            Once(name, every(period), job), "interval", id=name, args=[session_factory, *args],
            seconds=period.total_seconds(), start_date=GRID, next_run_time=started,
            coalesce=True, max_instances=1,
        )
    # Transfers and instructions are chased when the office's working day starts, and at
    # start-up for the day's due time, so an office that restarts after 09:00 is not a day late.
    for name, job in (("chase_transfers", chase_transfers),
                      ("remind_instructions", remind_instructions)):
        run = Once(name, daily_at(TRANSFERS_AT_HOUR), job)
        scheduler.add_job(run, CronTrigger(hour=TRANSFERS_AT_HOUR, minute=0, timezone=OFFICE_TZ),
                          args=[session_factory], id=name, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
        scheduler.add_job(run, "date", args=[session_factory], id=f"{name}_now", run_date=started)
    return scheduler
