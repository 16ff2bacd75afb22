"""Several workers on one PostgreSQL database: each outbox row sent once, each chat's rows in
the order written (also across retries), each scheduled job once per due time."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Registry
from bot.channels.base import BaseChannel, Capabilities, Message, Outcome, RatePolicy
from minyi import scheduler
from minyi.notifier import Notifier
from minyi.settings import Settings
from store import jobs
from store.delivery import outbox
from store.models import Channel, JobRun, OutboxMessage, OutboxStatus, Reporter

CHATS, PER_CHAT, WORKERS = 8, 12, 3
# All workers claim as of the same moment ahead, so a retry's back-off is already over.
AHEAD = timedelta(hours=3)


@pytest.fixture
def pg(db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip("several workers at once need PostgreSQL (SQLite has one writer: minyi serve)")


class Flaky(BaseChannel):
    """A channel that records what it was given, by which worker, and fails now and then."""

    kind = Channel.TELEGRAM
    name = "Telegram"
    capabilities = Capabilities()
    rate = RatePolicy()

    def __init__(self, worker: int, sent: list[tuple[int, str, int]], lock: threading.Lock,
                 seed: int, at_once: int = 1) -> None:
        self.worker, self.sent, self.lock = worker, sent, lock
        self.random = random.Random(seed)
        self.rate = RatePolicy(at_once=at_once)
        self.flying = self.most_at_once = 0

    async def deliver(self, message: Message) -> Outcome:
        self.flying += 1
        self.most_at_once = max(self.most_at_once, self.flying)
        await asyncio.sleep(self.random.random() / 200)  # let the workers interleave
        self.flying -= 1
        if self.random.random() < 0.25:
            return Outcome.retry("timed out", after=0.0)
        with self.lock:
            self.sent.append((self.worker, message.chat_id, message.id))
        return Outcome.sent()

    def links(self, token: str) -> None:
        return None


def _deliver_with(worker: int, settings: Settings, sessions: sessionmaker[Session],
                  sent: list[tuple[int, str, int]], lock: threading.Lock,
                  start: threading.Barrier, at_once: int, most: list[int]) -> None:
    channel = Flaky(worker, sent, lock, seed=worker, at_once=at_once)
    notifier = Notifier(settings, sessions, Registry({Channel.TELEGRAM: channel}))

    def unsent() -> int:
        with sessions() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.status != OutboxStatus.SENT)) or 0

    async def loop() -> None:
        # Until everything has gone: a worker may find nothing to claim for a while
        # (another holds every chat's oldest row) and still have work later.
        while unsent():
            await notifier.tick(now=datetime.now(UTC) + AHEAD)
            await asyncio.sleep(0.01)

    start.wait()
    asyncio.run(loop())
    most.append(channel.most_at_once)


@pytest.mark.parametrize("at_once", [1, 6], ids=["one at a time", "six in flight"])
def test_it_sends_each_message_once_and_each_chats_in_order_with_three_workers(
    at_once: int, pg: None, settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
    session: Session,
) -> None:
    written: dict[str, list[int]] = {}
    for c in range(CHATS):
        reporter = Reporter(channel=Channel.TELEGRAM, external_id=f"u{c}", chat_id=f"chat{c}")
        session.add(reporter)
        session.flush()
        for i in range(PER_CHAT):
            msg = outbox.enqueue(session, reporter, f"第{i}条")
            assert msg is not None
            session.flush()
            written.setdefault(reporter.chat_id, []).append(msg.id)
    session.commit()
    sent: list[tuple[int, str, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)
    most: list[int] = []
    threads = [threading.Thread(target=_deliver_with,
                                args=(w, settings, Session_, sent, lock, start, at_once, most))
               for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    counts = Counter(message_id for _, _, message_id in sent)
    assert [m for m, n in counts.items() if n > 1] == []  # no message twice
    assert len(counts) == CHATS * PER_CHAT  # and none lost
    for chat, ids in written.items():
        assert [m for _, c, m in sent if c == chat] == ids  # in the order written
    assert len({w for w, _, _ in sent}) > 1  # the work was shared
    assert max(most) > 1 if at_once > 1 else max(most) == 1  # several in flight in one worker
    statuses = Counter(session.scalars(sa.select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT: CHATS * PER_CHAT}
    retried = session.scalar(sa.select(sa.func.count()).where(OutboxMessage.attempts > 1))
    assert retried  # the order held across retries, not only without them


def test_it_runs_a_scheduled_job_once_per_due_time_with_three_schedulers(
    pg: None, Session_: sessionmaker[Session], session: Session,  # noqa: N803
) -> None:
    runs: list[str] = []
    lock = threading.Lock()

    def job(sessions: sessionmaker[Session]) -> None:
        with lock:
            runs.append(threading.current_thread().name)

    once = scheduler.Once("chase_reviews", scheduler.every(timedelta(hours=1)), job)
    for _ in range(2):  # twice within the same hour: the second round runs nothing
        start = threading.Barrier(WORKERS)

        def worker(start: threading.Barrier = start) -> None:
            start.wait()
            once(Session_)

        threads = [threading.Thread(target=worker, name=f"worker{w}") for w in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)

    assert len(runs) == 1
    [claimed] = session.scalars(sa.select(JobRun))
    assert claimed.job == "chase_reviews"
    assert claimed.due_at == scheduler.every(timedelta(hours=1))(claimed.started_at)


def test_it_gives_each_due_time_to_one_claim(session: Session) -> None:
    nine = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in the office's time zone

    assert jobs.claim(session, "chase_transfers", nine)
    assert not jobs.claim(session, "chase_transfers", nine)
    assert jobs.claim(session, "remind_instructions", nine)
    assert jobs.claim(session, "chase_transfers", nine + timedelta(days=1))
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 3


def test_it_puts_due_times_on_one_grid_for_every_worker() -> None:
    hourly = scheduler.every(timedelta(hours=1))
    daily = scheduler.daily_at(9)

    assert hourly(datetime(2026, 12, 7, 5, 59, 59, tzinfo=UTC)) == datetime(2026, 12, 7, 5, tzinfo=UTC)
    assert hourly(datetime(2026, 12, 7, 6, 0, 1, tzinfo=UTC)) == datetime(2026, 12, 7, 6, tzinfo=UTC)
    # 08:59 in Shanghai is before the day's 09:00: yesterday's due time; 09:01 is today's.
    assert daily(datetime(2026, 12, 7, 0, 59, tzinfo=UTC)) == datetime(2026, 12, 6, 1, tzinfo=UTC)
    assert daily(datetime(2026, 12, 7, 1, 1, tzinfo=UTC)) == datetime(2026, 12, 7, 1, tzinfo=UTC)
