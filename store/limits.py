"""Rate limits shared by every process through Redis when REDIS_URL is set, in-process otherwise.

Three kinds of limit ask here: the web chat's flood control and the
conversation engine's (`hit`: at most `burst` in a sliding `window` per key,
and `first`: one warning per window), and the channels' send rates
(`ask`/`take` and `done`: Telegram's 30 messages a second overall, as rate
slots held from a send's start until a window after it can have arrived, and
one a second per chat counted from the answer, read by
`minyi.pacing.RateLimiter`). Login throttling needs none of this:
its counts are rows in the database (`store.network.logins`).

`configure(url)` is called once per process at start-up. When Redis stops
answering, the limits fall back to this process's own counts (logged once),
and go back to Redis when it answers again; `shared()` says which is in use
(for /healthz).
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol

log = logging.getLogger(__name__)

PREFIX = "minyi:limit:"
# After Redis failed, how long this process counts alone before asking it again.
RETRY_AFTER = 15.0
# Sends. The server counts a send when it *arrives*, somewhere between our start and its
# answer, and refuses one that would make `rate + 1` within any second (sliding). So each
# send holds a rate slot from its start until one window after the latest moment it can
# have arrived, and at most `rate` slots are held at once: any `rate + 1` arrivals within a
# second would need `rate + 1` slots held at the moment of the last. While a send is in
# flight that moment is unknown and its slot stays held; once answered, it is its answer's
# time less the time the server took to answer it, at least the least round trip seen
# recently (`minyi.pacing.RateLimiter.hold`) less SEND_GUARD for what of that round trip
# was the way there. See docs/BENCHMARKS.md (P2) for the throughput this allows.
SEND_WINDOW = 1.0
SEND_GUARD = 0.04
# A send not answered within this long is taken to have died with its process: its slot
# and its chat are free again (the outbox lease hands its row to another worker much later).
FLIGHT_HOLD = 60.0
# Held slots that cannot tell when they end (all in flight past a window) are asked again after this.
SLOT_POLL = 0.005


def send_gap(rate: int | None) -> float:
    """The least time between two starts at `rate` (three quarters of an even slot): the
    slots bound the rate; the gap only keeps a burst of free slots from starting at once."""
    return SEND_WINDOW / rate * 0.75 if rate else 0.0


class Slots:
    """One channel's rate slots in this process: sends in flight (held until answered) and
    answered sends whose slot is still held (until a time known at their answer)."""

    def __init__(self) -> None:
        self.flying: dict[Hashable, float] = {}  # member -> when it started
        self.held: list[float] = []  # heap: when each answered send's slot is free again
        self.last = -math.inf  # the latest start

    def wait(self, now: float, rate: int | None) -> float:
        """Seconds until a send may start (0: now), as far as the rate goes."""
        if not rate:
            return 0.0
        while self.held and self.held[0] <= now:
            heapq.heappop(self.held)
        for member in [m for m, start in self.flying.items() if start <= now - FLIGHT_HOLD]:
            del self.flying[member]
        wait = max(0.0, self.last + send_gap(rate) - now)
        if len(self.flying) + len(self.held) >= rate:
            # An answered slot ends when it said; one in flight a window after its start at the soonest.
            soonest = min(self.held[0] if self.held else math.inf,
                          min(self.flying.values(), default=math.inf) + SEND_WINDOW)
            wait = max(wait, soonest - now, SLOT_POLL)
        return wait

    def open(self, member: Hashable, now: float, rate: int | None) -> None:
        if rate:
            self.flying[member] = now
            self.last = now

    def close(self, member: Hashable, now: float, hold: float) -> None:
        """`member`'s send was answered: its slot stays held `hold` seconds more."""
        if self.flying.pop(member, None) is not None and hold > 0:
            heapq.heappush(self.held, now + hold)


