"""Per-user flood control: in memory, or in Redis for every process when REDIS_URL is set."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from store import limits


class FloodGuard:
    """Allows `burst` inputs per `window` seconds per key.

    The first input over the limit gets a warning ("warn"); later ones in the
    same window are dropped silently ("drop"), so a flood costs one reply.
    """

    def __init__(self, burst: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.burst, self.window, self.clock, self.max_keys = burst, window, clock, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._warned: dict[str, float] = {}

    def check(self, key: str) -> Literal["ok", "warn", "drop"]:
        shared = limits.redis()
        if shared is not None:  # the bot's and the web's processes count together (REDIS_URL)
            if shared.hit(f"flood:{key}", self.burst, self.window):
                return "ok"
            return "warn" if shared.first(f"flood:{key}", self.window) else "drop"
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._prune(now)
            hits = self._hits[key] = deque()
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) < self.burst:
            hits.append(now)
            return "ok"
        if now - self._warned.get(key, -self.window - 1) > self.window:
            self._warned[key] = now
            return "warn"
        return "drop"

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] > self.window]:
            self._hits.pop(key, None)
            self._warned.pop(key, None)
