"""How fast the notifier may write to a channel: sends spread out, one chat at a time.

A channel's `RatePolicy` says how many messages a second it takes overall
and how long one recipient must rest between two. `RateLimiter` turns that
into start times: at most `rate` sends start within any window a little over
a second, three quarters of a slot apart at least, and a chat is written to again only
`interval` after its previous send finished.
With Redis (REDIS_URL) every worker's sends count against one budget.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from bot.channels.base import RatePolicy
from store import limits
from store.limits import SEND_WINDOW, send_gap


class RateLimiter:
    """Spaces sends: at most `rate` starts within `SEND_WINDOW` (1 s and a little: store.limits; None:
    any), three quarters of an even slot apart at least, and `interval` apart per chat.

    The window, not an even beat, bounds the rate: a loop woken late for one
    slot catches up over the next few instead of losing the time for good,
    and any `rate + 1` consecutive starts still span more than a second.

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
        self.gap = send_gap(rate)
        # With Redis (REDIS_URL), every worker's sends count against one budget.
        self.shared = shared
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self._starts: deque[float] = deque(maxlen=rate or 1)  # the latest starts
        self._free: dict[Hashable, float] = {}  # chat -> when it may be written to again
        self._paused_until = 0.0
        self._held = 0.0  # the shared budget said wait, until then

    def delay(self, chat: Hashable) -> float:
        """Seconds until a message may go to `chat`, as this process knows (0: now)."""
        return max(0.0, self.everyone() - self.clock(), self._free.get(chat, 0.0) - self.clock())

    def everyone(self) -> float:
        """The clock reading before which nothing may start, whatever the chat."""
        held = max(self._paused_until, self._held)
        if not self.rate or not self._starts:
            return held
        after = self._starts[-1] + self.gap
        if len(self._starts) >= self.rate:
            after = max(after, self._starts[0] + SEND_WINDOW)
        return max(held, after)

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
                # Ask again no sooner than one gap from now (other workers send meanwhile).
                self._held = now + min(everyone, self.gap)
                return everyone
            if this_chat > 0:
                self._free[chat] = now + this_chat
                return this_chat
        self._starts.append(now)
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
