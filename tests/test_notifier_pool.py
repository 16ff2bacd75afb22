"""The notifier sends several messages at once, within Telegram's limits, against an emulator
that takes 150 ms to answer each call: overlap, per-chat order under retries, and outcomes
recorded as soon as they are known."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels import registry
from bot.channels.base import Message, Outcome
from minyi.notifier import Notifier, _Round
from minyi.settings import Settings
from store.delivery import outbox
from store.models import Channel, OutboxMessage, OutboxStatus, Reporter
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.test_notifier import _tick

LATENCY = 0.15


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator(hang_seconds=5, latency=LATENCY, enforce_limits=True) as e:
        yield e


def _owe(session: Session, emu: BotAPIEmulator, chats: int, each: int) -> dict[int, list[str]]:
    """`each` messages to each of `chats` chats, written round by round; the texts per chat."""
    emu.add_chats([2000 + c for c in range(chats)])
    reporters = [Reporter(channel=Channel.TELEGRAM, external_id=str(2000 + c), chat_id=str(2000 + c))
                 for c in range(chats)]
    session.add_all(reporters)
    session.flush()
    written: dict[int, list[str]] = {}
    for n in range(each):
        for reporter in reporters:
            text = f"第{n + 1}条反馈"
            outbox.enqueue(session, reporter, text)
            written.setdefault(int(reporter.chat_id), []).append(text)
    session.commit()
    return written


def _statuses(session: Session) -> set[OutboxStatus]:
    session.commit()
    return set(session.scalars(sa.select(OutboxMessage.status)))


def test_it_has_several_sends_in_flight_at_once(
    settings: Settings, Session_: sessionmaker[Session], session: Session, emu: BotAPIEmulator  # noqa: N803
) -> None:
    _owe(session, emu, chats=24, each=1)

    assert _tick(settings, Session_, emu) == 24

    # 30/s with 150 ms per call needs four or five calls open at once; one at a time
    # (as the notifier sent before) reaches a fifth of the rate.
    assert emu.most_at_once >= 3
    spans = sorted(emu.send_spans)
    busy = sum(end - start for start, end in spans)
    assert busy > 1.5 * (spans[-1][1] - spans[0][0])  # the calls overlapped, not queued
    assert emu.throttled == [] and emu.rate_violations() == []
    assert _statuses(session) == {OutboxStatus.SENT}


@pytest.mark.parametrize("fault", ["500", "hang"])
def test_it_keeps_each_chats_order_when_a_send_fails_among_many_in_flight(
    fault: str, settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator,
) -> None:
    written = _owe(session, emu, chats=6, each=3)
    emu.fail_next(fault)  # whichever first message arrives first fails (or never answers)
    notifier = Notifier(settings, Session_, None)  # type: ignore[arg-type]

    later = 0.0
    for _ in range(12):
        _tick(settings, Session_, emu, later=later, read_timeout=0.5, notifier=notifier)
        if _statuses(session) == {OutboxStatus.SENT}:
            break
        later += 10  # past any back-off
    assert _statuses(session) == {OutboxStatus.SENT}

    retried = session.scalar(sa.select(sa.func.count()).where(OutboxMessage.attempts > 1))
    assert retried == 1
    for chat, texts in written.items():
        assert emu.texts(chat) == texts  # once each, in the order written
    assert emu.throttled == []


def test_it_records_each_outcome_with_the_claim_and_with_no_row_left_sending(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    db_engine: sa.Engine, emu: BotAPIEmulator,
) -> None:
    _owe(session, emu, chats=20, each=1)
    commits: list[int] = []

    def committed(conn: sa.Connection) -> None:
        commits.append(1)

    sa.event.listen(db_engine, "commit", committed)
    try:
        assert _tick(settings, Session_, emu) == 20
    finally:
        sa.event.remove(db_engine, "commit", committed)

    assert _statuses(session) == {OutboxStatus.SENT}
    # One transaction claims; outcomes known together share a write, none is written twice.
    assert 2 <= len(commits) <= 21


def test_it_records_an_outcome_at_once_while_other_sends_are_still_in_flight(
    settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
) -> None:
    """A worker killed between a channel's answer and its record sends that message again
    after the lease (Telegram cannot be asked whether it went): an outcome must not wait for
    the others' to be written (the crash drill doubled messages when outcomes waited 0.5 s)."""
    async def written_at_once() -> bool:
        round_ = _Round(Notifier(settings, Session_, registry(settings, Session_)),
                        stop=asyncio.Event())
        in_flight = asyncio.create_task(asyncio.sleep(60))
        try:
            round_.sends.add(in_flight)
            round_.settled.append((Message(1, Channel.TELEGRAM, "42", "您的信息已被采用", None, 0),
                                   Outcome.sent()))
            round_.more = False  # nothing left to claim: only the outcome calls for a write
            round_._write_if_due()
            started = round_.writing is not None and not round_.settled
            if round_.writing is not None:
                await round_.writing
            return started
        finally:
            in_flight.cancel()

    assert asyncio.run(written_at_once())


