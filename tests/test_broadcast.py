"""A topic call broadcast to 10,000 subscribers through the outbox and the notifier.

Telegram allows 30 messages a second overall and 1 a second per chat; at 30/s
10,000 messages take over five minutes, too slow for the suite. So the run
against the emulator raises the overall rate on both sides to `FAST_RATE`
(the emulator still answers 429 to anything faster, and the per-chat limit is
the real one), and the limiter's spacing at the real 30/s is checked on a
clock of its own over 10,000 sends.

The suite broadcasts to all 10,000 (about a minute per database);
`MINYI_BROADCAST_MEMBERS` sets another number for a quicker run.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels import registry
from minyi.notifier import Notifier, RateLimiter
from minyi.settings import Settings
from store.models import Channel, OutboxMessage, OutboxStatus, Reporter, utcnow
from store.network import topics
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.botapi_emulator import limits as emulator_limits

MEMBERS = int(os.environ.get("MINYI_BROADCAST_MEMBERS", "10000"))
SIMULATED = 10_000
FAST_RATE = 1000  # messages a second overall, test only (Telegram: 30)
FIRST_CHAT = 700_000


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[BotAPIEmulator]:
    monkeypatch.setattr(emulator_limits, "GLOBAL_RATE", FAST_RATE)  # read where the limits are checked
    with BotAPIEmulator(hang_seconds=5) as e:
        e.enforce_limits = True  # anything over the limits is answered 429, as Telegram does
        yield e


def _subscribers(session: Session, emu: BotAPIEmulator, n: int) -> None:
    for i in range(n):
        emu.user_sends_text(FIRST_CHAT + i, "/subscribe")  # the chat exists once they wrote
    session.execute(sa.insert(Reporter), [
        {"channel": Channel.TELEGRAM, "external_id": str(FIRST_CHAT + i),
         "chat_id": str(FIRST_CHAT + i), "topics_opt_in": True, "language": "zh"}
        for i in range(n)])
    session.commit()


def _deliver_all(settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
                 emu: BotAPIEmulator) -> int:
    async def run() -> int:
        request = HTTPXRequest(read_timeout=10, connection_pool_size=4)
        async with Bot(TOKEN, base_url=emu.base_url, request=request) as bot:
            notifier = Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot))
            handled = 0
            while got := await notifier.tick():
                handled += got
            # Anything retried after a fault would be due later; there should be none.
            handled += await notifier.tick(now=utcnow() + timedelta(hours=2))
            return handled

    return asyncio.run(run())


def test_it_broadcasts_a_topic_to_every_member_once_each_within_the_limits(
        settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
        emu: BotAPIEmulator) -> None:
    _subscribers(session, emu, MEMBERS)
    topic, queued = topics.publish(session, title="农村养老服务", description="请反映具体困难。",
                                   deadline=utcnow() + timedelta(days=30), created_by_id=None)
    session.commit()
    assert queued == MEMBERS

    settings = replace(settings, global_rate=FAST_RATE, per_chat_interval=1.0)
    assert _deliver_all(settings, Session_, emu) == MEMBERS

    assert emu.throttled == []  # no 429 was ever answered
    assert emu.rate_violations() == []
    per_chat = Counter(s.chat_id for s in emu.sent)
    assert len(per_chat) == MEMBERS and set(per_chat.values()) == {1}  # no one twice
    first = emu.sent_to(FIRST_CHAT)[0]
    assert "新选题：农村养老服务" in first.text
    assert first.button("围绕此选题反映") == f"~topic:{topic.id}"
    session.commit()
    statuses = Counter(session.scalars(sa.select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT: MEMBERS}


def test_it_spaces_10000_sends_at_30_a_second_with_the_real_limits() -> None:
    """The limiter the notifier uses, at Telegram's rate, on a simulated clock."""

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

        async def sleep(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    limiter = RateLimiter(30, 1.0, clock=clock, sleep=clock.sleep)
    times: list[float] = []

    async def send_all() -> None:
        for chat in range(SIMULATED):
            await limiter.wait(chat)
            times.append(clock.now)
            clock.now += 0.001  # the request itself
            limiter.done(chat)

    asyncio.run(send_all())
    # Never 31 within a second; the whole run takes at least 10,000 / 30 seconds.
    assert all(times[i + 30] - times[i] >= 1.0 for i in range(len(times) - 30))
    assert times[-1] >= (SIMULATED - 30) / 30
