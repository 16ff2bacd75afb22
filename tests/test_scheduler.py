"""Scheduled housekeeping: old update ids go, the outbox's health is logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi import scheduler
from store import outbox
from store.models import Channel, OutboxStatus, ProcessedUpdate, Reporter, utcnow


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


def test_it_schedules_housekeeping(Session_: sessionmaker[Session]) -> None:  # noqa: N803
    sched = scheduler.build_scheduler(Session_)

    [job] = sched.get_jobs()
    assert job.id == "housekeeping" and job.args == (Session_,)
