"""Rate limits shared by every process through Redis when REDIS_URL is set, in-process otherwise.

Three kinds of limit ask here: the web chat's flood control and the
conversation engine's (`hit`: at most `burst` in a sliding `window` per key,
and `first`: one warning per window), and the channels' send rates
(`ask`/`take`: Telegram's 30 messages a second overall, started evenly
spaced, and one a second per chat, read by `minyi.pacing.RateLimiter`). Login throttling needs none of this:
its counts are rows in the database (`store.network.logins`).

`configure(url)` is called once per process at start-up. When Redis stops
answering, the limits fall back to this process's own counts (logged once),
and go back to Redis when it answers again; `shared()` says which is in use
(for /healthz).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

PREFIX = "minyi:limit:"
# After Redis failed, how long this process counts alone before asking it again.
RETRY_AFTER = 15.0
# Sends: at most `rate` start within any window of 1 s plus this share, and two
# starts are at least three quarters of a slot apart. A server counts a send when it arrives,
# a few milliseconds after we start it, and those milliseconds vary: at 30/s,
# 5 % lets one request arrive 50 ms later than the one thirty sends after it
# without the server seeing 31 in a second. It costs 5 % of the rate (28.6/s).
# A process held up for a moment catches up (shorter gaps) within the window.
SEND_HEADROOM = 0.05
SEND_WINDOW = 1.0 + SEND_HEADROOM


def send_gap(rate: int | None) -> float:
    """The least time between two starts at `rate` (three quarters of an even slot)."""
    return SEND_WINDOW / rate * 0.75 if rate else 0.0


class Counts(Protocol):
    def hit(self, key: str, burst: int, window: float) -> bool: ...
    def first(self, key: str, window: float) -> bool: ...
    def ask(self, key: str, chat: str, rate: int | None,
            interval: float) -> tuple[float, float]: ...
    def take(self, key: str, chat: str, rate: int | None, interval: float) -> float: ...
    def done(self, key: str, chat: str, interval: float) -> None: ...
    def pause(self, key: str, seconds: float) -> None: ...


class Local:
    """This process's own counts (thread-safe), in memory bounded by `max_keys`.

    Keys come from the outside world (a chat, a user, an address, a cookie), so
    the counts must not grow with everyone ever seen: each table is kept in the
    order its keys were last touched, what has expired is swept from its old
    end on every call, and past `max_keys` the least recently touched key is
    forgotten (that key merely starts counting afresh).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        # key -> (when its window empties, the hits inside it), least recently touched first.
        self._hits: OrderedDict[str, tuple[float, list[float]]] = OrderedDict()
        # key -> until when it holds (a warning given, a chat's send interval), oldest first.
        self._until: OrderedDict[str, float] = OrderedDict()
        # Per limiter, not per user: a channel's sends in the last second, its pause after a 429.
        self._recent: dict[str, deque[float]] = {}
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def size(self) -> int:
        """How many per-key entries are held (each table at most `max_keys`)."""
        return len(self._hits) + len(self._until)

    def _sweep(self, now: float) -> None:
        while self._hits and next(iter(self._hits.values()))[0] <= now:
            self._hits.popitem(last=False)
        while self._until and next(iter(self._until.values())) <= now:
            self._until.popitem(last=False)
        for table in (self._hits, self._until):
            while len(table) > self.max_keys:
                table.popitem(last=False)

    def _hold(self, key: str, until: float) -> None:
        self._until.pop(key, None)
        self._until[key] = until

    def hit(self, key: str, burst: int, window: float) -> bool:
        now = self.clock()
        with self._lock:
            _, hits = self._hits.pop(key, (0.0, []))
            hits = [t for t in hits if now - t <= window]
            allowed = len(hits) < burst
            if allowed:
                hits.append(now)
            if hits:
                self._hits[key] = (hits[-1] + window, hits)
            self._sweep(now)
            return allowed

    def first(self, key: str, window: float) -> bool:
        now = self.clock()
        with self._lock:
            if self._until.get(key, 0.0) > now:
                return False
            self._hold(key, now + window)
            self._sweep(now)
            return True

    def ask(self, key: str, chat: str, rate: int | None,
            interval: float) -> tuple[float, float]:
        """A send to `chat`: (0, 0) when it may start now (and is counted), else the seconds
        everyone must wait (a pause, the overall rate) and the seconds this chat must."""
        now = self.clock()
        with self._lock:
            everyone = max(0.0, self._paused.get(key, 0.0) - now)
            starts = self._recent.setdefault(key, deque())
            while starts and now - starts[0] >= SEND_WINDOW:
                starts.popleft()
            if rate and len(starts) >= rate:
                everyone = max(everyone, starts[0] + SEND_WINDOW - now)
            if rate and starts:
                everyone = max(everyone, starts[-1] + send_gap(rate) - now)
            this_chat = max(0.0, self._until.get(f"{key}:chat:{chat}", 0.0) - now)
            if everyone == 0.0 and this_chat == 0.0:
                starts.append(now)
                self._hold(f"{key}:chat:{chat}", now + interval)
            self._sweep(now)
            return everyone, this_chat

    def take(self, key: str, chat: str, rate: int | None, interval: float) -> float:
        """0 when a send to `chat` may start now (and is counted), else seconds to wait."""
        return max(self.ask(key, chat, rate, interval))

    def done(self, key: str, chat: str, interval: float) -> None:
        with self._lock:
            now = self.clock()
            self._hold(f"{key}:chat:{chat}", now + interval)
            self._sweep(now)

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            self._paused[key] = max(self._paused.get(key, 0.0), self.clock() + seconds)


