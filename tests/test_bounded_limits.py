"""Per-user bookkeeping in memory is bounded: flood control and the in-process rate limits
forget keys whose window has passed and never hold more than `max_keys`, however many
distinct users, chats, addresses or cookies they have seen (issue 16, P5)."""

from __future__ import annotations

from store import limits
from store.conversation.flood import FloodGuard

MANY = 100_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_holds_at_most_max_keys_when_a_flood_of_users_comes_within_one_window() -> None:
    clock = Clock()
    guard = FloodGuard(20, 10.0, clock, max_keys=1_000)

    verdicts = {guard.check(f"telegram:{i}") for i in range(MANY)}

    assert verdicts == {"ok"}
    assert guard.local.size() <= 1_000


def test_it_forgets_users_whose_window_has_passed() -> None:
    clock = Clock()
    guard = FloodGuard(20, 10.0, clock)
    for i in range(5_000):
        guard.check(f"telegram:{i}")

    clock.now += 11.0
    guard.check("telegram:late")

    assert guard.local.size() == 1


def test_it_still_warns_once_and_then_drops_a_flooding_user() -> None:
    clock = Clock()
    guard = FloodGuard(3, 10.0, clock, max_keys=10)

    verdicts = [guard.check("telegram:1") for _ in range(6)]
    clock.now += 10.5
    after = guard.check("telegram:1")

    assert verdicts == ["ok", "ok", "ok", "warn", "drop", "drop"]
    assert after == "ok"


def test_the_local_limiter_stays_bounded_for_cookies_addresses_and_chats() -> None:
    clock = Clock()
    local = limits.Local(clock, max_keys=2_000)

    for i in range(MANY):
        local.hit(f"webchat:{i}", 5, 60.0)
        local.first(f"flood:{i}", 60.0)
        local.take("send", str(i), None, 1.0)

    assert local.size() <= 2 * 2_000


def test_the_local_limiter_still_counts_each_key_in_its_window() -> None:
    clock = Clock()
    local = limits.Local(clock, max_keys=100)

    first = [local.hit("address:1", 2, 10.0) for _ in range(3)]
    clock.now += 5.0
    other = local.hit("address:2", 2, 10.0)
    clock.now += 5.5
    later = local.hit("address:1", 2, 10.0)

    assert first == [True, True, False]
    assert other and later
    assert local.take("send", "chat", 30, 1.0) == 0.0
    assert local.take("send", "chat", 30, 1.0) > 1.0  # in flight: held until answered
    local.done("send", "chat", 1.0, hold=0.9)
    assert 0.0 < local.take("send", "chat", 30, 1.0) <= 1.0  # the chat's interval
    local.pause("send", 30.0)
    assert local.take("send", "other", 30, 1.0) > 25.0
