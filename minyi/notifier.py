"""Delivers the outbox: feedback owed to reporters and staff alerts, on whichever channel.

Each tick claims due rows for the enabled channels (the registry's; rows for
a channel switched off wait until it is back), at most one per chat (the
oldest it is owed: `outbox.claim_due`), delivers them one by one
through their channel and records each outcome in a transaction of its own,
so a message accepted by a channel is marked sent before the next one goes
out: a restart never sends it again. Each channel has its own `RateLimiter`
built from its rate policy; outcomes are recorded alike for every channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractContextManager, suppress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.channels import Registry
from bot.channels.base import ChannelPort, Message, Outcome, RatePolicy, Status
from minyi.settings import Settings
from store import limits
from store.delivery import outbox
from store.models import Channel, OutboxMessage, OutboxStatus
from store.ops import logctx
from store.reports import details

log = logging.getLogger(__name__)

CLAIM_BATCH = 100


class RateLimiter:
    """Spaces sends: at most `rate` per second overall (None: any), `interval` apart per chat.

    Spacing is measured from when the previous send *finished*, so the
    server, which sees each request before we see its answer, never sees
    two closer together than allowed. `pause()` holds every send back, as
    a channel asks after a 429 or a quota error.
    """

    def __init__(self, rate: int | None = 30, interval: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 shared: limits.Counts | None = None, key: str = "send") -> None:
        self.rate = rate
        self.interval = interval
        # With Redis (REDIS_URL), every worker's sends count against one budget.
        self.shared = shared
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self._recent: deque[float] = deque(maxlen=rate or 1)
        self._last: dict[Hashable, float] = {}
        self._paused_until = 0.0

    def delay(self, chat: Hashable) -> float:
        """Seconds until a message may go to `chat` (0 when it may go now)."""
        now = self.clock()
        waits = [self._paused_until - now]
        if chat in self._last:
            waits.append(self._last[chat] + self.interval - now)
        if self.rate and len(self._recent) >= self.rate:
            waits.append(self._recent[0] + 1.0 - now)
        return max(0.0, *waits)

    async def wait(self, chat: Hashable) -> None:
        """Sleep until a message may go to `chat`."""
        while (delay := self.delay(chat)) > 0:
            await self.sleep(delay)

    def take(self, chat: Hashable) -> float:
        """With a shared budget: 0 when a send to `chat` may start now (and is counted),
        else seconds to wait; without one, always 0 (`delay` has said)."""
        if self.shared is None:
            return 0.0
        return self.shared.take(self.key, str(chat), self.rate, self.interval)

    def done(self, chat: Hashable) -> None:
        """A send to `chat` has just finished (whatever its outcome)."""
        if self.shared is not None:
            self.shared.done(self.key, str(chat), self.interval)
        now = self.clock()
        self._recent.append(now)
        self._last[chat] = now
        if len(self._last) > 10_000:  # forget chats that have long been free
            self._last = {c: t for c, t in self._last.items() if now - t < self.interval}

    def pause(self, seconds: float) -> None:
        """Send nothing to anyone for `seconds`."""
        if self.shared is not None:
            self.shared.pause(self.key, seconds)
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    @property
    def paused_until(self) -> float:
        """The clock reading before which nothing is sent (0 when never paused)."""
        return self._paused_until

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    @classmethod
    def of(cls, policy: RatePolicy, kind: str = "send") -> RateLimiter:
        """The limiter for a channel's policy; shared through Redis when REDIS_URL is set."""
        return cls(policy.overall, policy.per_recipient, shared=limits.redis(),
                   key=f"send:{kind}")


