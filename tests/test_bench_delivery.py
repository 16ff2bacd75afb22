"""The delivery benchmark at its quick size (600 messages to 120 chats): it checks its own
output (0 lost, 0 duplicated, each chat's order kept); its speed is not asserted here, nor
its 0 answered 429 (the pacer's one assumption, that the server's part of a round trip is
at least the least round trip seen less SEND_GUARD, can fail on a test machine loaded far
past its cores; then the workers honour the 429 and nothing is lost, which is checked)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bench import bench_delivery
from bench.table import Options, Wrong


def _case(db_backend: str, db_url: str, tmp_path: Path) -> str:
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'delivery.sqlite3'}"
    return db_url


def test_it_delivers_each_message_once_in_order_through_a_minyi_worker(
    db_backend: str, tmp_path: Path,
) -> None:
    if db_backend != "sqlite":
        pytest.skip("on PostgreSQL: the two-worker case below")
    url = f"sqlite:///{tmp_path / 'delivery.sqlite3'}"
    written = bench_delivery.seed(url, 600, 120)
    assert sum(map(len, written.values())) == 600 and len(written) == 120

    got = bench_delivery.deliver(url, written, Options(quick=True), allow_throttled=True)

    assert got.messages == 600  # (deliver raised Wrong on any loss, duplicate, 429 or disorder)
    assert got.most_at_once > 1
    assert got.rate > 0


def test_two_workers_on_postgresql_share_the_limits_through_redis(db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip("two workers need PostgreSQL")
    try:
        redis.Redis.from_url(bench_delivery.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip("no Redis at " + bench_delivery.REDIS_URL)
    from bench import pg

    server = pg.configured()
    assert server is not None
    with pg.fresh(server) as url:
        written = bench_delivery.seed(url, 600, 120)
        got = bench_delivery.deliver(url, written, Options(quick=True), workers=2,
                                     redis_url=bench_delivery.REDIS_URL, allow_throttled=True)
    assert got.messages == 600


def test_it_refuses_a_database_that_already_holds_messages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'delivery.sqlite3'}"
    bench_delivery.seed(url, 10, 2)
    with pytest.raises(Wrong, match="already holds"):
        bench_delivery.seed(url, 10, 2)


def test_it_says_wrong_when_a_message_went_twice() -> None:
    from tests.botapi_emulator import BotAPIEmulator, Sent

    emu = BotAPIEmulator()
    emu.sent = [Sent("sendMessage", 1, 1, "a", None, 0.0), Sent("sendMessage", 1, 2, "a", None, 0.0)]
    with pytest.raises(Wrong, match="duplicated|not marked"):
        bench_delivery.check_sent(emu, {1: ["a"]})
    emu.stop()
