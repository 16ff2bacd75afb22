"""Rate limits shared through Redis (REDIS_URL): two processes' limiters spend one budget;
without Redis, or when it stops answering, each process counts alone and says so."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator

import pytest

from bot.channels.base import RatePolicy
from minyi.notifier import RateLimiter
from store import limits
from store.conversation.flood import FloodGuard

REDIS_URL = os.environ.get("MINYI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not _answers(REDIS_URL):
        pytest.skip("no Redis answers at " + REDIS_URL)
    yield REDIS_URL
    limits.configure(None)


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def _process(url: str) -> limits.Shared:
    """What one process's `configure` builds: its own connection to the one Redis."""
    import redis

    return limits.Shared(redis.Redis.from_url(url))


def test_it_lets_two_processes_share_one_flood_budget(redis_url: str, key: str) -> None:
    web1, web2 = _process(redis_url), _process(redis_url)

    allowed = [web.hit(key, 3, 10.0) for web in (web1, web2, web1, web2, web1)]

    assert allowed == [True, True, True, False, False]
    assert not limits.Local().hit(key, 0, 10.0)  # (the local one knows nothing of them)


def test_it_spaces_sends_to_one_chat_and_caps_the_overall_rate_across_workers(
    redis_url: str, key: str,
) -> None:
    worker1, worker2 = _process(redis_url), _process(redis_url)

    assert worker1.take(key, "chat1", 2, 1.0) == 0.0
    _, this_chat = worker2.ask(key, "chat1", 2, 1.0)
    assert this_chat > 1.0  # the other worker's send to it is in flight
    worker1.done(key, "chat1", 1.0, hold=2.0)
    everyone, this_chat = worker2.ask(key, "chat1", 2, 1.0)
    assert 0.0 < this_chat <= 1.0  # the chat had a message a moment ago, from the other worker
    everyone, _ = worker2.ask(key, "chat2", 2, 1.0)
    # Two starts are some way apart, whichever worker makes them ...
    assert 0.0 < everyone <= limits.send_gap(2)
    time.sleep(everyone)
    assert worker2.take(key, "chat2", 2, 1.0) == 0.0
    # ... and no more than the rate hold slots: chat1's answered one, chat2's in flight.
    assert worker1.take(key, "chat3", 2, 1.0) > limits.send_gap(2)
    worker1.pause(key, 30.0)
    assert worker2.take(key, "chat4", None, 0.0) > 25.0  # a 429 holds every worker back


def test_an_answered_sends_slot_stays_held_for_every_worker_until_the_end_it_was_given(
    redis_url: str, key: str,
) -> None:
    worker1, worker2 = _process(redis_url), _process(redis_url)

    assert worker1.take(key, "a", 1, 0.0) == 0.0
    assert worker2.take(key, "b", 1, 0.0) > 0.0  # the one slot is in flight
    worker1.done(key, "a", 0.0, hold=2.0)  # answered; it may have arrived only just now
    wait = worker2.take(key, "b", 1, 0.0)
    assert 1.0 < wait <= 2.0  # not the gap between starts (0.75 s): the slot's end
    time.sleep(wait)
    assert worker2.take(key, "b", 1, 0.0) == 0.0


def test_it_gives_the_notifiers_limiters_one_budget_when_redis_is_configured(
    redis_url: str, key: str,
) -> None:
    limits.configure(redis_url)
    assert limits.shared()
    one, two = (RateLimiter.of(RatePolicy(30, 1.0), key) for _ in range(2))

    assert one.take("chat") == 0.0
    assert two.take("chat") > 0.0


def test_it_shares_the_engines_flood_guard_between_processes(redis_url: str, key: str) -> None:
    limits.configure(redis_url)
    bot, web = FloodGuard(2, 10.0), FloodGuard(2, 10.0)

    verdicts = [guard.check(key) for guard in (bot, web, bot, web, bot)]

    assert verdicts == ["ok", "ok", "warn", "drop", "drop"]


def test_it_counts_in_process_and_says_so_when_redis_does_not_answer(
    key: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="store.limits")
    try:
        counts = limits.configure(NOWHERE)
        assert not limits.shared()
        assert "not answering" in caplog.text
        assert [counts.hit(key, 2, 10.0) for _ in range(3)] == [True, True, False]
        assert RateLimiter.of(RatePolicy(30, 1.0), key).take("chat") == 0.0
    finally:
        limits.configure(None)
    assert not limits.shared()


def test_it_falls_back_when_redis_goes_away_and_logs_it_once(
    redis_url: str, key: str, caplog: pytest.LogCaptureFixture,
) -> None:
    import redis

    counts = _process(redis_url)
    assert counts.hit(key, 5, 10.0) and counts.up
    counts.client = redis.Redis.from_url(NOWHERE)  # the server is gone
    counts._hit = counts.client.register_script(limits.HIT)
    caplog.set_level(logging.WARNING, logger="store.limits")

    answers = [counts.hit(key, 2, 10.0) for _ in range(3)]

    assert answers == [True, True, False]  # still limited: by this process's own counts
    assert not counts.up
    assert caplog.text.count("not answering") == 1
