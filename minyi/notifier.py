"""Delivers the outbox: feedback owed to reporters (web chat, Telegram) and staff alerts (Telegram).

Each tick claims due rows in a short transaction, delivers them one by one
and records each outcome in a transaction of its own, so a message accepted
by Telegram is marked sent before the next one goes out: a restart never
sends it again. Telegram sends stay under its flood limits (`RateLimiter`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.sender import retry_after_seconds, send
from minyi.settings import Settings
from store import outbox
from store.models import Channel, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

CLAIM_BATCH = 100


class RateLimiter:
    """Spaces sends: at most `rate` per second overall, `interval` apart per chat.

    Spacing is measured from when the previous send *finished*, so the
    server, which sees each request before we see its answer, never sees
    two closer together than allowed. `pause()` holds every send back, as
    Telegram asks after a 429.
    """

    def __init__(self, rate: int = 30, interval: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.rate = rate
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._recent: deque[float] = deque(maxlen=rate)
        self._last: dict[Hashable, float] = {}
        self._paused_until = 0.0

    def delay(self, chat: Hashable) -> float:
        """Seconds until a message may go to `chat` (0 when it may go now)."""
        now = self.clock()
        waits = [self._paused_until - now]
        if chat in self._last:
            waits.append(self._last[chat] + self.interval - now)
        if len(self._recent) >= self.rate:
            waits.append(self._recent[0] + 1.0 - now)
        return max(0.0, *waits)

    async def wait(self, chat: Hashable) -> None:
        """Sleep until a message may go to `chat`."""
        while (delay := self.delay(chat)) > 0:
            await self.sleep(delay)

    def done(self, chat: Hashable) -> None:
        """A send to `chat` has just finished (whatever its outcome)."""
        now = self.clock()
        self._recent.append(now)
        self._last[chat] = now
        if len(self._last) > 10_000:  # forget chats that have long been free
            self._last = {c: t for c, t in self._last.items() if now - t < self.interval}

    def pause(self, seconds: float) -> None:
        """Send nothing to anyone for `seconds`."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    @property
    def paused_until(self) -> float:
        """The clock reading before which nothing is sent (0 when never paused)."""
        return self._paused_until

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())


@dataclass(frozen=True)
class Due:
    """A claimed outbox row, detached from its session."""

    id: int
    channel: Channel
    chat_id: str
    text: str
    buttons: list[list[dict[str, str]]] | None
    attempts: int


class Notifier:
    """Delivers due outbox rows; `run()` loops, `tick()` is one round."""

    def __init__(self, settings: Settings,
                 session_factory: Callable[[], AbstractContextManager[Session]],
                 bot: Bot | None) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.bot = bot
        self.limiter = RateLimiter(settings.global_rate, settings.per_chat_interval)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; rest `notifier_interval` when nothing is due."""
        while not stop.is_set():
            try:
                handled = await self.tick()
            except Exception:
                log.exception("notifier tick failed")
                handled = 0
            if handled == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.notifier_interval)

    async def tick(self, now: datetime | None = None) -> int:
        """Claim what is due (as of `now`) and deliver it; returns how many rows were handled."""
        channels = [Channel.WEB] + ([Channel.TELEGRAM] if self.bot is not None else [])
        due = await asyncio.to_thread(self._claim, channels, now)
        web = [d for d in due if d.channel == Channel.WEB]
        telegram = deque(d for d in due if d.channel == Channel.TELEGRAM)
        if web:
            await asyncio.to_thread(self._record_many, web, outbox.deliver_to_web)
        while telegram:
            await self._send_next(telegram)
        return len(due)

    async def _send_next(self, queue: deque[Due]) -> None:
        """Send the first row whose chat may be written to now, waiting if none may."""
        ready = next((d for d in queue if self.limiter.delay(d.chat_id) == 0), None)
        if ready is None:
            await self.limiter.sleep(min(self.limiter.delay(d.chat_id) for d in queue))
            return
        queue.remove(ready)
        if not await self._send(ready):
            # The recipient (a reporter, or staff) blocked us: the rest of their batch is given up unsent.
            rest = [d for d in queue if d.chat_id == ready.chat_id]
            for d in rest:
                queue.remove(d)
            await asyncio.to_thread(self._record_many, rest, outbox.give_up,
                                    error="recipient blocked the bot")

    async def _send(self, due: Due) -> bool:
        """Send one row and record the outcome; False when the chat can't be written to."""
        assert self.bot is not None
        try:
            await send(self.bot, due.chat_id, due.text, due.buttons)
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            self.limiter.pause(seconds)
            await self._record(due, outbox.retry_later, error=str(exc), delay=seconds)
        except Forbidden as exc:
            await self._record(due, outbox.give_up, error=str(exc), blocked=True)
            return False
        except (BadRequest, ChatMigrated) as exc:
            # "chat not found" and the like: sending again would fail again.
            await self._record(due, outbox.give_up, error=str(exc))
        except Exception as exc:
            # Time-outs, 5xx, connection errors: Telegram may be back later.
            if isinstance(exc, InvalidToken) or not isinstance(exc, TelegramError):
                log.error("sending outbox row %s failed", due.id, exc_info=exc)
            await self._record(due, outbox.retry_later, error=f"{type(exc).__name__}: {exc}",
                               delay=outbox.backoff(due.attempts))
        else:
            await self._record(due, outbox.mark_sent)
        finally:
            self.limiter.done(due.chat_id)
        return True

    # -- the database, in short transactions off the event loop ---------------

    def _claim(self, channels: list[Channel], now: datetime | None) -> list[Due]:
        with self.session_factory() as session, session.begin():  # type: ignore[attr-defined]
            rows = outbox.claim_due(session, channels, limit=CLAIM_BATCH, now=now)
            return [Due(r.id, r.channel, r.chat_id, r.text, r.buttons, r.attempts) for r in rows]

    def _record_many(self, dues: list[Due], outcome: Callable[..., None], **kwargs: Any) -> None:
        with self.session_factory() as session, session.begin():  # type: ignore[attr-defined]
            for due in dues:
                msg = session.get(OutboxMessage, due.id)
                # Only the claim we hold is ours to settle; a row given up
                # meanwhile (its recipient blocked us) stays as it is.
                if msg is not None and msg.status == OutboxStatus.SENDING:
                    outcome(session, msg, **kwargs)

    async def _record(self, due: Due, outcome: Callable[..., None], **kwargs: Any) -> None:
        await asyncio.to_thread(self._record_many, [due], outcome, **kwargs)
