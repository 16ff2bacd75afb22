"""Scheduled jobs: housekeeping, chasing returned reports and overdue transfers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi import scheduler
from minyi.settings import Settings
from store.delivery import outbox
from store.models import (
    Channel,
    CollectionPoint,
    OutboxStatus,
    ProcessedUpdate,
    Reporter,
    ReportStatus,
    Role,
    StaffNotice,
    User,
    utcnow,
)
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import transfers
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


def test_it_forgets_update_ids_older_than_a_week(
    Session_: sessionmaker[Session],  # noqa: N803
) -> None:
    now = utcnow()
    with Session_() as s, s.begin():
        s.add_all([
            ProcessedUpdate(channel="telegram", update_id="1", created_at=now - timedelta(days=8)),
            ProcessedUpdate(channel="web", update_id="2", created_at=now - timedelta(days=7, hours=1)),
            ProcessedUpdate(channel="telegram", update_id="3", created_at=now - timedelta(days=6)),
            ProcessedUpdate(channel="telegram", update_id="4", created_at=now),
        ])

    health = scheduler.housekeeping(Session_, now=now)

    with Session_() as s:
        assert sorted(s.scalars(sa.select(ProcessedUpdate.update_id))) == ["3", "4"]
    assert (health.pending, health.sending, health.dead) == (0, 0, 0)


def test_it_warns_when_feedback_is_stuck(
    Session_: sessionmaker[Session], caplog: pytest.LogCaptureFixture,  # noqa: N803
) -> None:
    now = utcnow()
    with Session_() as s, s.begin():
        reporter = Reporter(channel=Channel.TELEGRAM, external_id="1", chat_id="1")
        s.add(reporter)
        s.flush()
        old = outbox.enqueue(s, reporter, "旧的反馈")
        assert old is not None
        old.created_at = now - timedelta(hours=1)
        dead = outbox.enqueue(s, reporter, "发不出去")
        assert dead is not None
        dead.status = OutboxStatus.DEAD
        outbox.enqueue(s, reporter, "新的反馈")

    with caplog.at_level(logging.INFO, logger="minyi.scheduler"):
        health = scheduler.housekeeping(Session_, now=now)

    assert (health.pending, health.sending, health.dead) == (2, 0, 1)
    assert health.stuck(now)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "2 pending" in record.getMessage() and "1 given up" in record.getMessage()


def test_it_logs_a_healthy_outbox_at_info(
    Session_: sessionmaker[Session], caplog: pytest.LogCaptureFixture,  # noqa: N803
) -> None:
    with Session_() as s, s.begin():
        reporter = Reporter(channel=Channel.WEB, external_id="w1", chat_id="w1")
        s.add(reporter)
        s.flush()
        outbox.enqueue(s, reporter, "刚刚的反馈")

    with caplog.at_level(logging.INFO, logger="minyi.scheduler"):
        health = scheduler.housekeeping(Session_)

    assert not health.stuck(utcnow())
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_it_schedules_housekeeping_returns_reviews_and_transfers(
    Session_: sessionmaker[Session],  # noqa: N803
) -> None:
    settings = Settings()
    sched = scheduler.build_scheduler(Session_, settings)

    jobs = {job.id: job for job in sched.get_jobs()}
    assert set(jobs) == {"housekeeping", "chase_returns", "chase_reviews", "chase_transfers",
                         "chase_transfers_now", "remind_instructions", "remind_instructions_now",
                         "sweep_draft_files", "build_bulletin", "remind_commissions"}
    assert jobs["sweep_draft_files"].args == (Session_, settings.upload_dir, 7)
    assert jobs["housekeeping"].args == (Session_,)
    # Every limit is the office's (系统管理 → 办理时限), read by the job itself.
    assert jobs["chase_returns"].args == (Session_,)
    assert jobs["chase_returns"].trigger.interval == timedelta(hours=1)
    assert jobs["chase_reviews"].func.job is scheduler.chase_reviews
    assert jobs["chase_reviews"].trigger.interval == timedelta(hours=1)
    daily = jobs["chase_transfers"].trigger
    assert str(daily.timezone) == "Asia/Shanghai"
    fields = {f.name: str(f) for f in daily.fields}
    assert (fields["hour"], fields["minute"]) == ("9", "0")
    assert jobs["chase_transfers_now"].func.job is scheduler.chase_transfers
    reminders = {f.name: str(f) for f in jobs["remind_instructions"].trigger.fields}
    assert (reminders["hour"], reminders["minute"]) == ("9", "0")
    assert str(jobs["remind_instructions"].trigger.timezone) == "Asia/Shanghai"
    assert jobs["remind_instructions_now"].func.job is scheduler.remind_instructions
    # 通报: hourly from start-up; the office's day is read by the job, the claim makes it once.
    assert jobs["build_bulletin"].func.job is scheduler.build_bulletin
    assert jobs["build_bulletin"].trigger.interval == timedelta(hours=1)


def test_the_jobs_chase_returns_and_transfers_in_their_own_unit_of_work(
    Session_: sessionmaker[Session], session: Session, point: CollectionPoint,  # noqa: N803
    admin: User, network: Network,
) -> None:
    returned = make_report(session, point, title="人民路路灯长期不亮")
    asked = lifecycle.apply(session, returned, Action.RETURN, user=admin, note="请补充位置")
    moved = make_report(session, title="农贸市场占道经营", unit=network.county)
    adopt(session, moved, admin)
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    # Monday 2 March 2026, 09:00 in the office: due Wednesday, escalated after Thursday.
    monday = datetime(2026, 3, 2, 1, tzinfo=UTC)
    transfers.transfer(session, moved, admin, department=network.roads, due_days=2,
                       escalate_days=1, now=monday)
    session.commit()
    assert asked.report.due_at is not None

    assert scheduler.chase_returns(Session_, now=asked.report.due_at + timedelta(minutes=1)) == \
        {"reminded": 0, "expired": 1}
    assert scheduler.chase_transfers(Session_, now=monday + timedelta(days=4)) == \
        {"reminded": 1, "escalated": 1}

    session.rollback()  # end the read snapshot
    session.refresh(returned)
    assert returned.status is ReportStatus.CLOSED
    kinds = session.scalars(sa.select(StaffNotice.kind).where(StaffNotice.user_id == roads.id))
    assert "overdue" in list(kinds)
