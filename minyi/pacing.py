"""How fast the notifier may write to a channel: within its limits by construction.

A channel's `RatePolicy` says how many messages a second it takes overall
and how long one recipient must rest between two. The server counts a send
when it arrives, which we never see: only that it lies between our start and
the answer. So `RateLimiter` holds a rate slot per send from its start until
a window after the latest moment it can have arrived (`store.limits`:
SEND_WINDOW, SEND_GUARD), with at most `rate` slots held; and a chat is
written to again only `interval` after its previous send was answered.
With Redis (REDIS_URL) every worker's slots and chats are one budget.
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
from store.limits import SEND_GUARD, SEND_WINDOW, Slots, send_gap

# How many recent round trips the least one is taken from.
TRIPS = 200


class RateLimiter:
    """Spaces sends: at most `rate` rate slots held (None: any), starts `send_gap` apart at
    least, and `interval` between an answer and the next send to the same chat.

    A send's slot is held from `take` until `done` and then `hold` more: one window
    less the least time its answer can have taken after it arrived. Any `rate + 1`
    arrivals within a window would need `rate + 1` slots held at the last one's
    arrival, so the server never sees them, however the requests were delayed on
    the way. A chat's interval is counted from its previous answer, which comes
    after the server saw that send. `pause()` holds every send back, as a channel
    asks after a 429 or a quota error.
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
        self._slots = Slots()  # this process's own sends
        self._started: dict[Hashable, float] = {}  # chat -> when its send in flight was taken
        self._trips: deque[float] = deque(maxlen=TRIPS)  # the latest round trips, take to done
        self._free: dict[Hashable, float] = {}  # chat -> when it may be written to again
        self._paused_until = 0.0
        self._held = 0.0  # the shared budget said wait, until then

    def delay(self, chat: Hashable) -> float:
        """Seconds until a message may go to `chat`, as this process knows (0: now)."""
        return max(0.0, self.everyone() - self.clock(), self._free.get(chat, 0.0) - self.clock())

    def everyone(self) -> float:
        """The clock reading before which nothing may start, whatever the chat."""
        now = self.clock()
        wait = self._slots.wait(now, self.rate)
        return max(self._paused_until, self._held, now + wait if wait > 0 else 0.0)

    def take(self, chat: Hashable) -> float:
        """0 when a send to `chat` may start now (it is counted: send, then call `done`),
        else seconds to wait."""
        wait = self.delay(chat)
        if wait > 0:
            return wait
        now = self.clock()
        if self.shared is not None:
            # Another worker may hold the slots or have written to this chat.
            everyone, this_chat = self.shared.ask(self.key, str(chat), self.rate, self.interval)
            if everyone > 0:
                # Ask again no sooner than one gap from now (other workers send meanwhile).
                self._held = now + min(everyone, self.gap)
                return everyone
            if this_chat > 0:
                self._free[chat] = now + this_chat
                return this_chat
        self._slots.open(chat, now, self.rate)
        self._started[chat] = now
        self._free[chat] = math.inf  # in flight until `done`
        return 0.0

    def hold(self, trip: float) -> float:
        """How long after its answer the slot of a send that took `trip` seconds stays held.

        The server answered some time after the send arrived; no less, we take it, than
        the least round trip seen lately less SEND_GUARD (what of that round trip was
        the way there). The slot must cover a window from the latest possible arrival.
        """
        self._trips.append(trip)
        answering = max(0.0, min(self._trips) - SEND_GUARD)  # never more than `trip`
        return SEND_WINDOW - answering

    async def wait(self, chat: Hashable) -> None:
        """Sleep until a send to `chat` may start, and count it."""
        while (delay := self.take(chat)) > 0:
            await self.sleep(delay)

    def done(self, chat: Hashable) -> None:
        """A send to `chat` has just been answered (whatever the answer) or has failed."""
        now = self.clock()
        started = self._started.pop(chat, None)
        hold = SEND_WINDOW if started is None else self.hold(now - started)
        self._slots.close(chat, now, hold)
        if self.shared is not None:
            self.shared.done(self.key, str(chat), self.interval, hold)
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