class Counts(Protocol):
    def hit(self, key: str, burst: int, window: float) -> bool: ...
    def first(self, key: str, window: float) -> bool: ...
    def ask(self, key: str, chat: str, rate: int | None,
            interval: float) -> tuple[float, float]: ...
    def take(self, key: str, chat: str, rate: int | None, interval: float) -> float: ...
    def done(self, key: str, chat: str, interval: float, hold: float = 0.0) -> None: ...
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
        # Per limiter, not per user: a channel's rate slots, its pause after a 429.
        self._slots: dict[str, Slots] = {}
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
        """A send to `chat`: (0, 0) when it may start now (it is counted, and holds a slot and
        the chat until `done`), else the seconds everyone must wait (a pause, the rate slots)
        and the seconds this chat must."""
        now = self.clock()
        with self._lock:
            slots = self._slots.setdefault(key, Slots())
            everyone = max(0.0, self._paused.get(key, 0.0) - now, slots.wait(now, rate))
            this_chat = max(0.0, self._until.get(f"{key}:chat:{chat}", 0.0) - now)
            if everyone == 0.0 and this_chat == 0.0:
                slots.open(chat, now, rate)
                self._hold(f"{key}:chat:{chat}", now + FLIGHT_HOLD + interval)
            self._sweep(now)
            return everyone, this_chat

    def take(self, key: str, chat: str, rate: int | None, interval: float) -> float:
        """0 when a send to `chat` may start now (and is counted), else seconds to wait."""
        return max(self.ask(key, chat, rate, interval))

    def done(self, key: str, chat: str, interval: float, hold: float = 0.0) -> None:
        """The send to `chat` was answered: its slot stays held `hold` seconds more, the chat
        `interval`."""
        with self._lock:
            now = self.clock()
            if key in self._slots:
                self._slots[key].close(chat, now, hold)
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
# A send: waits for a pause, the rate slots (at most `rate` held: answered ones in KEYS[3]
# scored by when they end, those in flight in KEYS[4] by their start; `gap` after the latest
# start, KEYS[5]) and the chat (KEYS[2]); {0, 0} when taken (its slot and the chat held until
# DONE), else {everyone's wait, the chat's}.
TAKE = """
local now, rate, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, gap, flight, poll = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8])
local everyone = 0
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then everyone = paused - now end
if rate > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - flight)
  if redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4]) >= rate then
    local soonest = math.huge
    local ends = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]
    if ends then soonest = tonumber(ends) end
    local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')[2]
    if oldest and tonumber(oldest) + window < soonest then soonest = tonumber(oldest) + window end
    local wait = math.max(soonest - now, poll)
    if wait > everyone then everyone = wait end
  end
  local last = redis.call('GET', KEYS[5])
  if last and tonumber(last) + gap - now > everyone then everyone = tonumber(last) + gap - now end
end
local chat = 0
local free = tonumber(redis.call('GET', KEYS[2]) or '0')
if free > now then chat = free - now end
if everyone > 0 or chat > 0 then return {tostring(everyone), tostring(chat)} end
if rate > 0 then
  redis.call('ZADD', KEYS[4], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[4], math.ceil(flight * 1000))
  redis.call('SET', KEYS[5], tostring(now), 'PX', math.ceil(window * 1000) + 1000)
end
redis.call('SET', KEYS[2], tostring(now + flight + interval), 'PX', math.ceil((flight + interval) * 1000))
return {'0', '0'}
"""
# A send was answered: its slot (ARGV[4]) moves from in flight to held until now + hold; the
# chat rests `interval` from now.
DONE = """
local now, hold, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZREM', KEYS[4], ARGV[4]) == 1 and hold > 0 then
  redis.call('ZADD', KEYS[3], now + hold, ARGV[4])
  redis.call('PEXPIRE', KEYS[3], math.ceil(hold * 1000) + 1000)
end
if interval > 0 then
  redis.call('SET', KEYS[2], tostring(now + interval), 'PX', math.ceil(interval * 1000))
else
  redis.call('DEL', KEYS[2])
end
return 1
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
        self._done = client.register_script(DONE)
        # (key, chat) -> the member its send in flight holds in the shared slots.
        self._members: dict[tuple[str, str], str] = {}
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

    def _keys(self, key: str, chat: str) -> list[str]:
        base = PREFIX + key
        return [f"{base}:pause", f"{base}:chat:{chat}", f"{base}:held", f"{base}:flying",
                f"{base}:last"]

    def ask(self, key: str, chat: str, rate: int | None,
            interval: float) -> tuple[float, float]:
        member = self._unique()
        everyone, this_chat = self._ask(
            lambda: self._take(keys=self._keys(key, chat),
                               args=[self.clock(), rate or 0, interval, SEND_WINDOW,
                                     send_gap(rate), member, FLIGHT_HOLD, SLOT_POLL]),
            lambda: self.fallback.ask(key, chat, rate, interval))
        if float(everyone) == 0.0 and float(this_chat) == 0.0:
            self._members[(key, chat)] = member
        return float(everyone), float(this_chat)

    def take(self, key: str, chat: str, rate: int | None, interval: float) -> float:
        return max(self.ask(key, chat, rate, interval))

    def done(self, key: str, chat: str, interval: float, hold: float = 0.0) -> None:
        member = self._members.pop((key, chat), chat)
        self._ask(lambda: self._done(keys=self._keys(key, chat),
                                     args=[self.clock(), hold, interval, member]),
                  lambda: self.fallback.done(key, chat, interval, hold))

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