class Notifier:
    """Delivers due outbox rows through `registry`; `run()` loops, `tick()` is one round."""

    def __init__(self, settings: Settings,
                 session_factory: Callable[[], AbstractContextManager[Session]],
                 registry: Registry) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.registry = registry
        # Kept across ticks (and across a registry rebuilt for the same channels).
        self.limiters: dict[Channel, RateLimiter] = {}

    def limiter(self, channel: ChannelPort) -> RateLimiter:
        if channel.kind not in self.limiters:
            self.limiters[channel.kind] = RateLimiter.of(channel.rate, channel.kind)
        return self.limiters[channel.kind]

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
        registry = self.registry
        due = await asyncio.to_thread(self._claim, registry.kinds, now)
        queues: dict[Channel, deque[Message]] = {}
        for message in due:
            queues.setdefault(message.channel, deque()).append(message)
        # Each channel at its own pace, side by side; only enabled channels were claimed.
        await asyncio.gather(*(self._drain(registry.channels[kind], queue)
                               for kind, queue in queues.items()))
        return len(due)

    async def _drain(self, channel: ChannelPort, queue: deque[Message]) -> None:
        limiter = self.limiter(channel)
        while queue:
            await self._send_next(channel, limiter, queue)

    async def _send_next(self, channel: ChannelPort, limiter: RateLimiter,
                         queue: deque[Message]) -> None:
        """Send the first row whose recipient may be written to now, waiting if none may."""
        ready = next((m for m in queue if limiter.delay(m.chat_id) == 0), None)
        if ready is None:
            await limiter.sleep(min(limiter.delay(m.chat_id) for m in queue))
            return
        if limiter.shared is not None and (
                wait := await asyncio.to_thread(limiter.take, ready.chat_id)) > 0:
            await limiter.sleep(wait)  # another worker's sends used the budget
            return
        queue.remove(ready)
        await self._send(channel, limiter, ready)

    async def _send(self, channel: ChannelPort, limiter: RateLimiter, message: Message) -> None:
        """Deliver one row and record the outcome (a recipient gone gives up their other rows)."""
        # Every line logged for this delivery (the channel's too) names the row.
        with logctx.tagged(f"out={message.id}"):
            try:
                outcome = await channel.deliver(message)
            except Exception as exc:  # a channel's bug: never lose the row over it
                log.error("delivering outbox row %s failed", message.id, exc_info=exc)
                outcome = Outcome.retry(f"{type(exc).__name__}: {exc}")
            finally:
                limiter.done(message.chat_id)
            log.info("outbox row %s on %s: %s%s", message.id, channel.kind.value, outcome.status.value,
                     f" ({outcome.error})" if outcome.error else "")
            await self._settle(limiter, message, outcome)

    async def _settle(self, limiter: RateLimiter, message: Message, outcome: Outcome) -> None:
        """Record `outcome` the same way whichever channel it came from."""
        if outcome.status == Status.SENT:
            await self._record(message, outbox.mark_sent)
        elif outcome.status == Status.RETRY:
            if outcome.retry_after is not None:
                # The channel said how long: nothing goes to anyone on it until then.
                limiter.pause(outcome.retry_after)
                delay = outcome.retry_after
            else:
                delay = outbox.backoff(message.attempts)
            await self._record(message, outbox.retry_later, error=outcome.error, delay=delay)
        elif outcome.status == Status.GONE:
            await self._record(message, outbox.give_up, error=outcome.error, blocked=True)
        else:
            await self._record(message, outbox.give_up, error=outcome.error)

    # -- the database, in short transactions off the event loop ---------------

    def _claim(self, channels: list[Channel], now: datetime | None) -> list[Message]:
        with self.session_factory() as session, session.begin():  # type: ignore[attr-defined]
            rows = outbox.claim_due(session, channels, limit=CLAIM_BATCH, now=now,
                                    lease=timedelta(seconds=self.settings.outbox_lease_seconds))
            # A details link is queued as a marker: the site's address is known here, not in store/.
            url = self.settings.public_url
            return [Message(r.id, r.channel, r.chat_id, details.resolve(r.text, url), r.buttons,
                            r.attempts) for r in rows]

    def _record_many(self, messages: list[Message], outcome: Callable[..., None],
                     **kwargs: Any) -> None:
        with self.session_factory() as session, session.begin():  # type: ignore[attr-defined]
            for message in messages:
                msg = session.get(OutboxMessage, message.id)
                # Only the claim we hold is ours to settle; a row given up
                # meanwhile (its recipient blocked us) stays as it is.
                if msg is not None and msg.status == OutboxStatus.SENDING:
                    outcome(session, msg, **kwargs)

    async def _record(self, message: Message, outcome: Callable[..., None], **kwargs: Any) -> None:
        await asyncio.to_thread(self._record_many, [message], outcome, **kwargs)
