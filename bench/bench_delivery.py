"""P2 (issue 16) and issue 15's delivery case: a feedback push through the Bot API emulator.

Run: .venv/bin/python -m bench.bench_delivery [--quick] [--postgres URL]

10,000 messages owed to 2,000 Telegram chats are written to the outbox of a
fresh database, then delivered through `tests/botapi_emulator/`, which
enforces Telegram's limits (30 messages/s overall, 1/s per chat: a send that
breaks them is answered 429 and counted) and answers each call after 150 ms,
a round trip to Telegram's servers. Cases: one `minyi worker` process on
SQLite, one on PostgreSQL, and two on PostgreSQL sharing the rate limits
through Redis (issue 15); the emulator runs in this process. The figure is
the delivered rate (messages over the time from the first accepted send to
the last) against the allowed 30/s; the goal is 95 % of it. Each case checks
its own output: every message delivered once (0 lost, 0 duplicated), none
answered 429, each chat's in the order written.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench import install_data_key, pg, procs
from bench.table import Options, Row, Wrong, render
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Channel, OutboxMessage, OutboxStatus, Reporter
from tests.botapi_emulator import TOKEN, BotAPIEmulator

ROOT = Path(__file__).resolve().parent.parent
FULL, QUICK = (10_000, 2_000), (600, 120)  # messages, chats
RATE, PER_CHAT, LATENCY = 30, 1.0, 0.150
GOAL = 0.95
FIRST_CHAT = 700_000
# The workers' shared limits live in a Redis database of their own, so that no
# test or other process running beside the benchmark spends the same budget.
REDIS_URL = os.environ.get("MINYI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


@dataclass(frozen=True)
class Delivered:
    messages: int
    rate: float  # messages per second, first accepted send to last
    most_at_once: int  # sends the emulator was answering at once, at most
    cpu: float  # CPU seconds of the delivering processes


def seed(url: str, messages: int, chats: int) -> dict[int, list[str]]:
    """A migrated database owing `messages` to `chats` chats (as many each, in a shuffled
    order); returns each chat's texts in the order written (by outbox id)."""
    upgrade(url)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as s, s.begin():
            if s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)):
                raise Wrong(f"{url} already holds outbox rows: the benchmark needs an empty database")
            reporters = [Reporter(channel=Channel.TELEGRAM, external_id=str(FIRST_CHAT + c),
                                  chat_id=str(FIRST_CHAT + c)) for c in range(chats)]
            s.add_all(reporters)
            s.flush()
            order = [c for c in range(chats) for _ in range(messages // chats)]
            random.Random(16).shuffle(order)
            seq = [0] * chats
            for c in order:
                s.add(OutboxMessage(reporter_id=reporters[c].id, channel=Channel.TELEGRAM,
                                    chat_id=reporters[c].chat_id,
                                    text=f"您反映的信息已办结（第{seq[c] + 1}条，{reporters[c].chat_id}）"))
                seq[c] += 1
        with sessions() as s:
            written: dict[int, list[str]] = {}
            for chat, text in s.execute(sa.select(OutboxMessage.chat_id, OutboxMessage.text)
                                        .order_by(OutboxMessage.id)):
                written.setdefault(int(chat), []).append(text)
        return written
    finally:
        engine.dispose()


def unsettled(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status != OutboxStatus.SENT)) or 0
    finally:
        engine.dispose()


def check(url: str, emu: BotAPIEmulator, written: dict[int, list[str]], *,
          allow_throttled: bool = False) -> Delivered:
    """What the emulator received against what was written; raises Wrong on any difference.
    `allow_throttled`: a 429 the workers honoured is not a failure (the tests, on machines too
    busy to keep the pace exactly; the benchmark's rows never allow one)."""
    times = sorted(t for t, _ in emu._send_times)
    n = len(times)
    rate = (n - 1) / (times[-1] - times[0]) if n > 1 and times[-1] > times[0] else 0.0
    if emu.throttled and not allow_throttled:
        raise Wrong(f"{len(emu.throttled)} of {len(emu.send_spans)} sends answered 429 (at "
                    f"{rate:.2f} msg/s), the first: {emu.throttled[0]}")
    if left := unsettled(url):
        raise Wrong(f"{left} outbox rows not marked sent")
    check_sent(emu, written)
    if emu.rate_violations():
        raise Wrong(f"the limits were broken: {emu.rate_violations()[:3]}")
    return Delivered(n, rate, emu.most_at_once, 0.0)


def check_sent(emu: BotAPIEmulator, written: dict[int, list[str]]) -> None:
    """Every chat got what was written to it, once each, in the order written."""
    got: dict[int, list[str]] = {}
    for sent in emu.sent:
        got.setdefault(sent.chat_id, []).append(sent.text or "")
    for chat, texts in written.items():
        delivered = got.get(chat, [])
        if sorted(delivered) != sorted(texts):
            lost, twice = set(texts) - set(delivered), len(delivered) - len(set(delivered))
            raise Wrong(f"chat {chat}: {len(lost)} lost, {twice} duplicated: {delivered}")
        if delivered != texts:
            raise Wrong(f"chat {chat}: delivered out of order: {delivered}")
    if extra := set(got) - set(written):
        raise Wrong(f"messages to chats nobody wrote to: {sorted(extra)[:5]}")


def _deadline(messages: int) -> float:
    return time.monotonic() + 120 + 2 * messages / RATE


def deliver(url: str, written: dict[int, list[str]], out: Options, *, workers: int = 1,
            redis_url: str | None = None, allow_throttled: bool = False) -> Delivered:
    """`workers` `minyi worker` processes deliver the outbox at `url`; with `redis_url` they
    share the rate limits through Redis. The emulator runs here, the workers apart from it."""
    from store import sealing

    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()  # the benchmark's own database (see REDIS_URL)
    messages = sum(map(len, written.values()))
    with tempfile.TemporaryDirectory() as tmp, \
            BotAPIEmulator(latency=LATENCY, enforce_limits=True) as emu:
        emu.add_chats(list(written))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "WECHAT_", "REDIS_"))}
        env.update(MINYI_ENV="development", MINYI_INSTANCE=str(Path(tmp) / "instance"),
                   DATABASE_URL=url, SECRET_KEY="bench-delivery-secret-0123456789",
                   PUBLIC_URL="http://minyi.bench", TELEGRAM_BOT_TOKEN=TOKEN,
                   TELEGRAM_BASE_URL=emu.base_url, TELEGRAM_GLOBAL_RATE=str(RATE),
                   PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MINYI_DATA_KEY=sealing.new_key(),
                   **({"REDIS_URL": redis_url} if redis_url else {}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        logs = [Path(tmp) / f"worker{n}.log" for n in range(workers)]
        with ExitStack() as stack:
            running = [stack.enter_context(procs.started(env, log, "worker")) for log in logs]
            deadline = _deadline(messages)
            while unsettled(url) and time.monotonic() < deadline:
                for proc, log in zip(running, logs, strict=True):
                    if proc.poll() is not None:
                        raise Wrong(f"a worker exited with {proc.returncode}:\n"
                                    + log.read_text(errors="replace")[-3000:])
                out.say(f"  {len(emu.sent)}/{messages} delivered")
                time.sleep(5)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if redis_url:
            shared = [log.read_text(errors="replace").count("rate limits are shared through Redis")
                      for log in logs]
            if shared != [1] * workers:
                raise Wrong(f"the workers did not all share their limits through Redis: {shared}")
        try:
            found = check(url, emu, written, allow_throttled=allow_throttled)
        except Wrong as exc:
            said = [line for log in logs for line in log.read_text(errors="replace").splitlines()
                    if "WARNING" in line or "ERROR" in line or "429" in line or "etry" in line]
            raise Wrong(f"{exc}\nthe workers said:\n" + "\n".join(said[:20])) from None
    return Delivered(found.messages, found.rate, found.most_at_once, cpu)


def _row(key: str, what: str, got: Delivered) -> Row:
    return Row(key, what, got.rate, "msg/s", f"≥ {GOAL:.0%} of {RATE} msg/s",
               got.rate >= GOAL * RATE, baseline=float(RATE),
               note=(f"{got.messages} delivered once each, in order per chat, 0 answered 429; "
                     f"up to {got.most_at_once} calls in flight; "
                     f"{got.cpu / got.messages * 1000:.2f} CPU-s per 1,000 messages"))


def _skipped(key: str, what: str, why: str) -> Row:
    return Row(key, what, 0.0, "msg/s", f"≥ {GOAL:.0%} of {RATE} msg/s", False,
               baseline=float(RATE), note=f"not run: {why}")


def rows(opts: Options) -> list[Row]:
    install_data_key()
    messages, chats = QUICK if opts.quick else FULL
    what = (f"feedback push, {messages:,} msg to {chats:,} chats, {LATENCY * 1000:.0f} ms per call, "
            "emulator's allowed rate as baseline")
    found: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'delivery.sqlite3'}"
        written = seed(url, messages, chats)
        opts.say(f"P2 sqlite: delivering {messages} messages (one minyi worker)")
        found.append(_row("P2 sqlite", what, deliver(url, written, opts)))
    server = opts.postgres_url or pg.configured()
    why = pg.unreachable(server) if server else "no PostgreSQL (MINYI_BENCH_POSTGRES_URL)"
    if server is None or why:
        opts.say(f"P2 postgresql: skipped: {why}")
        found.append(_skipped("P2 postgresql", what, why or ""))
        found.append(_skipped("I15 2 workers", what, why or ""))
        return found
    with pg.fresh(server) as url:
        written = seed(url, messages, chats)
        opts.say(f"P2 postgresql: delivering {messages} messages (one minyi worker)")
        found.append(_row("P2 postgresql", what, deliver(url, written, opts)))
    two = f"{what}; two `minyi worker` processes sharing the limits through Redis"
    if why := _redis_unreachable():
        opts.say(f"I15 2 workers: skipped: {why}")
        found.append(_skipped("I15 2 workers", two, why))
        return found
    with pg.fresh(server) as url:
        written = seed(url, messages, chats)
        opts.say(f"I15 2 workers: delivering {messages} messages (two minyi worker processes)")
        found.append(_row("I15 2 workers", two,
                          deliver(url, written, opts, workers=2, redis_url=REDIS_URL)))
    return found


def _redis_unreachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} does not answer: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 messages to 120 chats")
    parser.add_argument("--postgres", help="a PostgreSQL server (a fresh database is made on it)")
    args = parser.parse_args(argv)
    table = rows(Options(quick=args.quick, postgres_url=args.postgres))
    print(render(table))
    for row in table:
        print(f"{row.key}: {row.note}")
    return 0 if all(r.met for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())