# A sliding window in a sorted set: drop what is older than the window, count, add if room.
HIT = """
local now, window, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= burst then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""
# A send: waits for a pause, the overall rate (at most `rate` starts in a window, `send_gap`
# apart) and the chat's interval; {0, 0} when taken (recorded), else {everyone's wait, the chat's}.
TAKE = """
local now, rate, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, gap = tonumber(ARGV[4]), tonumber(ARGV[5])
local everyone = 0
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then everyone = paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
if rate > 0 then
  if redis.call('ZCARD', KEYS[3]) >= rate then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2])
    if oldest + window - now > everyone then everyone = oldest + window - now end
  end
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')[2]
  if last and tonumber(last) + gap - now > everyone then everyone = tonumber(last) + gap - now end
end
local chat = 0
local free = tonumber(redis.call('GET', KEYS[2]) or '0')
if free > now then chat = free - now end
if everyone > 0 or chat > 0 then return {tostring(everyone), tostring(chat)} end
redis.call('ZADD', KEYS[3], now, ARGV[6])
redis.call('PEXPIRE', KEYS[3], math.ceil(window * 1000) + 1000)
redis.call('SET', KEYS[2], tostring(now + interval), 'PX', math.ceil(interval * 1000) + 1)
return {'0', '0'}
"""


class Shared:
    """Counts in Redis, one set for every process; this process's own while Redis is away."""

    def __init__(self, client: Any, fallback: Local | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.fallback = fallback or Local()
        self.clock = clock
        self._hit = client.register_script(HIT)
        self._take = client.register_script(TAKE)
        self._down_until = 0.0
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        return self._down_until <= time.monotonic()

    def _unique(self) -> str:
        with self._lock:
            self._seq += 1
            return f"{self.clock()}:{threading.get_ident()}:{self._seq}"

    def _ask(self, shared: Callable[[], Any], local: Callable[[], Any]) -> Any:
        if not self.up:
            return local()
        try:
            answer = shared()
        except Exception as exc:  # redis.RedisError, OSError: any way of not answering
            if self._down_until == 0.0 or self.up:
                log.warning("Redis is not answering (%s): rate limits are this process's own "
                            "until it does", exc)
            self._down_until = time.monotonic() + RETRY_AFTER
            return local()
        if self._down_until:
            log.info("Redis answers again: rate limits are shared by every process")
            self._down_until = 0.0
        return answer

    def hit(self, key: str, burst: int, window: float) -> bool:
        return bool(self._ask(
            lambda: self._hit(keys=[PREFIX + key],
                              args=[self.clock(), window, burst, self._unique()]),
            lambda: self.fallback.hit(key, burst, window)))

    def first(self, key: str, window: float) -> bool:
        return bool(self._ask(
            lambda: self.client.set(PREFIX + "first:" + key, 1, nx=True,
                                    px=max(1, int(window * 1000))),
            lambda: self.fallback.first(key, window)))

    def ask(self, key: str, chat: str, rate: int | None,
            interval: float) -> tuple[float, float]:
        base = PREFIX + key
        everyone, this_chat = self._ask(
            lambda: self._take(keys=[f"{base}:pause", f"{base}:chat:{chat}", f"{base}:starts"],
                               args=[self.clock(), rate or 0, interval, SEND_WINDOW,
                                     send_gap(rate), self._unique()]),
            lambda: self.fallback.ask(key, chat, rate, interval))
        return float(everyone), float(this_chat)

    def take(self, key: str, chat: str, rate: int | None, interval: float) -> float:
        return max(self.ask(key, chat, rate, interval))

    def done(self, key: str, chat: str, interval: float) -> None:
        if interval > 0:
            self._ask(lambda: self.client.set(f"{PREFIX}{key}:chat:{chat}",
                                              str(self.clock() + interval),
                                              px=max(1, int(interval * 1000))),
                      lambda: self.fallback.done(key, chat, interval))

    def pause(self, key: str, seconds: float) -> None:
        until = self.clock() + seconds
        self._ask(lambda: self.client.set(f"{PREFIX}{key}:pause", str(until),
                                          px=max(1, int(seconds * 1000))),
                  lambda: self.fallback.pause(key, seconds))


_active: Counts = Local()


def configure(redis_url: str | None) -> Counts:
    """Count in Redis at `redis_url` from now on in this process (None: in-process)."""
    global _active
    if not redis_url:
        _active = Local()
        return _active
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    counts = Shared(client)
    try:
        client.ping()
        log.info("rate limits are shared through Redis")
    except redis.RedisError as exc:
        log.warning("Redis at REDIS_URL is not answering (%s): rate limits are this process's "
                    "own until it does", exc)
        counts._down_until = time.monotonic() + RETRY_AFTER
    _active = counts
    return counts


def redis() -> Shared | None:
    """The Redis counts when REDIS_URL is set (answering or not), else None."""
    return _active if isinstance(_active, Shared) else None


def active() -> Counts:
    return _active


def shared() -> bool:
    """Whether the limits are shared by every process now (Redis set and answering)."""
    return isinstance(_active, Shared) and _active.up
