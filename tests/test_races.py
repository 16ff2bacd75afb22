"""Counters and "get or create" under real concurrency (issue 15).

Each runs on SQLite and, when `MINYI_TEST_POSTGRES_URL` is set, on PostgreSQL,
where requests really overlap: threads start together at a barrier and every
one must succeed, with exactly one row where one is due.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store import db
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig, Inbound
from store.models import Channel, Conversation, Counter, OfficeSetting, PointScan, ProcessedUpdate, Reporter
from store.reports import queries
from store.review import chain
from tests.conftest import SECRET

THREADS = 8


def together(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run `work(i)` in `n` threads released at once; every result, or the first error raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001  (re-raised below, in the test's thread)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_it_counts_simultaneous_first_scans_of_a_point_without_an_error(
        settings: Settings, Session_: sessionmaker[Session], session: Session, point,
        point_token):
    from web import create_app

    # Behind a proxy that says each thread is a phone of its own address.
    app = create_app(dataclasses.replace(settings, trusted_proxies=1), session_factory=Session_)

    def scan(i: int) -> int:
        client = app.test_client()
        return int(client.get(f"/c/{point_token}",
                              headers={"X-Forwarded-For": f"10.0.0.{i + 1}"}).status_code)

    assert together(scan) == [200] * THREADS
    session.rollback()
    rows = session.scalars(sa.select(PointScan)).all()
    assert [(r.point_id, r.count) for r in rows] == [(point.id, THREADS)]


def test_it_makes_one_reporter_and_one_conversation_of_simultaneous_first_messages(
        Session_: sessionmaker[Session], session: Session, tmp_path, point_token):
    engine = Engine(EngineConfig(SECRET, tmp_path / "uploads", flood_burst=100))

    def first_message(i: int) -> int:
        inbound = Inbound(channel=Channel.TELEGRAM, user_id="4242", chat_id="4242",
                          command="start", args=point_token, update_id=1000 + i)
        with db.unit(Session_) as work:  # as the Telegram channel answers
            return len(engine.handle(work, inbound))

    assert all(n > 0 for n in together(first_message))
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Reporter)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1


def test_it_handles_an_update_delivered_twice_at_once_exactly_once(
        Session_: sessionmaker[Session], session: Session, tmp_path):
    engine = Engine(EngineConfig(SECRET, tmp_path / "uploads", flood_burst=100))

    def deliver(_i: int) -> int:
        inbound = Inbound(channel=Channel.TELEGRAM, user_id="77", chat_id="77", command="start",
                          update_id=555)
        with db.unit(Session_) as work:  # as the Telegram channel answers
            return len(engine.handle(work, inbound))

    answered = together(deliver)
    # One delivery applies the update; each other one, finding it applied, asks again what
    # stands (as after a crash between commit and answer), so nobody is left without a question.
    assert all(n > 0 for n in answered)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ProcessedUpdate)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1


def test_it_numbers_the_first_reports_of_a_year_at_once_without_a_gap_or_a_clash(
        Session_: sessionmaker[Session], session: Session):
    def number(_i: int) -> str:
        with Session_() as s, s.begin():
            return queries.next_tracking_no(s)

    got = together(number)
    assert sorted(got) == [f"{got[0][:4]}-{n:06d}" for n in range(1, THREADS + 1)]
    session.rollback()
    assert session.scalars(sa.select(Counter.value)).all() == [THREADS]


def test_it_writes_an_office_setting_from_two_admins_at_once(Session_: sessionmaker[Session],
                                                            session: Session):
    names = sorted(chain.CHAINS)

    def choose(i: int) -> None:
        with Session_() as s, s.begin():
            chain.set_chain(s, names[i % len(names)])

    together(choose)
    session.rollback()
    rows = session.scalars(sa.select(OfficeSetting).where(OfficeSetting.key == chain.SETTING_KEY)).all()
    assert len(rows) == 1 and rows[0].value["chain"] in names