def test_it_hands_back_what_it_claimed_but_did_not_send_when_stopped(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator,
) -> None:
    _owe(session, emu, chats=40, each=1)
    settings = replace(settings, notifier_interval=0.05)

    async def run_briefly() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            stop = asyncio.Event()
            notifier = Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot))
            task = asyncio.create_task(notifier.run(stop))
            while len(emu.sent) < 5:
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(task, 10)

    asyncio.run(run_briefly())
    session.commit()
    rows = list(session.scalars(sa.select(OutboxMessage)))
    sent = {r.chat_id for r in rows if r.status == OutboxStatus.SENT}
    assert sent == {str(s.chat_id) for s in emu.sent}  # every send it made is recorded
    waiting = [r for r in rows if r.status != OutboxStatus.SENT]
    assert waiting and {r.status for r in waiting} == {OutboxStatus.PENDING}  # none left claimed
    assert {r.attempts for r in waiting} == {0}


def test_it_sends_a_row_once_when_its_lease_runs_out_while_it_waits_in_the_queue(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator,
) -> None:
    """A row claimed and still waiting for its turn (the rate, its chat's interval) when its
    lease ends is claimed again, by the same worker too: it must still go once. With no lease
    at all every claim takes every waiting row again (the crash drill's short lease doubled
    adoption messages so)."""
    written = _owe(session, emu, chats=40, each=2)
    settings = replace(settings, notifier_interval=0.05, outbox_lease_seconds=0)

    async def run_until_sent() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            stop = asyncio.Event()
            notifier = Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot))
            task = asyncio.create_task(notifier.run(stop))
            for _ in range(1200):
                if _statuses(session) == {OutboxStatus.SENT}:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 20)

    asyncio.run(run_until_sent())

    assert _statuses(session) == {OutboxStatus.SENT}
    for chat, texts in written.items():
        assert emu.texts(chat) == texts  # once each, in the order written


def test_two_workers_send_each_row_once_while_one_holds_rows_waiting_past_the_lease(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
) -> None:
    """Worker A claims 36 chats' messages at once and, at 6 a second, holds the last ones
    in its queue for about 6 s, three leases; worker B claims all along. A renews what it
    holds every third of the lease, so B never takes a row A will still send (without the
    renewal B sent every row left waiting past the lease, and A sent it as well)."""
    with BotAPIEmulator(latency=0.02) as emu:
        written = _owe(session, emu, chats=36, each=1)
        settings = replace(settings, notifier_interval=0.05, outbox_lease_seconds=2,
                           global_rate=6)

        async def run_both() -> None:
            async with Bot(TOKEN, base_url=emu.base_url) as bot:
                stop = asyncio.Event()
                a = Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot))
                first = asyncio.create_task(a.run(stop))
                while not _statuses(session) & {OutboxStatus.SENDING}:
                    await asyncio.sleep(0.01)  # A holds every row before B starts
                b = Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot))
                second = asyncio.create_task(b.run(stop))
                for _ in range(600):
                    if _statuses(session) == {OutboxStatus.SENT}:
                        break
                    await asyncio.sleep(0.05)
                stop.set()
                await asyncio.wait_for(asyncio.gather(first, second), 20)

        asyncio.run(run_both())

        assert _statuses(session) == {OutboxStatus.SENT}
        for chat, texts in written.items():
            assert emu.texts(chat) == texts  # once each
