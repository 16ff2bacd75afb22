"""How fast the notifier may write to a channel: sends spread evenly, one chat at a time.

A channel's `RatePolicy` says how many messages a second it takes overall
and how long one recipient must rest between two. `RateLimiter` turns that
into start times: sends start evenly spaced, a little under the rate, and a
chat is written to again only `interval` after its previous send finished.
With Redis (REDIS_URL) every worker's sends count against one budget.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from bot.channels.base import RatePolicy
from store import limits
from store.limits import SEND_HEADROOM as HEADROOM


class RateLimiter:
    """Spaces sends: starts `(1 + HEADROOM) / rate` apart (None: any), `interval` apart per chat.

    A chat's interval is counted from when its previous send *finished*, so
    the server, which sees each request before we see its answer, never sees
    two closer together than allowed. `take` reserves a start (the caller
    then sends and calls `done`); `pause()` holds every send back, as a
    channel asks after a 429 or a quota error.
    """

    def __init__(self, rate: int | None = 30, interval: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 shared: limits.Counts | None = None, key: str = "send") -> None:
        self.rate = rate
        self.interval = interval
        self.spacing = (1.0 + HEADROOM) / rate if rate else 0.0
        # With Redis (REDIS_URL), every worker's sends count against one budget.
        self.shared = shared
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0  # when the next send may start
        self._free: dict[Hashable, float] = {}  # chat -> when it may be written to again
        self._paused_until = 0.0

    def delay(self, chat: Hashable) -> float:
        """Seconds until a message may go to `chat`, as this process knows (0: now)."""
        return max(0.0, self.everyone() - self.clock(), self._free.get(chat, 0.0) - self.clock())

    def everyone(self) -> float:
        """The clock reading before which nothing may start, whatever the chat."""
        return max(self._paused_until, self._next)

    def take(self, chat: Hashable) -> float:
        """0 when a send to `chat` may start now (it is counted: send, then call `done`),
        else seconds to wait."""
        wait = self.delay(chat)
        if wait > 0:
            return wait
        now = self.clock()
        if self.shared is not None:
            # Another worker may have used the budget or written to this chat.
            everyone, this_chat = self.shared.ask(self.key, str(chat), self.rate, self.interval)
            if everyone > 0:
                self._next = max(self._next, now + everyone)
                return everyone
            if this_chat > 0:
                self._free[chat] = now + this_chat
                return this_chat
        self._next = max(self._next, now) + self.spacing
        self._free[chat] = math.inf  # in flight until `done`
        return 0.0

    async def wait(self, chat: Hashable) -> None:
        """Sleep until a send to `chat` may start, and count it."""
        while (delay := self.take(chat)) > 0:
            await self.sleep(delay)

    def done(self, chat: Hashable) -> None:
        """A send to `chat` has just finished (whatever its outcome)."""
        if self.shared is not None:
            self.shared.done(self.key, str(chat), self.interval)
        now = self.clock()
        self._free[chat] = now + self.interval
        if len(self._free) > 10_000:  # forget chats that have long been free
            self._free = {c: t for c, t in self._free.items() if t > now}

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
