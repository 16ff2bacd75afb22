"""Per-user flood control: in memory, or in Redis for every process when REDIS_URL is set."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from store import limits


class FloodGuard:
    """Allows `burst` inputs per `window` seconds per key.

    The first input over the limit gets a warning ("warn"); later ones in the
    same window are dropped silently ("drop"), so a flood costs one reply.
    Counted by `store.limits` (its `Local` without Redis), which forgets a
    user whose window has passed and holds at most `max_keys` users at once.
    """

    def __init__(self, burst: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.burst, self.window = burst, window
        self.local = limits.Local(clock, max_keys)

    def check(self, key: str) -> Literal["ok", "warn", "drop"]:
        # With REDIS_URL the bot's and the web's processes count together.
        counts: limits.Counts = limits.redis() or self.local
        if counts.hit(f"flood:{key}", self.burst, self.window):
            return "ok"
        return "warn" if counts.first(f"flood:{key}", self.window) else "drop"
