"""P1: CPU per complete chat report through engine + store, against python-telegram-bot.

Run: .venv/bin/python -m bench.bench_engine [--users 500] [--quick] [--postgres URL]

500 users are interleaved round-robin, one input each per turn, every one of
them filing a whole report exactly as the Telegram channel does: each input
is one `Inbound` (with its update id), and a turn's inputs are handed over at
once, as a busy `getUpdates` hands them to the channel, which answers them
through its group commit (`BotContext.answer_soon`,
bot/channels/group_commit.py): the inputs waiting together are applied in one
transaction, and each answer is returned only once that has committed, so
every answer is on disk before it is sent. The p95 is of CPU per input: its
share of its round's `handle_all`, plus an equal share of what the rest cost (the commits, the
rounds' bookkeeping, the event loop). Run on a fresh SQLite file and, when a PostgreSQL server
is configured (MINYI_BENCH_POSTGRES_URL / MINYI_TEST_POSTGRES_URL), on a
fresh database of its own (bench/pg.py).

Baseline, in the same run: the same kind of 9-update form as python-telegram-bot's
`ConversationHandler` with `PicklePersistence` (/work/shared/baselines/
ptb_conversation.py, modes pickle60 and pickle1), run as a subprocess; its
`conv_per_cpu_s_total` is compared with our reports per CPU-second. On SQLite
our CPU includes the database (it runs in this process); on PostgreSQL it is
this process only (the server's CPU is not counted).

The run checks itself: exactly one report per user, each with the title,
situation, suggestion and place that user typed (`Wrong` otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench import install_data_key, pg
from bench.table import Options, Row, Wrong
from bot.channels.telegram.handlers import BotContext
from store import db
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig, Inbound, Reply
from store.db import make_engine, make_sessionmaker
from store.models import Base, Channel, Report, Reporter
from store.network import points
from store.ops import heap

SECRET = "bench-secret-0123456789"
BASELINE_SCRIPT = Path(os.environ.get("MINYI_PTB_BASELINE", "/work/shared/baselines/ptb_conversation.py"))
USERS, QUICK_USERS = 500, 30
P95_GOAL_MS = 10.0
GOAL = "≥ 1.0× pickle60"


# -- one user's report, as inputs -------------------------------------------

def _press(replies: list[Reply], label: str) -> str:
    """The data of the last button labelled `label` among `replies` (a person taps it)."""
    for reply in reversed(replies):
        for row in reply.buttons:
            for button in row:
                if label in button.label:
                    return button.data
    raise Wrong(f"no button {label!r} in {[r.text[:40] for r in replies]}")


def answers_of(i: int) -> dict[str, str]:
    """What user `i` types: distinct per user, so the stored report can be checked."""
    return {
        "title": f"城关镇人民路路灯长期不亮{i}号",
        "situation": f"人民路共有路灯40盏，其中12盏已经损坏超过3个月，附近{2000 + i}户居民夜间出行不便。",
        "analysis": "可能是雨季后线路老化短路，维修不及时。",
        "suggestion": "建议城管部门尽快排查维修，并建立路灯定期巡查机制。",
        "place": f"城关镇人民路{i % 300}号附近",
    }


# Each step makes one input from the user's index, the point's code and the last replies.
Step = Callable[[int, str, list[Reply]], dict[str, object]]
STEPS: list[Step] = [
    lambda i, token, last: {"command": "start", "args": token},
    lambda i, token, last: {"callback": _press(last, "民生保障")},
    lambda i, token, last: {"text": answers_of(i)["title"]},
    lambda i, token, last: {"text": answers_of(i)["situation"]},
    lambda i, token, last: {"text": answers_of(i)["analysis"]},
    lambda i, token, last: {"text": answers_of(i)["suggestion"]},
    lambda i, token, last: {"text": answers_of(i)["place"]},
    lambda i, token, last: {"text": "跳过"},  # photos
    lambda i, token, last: {"callback": _press(last, "否")},  # urgent
    lambda i, token, last: {"callback": _press(last, "是")},  # anonymous
    lambda i, token, last: {"callback": _press(last, "确认提交")},
]


@dataclass(frozen=True)
class Result:
    database: str
    users: int
    inputs: int
    cpu_s: float
    p95_ms: float

    @property
    def reports_per_cpu_s(self) -> float:
        return self.users / self.cpu_s


def _cpu() -> float:
    return time.process_time()


class _Timed:
    """The engine, noting the CPU its inputs take: a round's `handle_all` divided among its
    inputs (every user is at the same step in a turn, so a round's inputs are alike)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.each: list[float] = []

    def handle(self, work: db.Unit, inbound: Inbound) -> list[Reply]:
        return self.handle_all(work, [inbound])[0]

    def handle_all(self, work: db.Unit, inbounds: Sequence[Inbound]) -> list[list[Reply]]:
        t0 = _cpu()
        replies = self.engine.handle_all(work, inbounds)
        took = _cpu() - t0
        self.each.extend([took / len(inbounds)] * len(inbounds))
        return replies


def run(url: str, users: int, upload_dir: Path) -> Result:
    """File `users` reports round-robin through the engine on the empty database `url`."""
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            if s.scalar(sa.select(sa.func.count()).select_from(Report)):
                raise Wrong(f"{engine.url.render_as_string()} already holds reports: use a fresh database")
        with sessions.begin() as s:
            token = points.token_for(points.create_point(s, "城关镇"), SECRET)
        timed = _Timed(Engine(EngineConfig(SECRET, upload_dir, flood_burst=10_000)))
        chat = BotContext(session_factory=sessions, engine=timed)
        # Built: as `minyi bot` does once it has started, its start-up objects are frozen out of
        # the collector's full passes (store/ops/heap.py); let go again after the run, which
        # is not this process's last.
        heap.settle()
        last: list[list[Reply]] = [[] for _ in range(users)]
        update = 0

        async def turn(step: Step) -> None:
            # Every user's next input at once, as the Telegram channel hands them over from
            # a busy getUpdates: each answered through the channel's group commit.
            nonlocal update
            inbounds = []
            for i in range(users):
                update += 1
                user = str(100_000 + i)
                inbounds.append(Inbound(channel=Channel.TELEGRAM, user_id=user, chat_id=user,
                                        update_id=str(update), language="zh", display_name=f"U{i}",
                                        **step(i, token, last[i])))  # type: ignore[arg-type]
            last[:] = await asyncio.gather(*(chat.answer_soon(inbound) for inbound in inbounds))

        async def all_steps() -> None:
            for step in STEPS:
                await turn(step)

        start = _cpu()
        asyncio.run(all_steps())
        cpu = _cpu() - start
        for i, replies in enumerate(last):
            if not replies or "提交成功" not in replies[0].text:
                raise Wrong(f"user {i} was not told their report was filed: {replies[:1]}")
        check(sessions, users)
    finally:
        gc.unfreeze()
        engine.dispose()
    if len(timed.each) != users * len(STEPS):
        raise Wrong(f"{len(timed.each)} inputs handled for {users * len(STEPS)} sent")
    # Each input: its own `handle`, and an equal share of what the rest cost (the commits,
    # the rounds' bookkeeping, the event loop).
    share = (cpu - sum(timed.each)) / len(timed.each)
    took = sorted(t + share for t in timed.each)
    return Result(engine.url.get_backend_name(), users, len(took), cpu,
                  took[int(0.95 * (len(took) - 1))] * 1000)


def check(sessions: sessionmaker[Session], users: int) -> None:
    """Exactly one report per user, holding what that user typed."""
    with sessions() as s:
        rows = s.execute(sa.select(Reporter.external_id, Report.title, Report.situation,
                                   Report.analysis, Report.suggestion, Report.place)
                         .join(Reporter, Report.reporter_id == Reporter.id)).all()
    if len(rows) != users:
        raise Wrong(f"{len(rows)} reports stored for {users} users")
    seen: set[int] = set()
    for external_id, *stored in rows:
        i = int(external_id) - 100_000
        if i in seen:
            raise Wrong(f"user {i} filed twice")
        seen.add(i)
        want = answers_of(i)
        expected = [want["title"], want["situation"], want["analysis"], want["suggestion"], want["place"]]
        if stored != expected:
            raise Wrong(f"user {i}'s report holds {stored}, not {expected}")


def baseline(mode: str, users: int) -> dict[str, float]:
    """One run of the python-telegram-bot baseline in a subprocess: its JSON line."""
    out = subprocess.run([sys.executable, str(BASELINE_SCRIPT), "once", "--mode", mode,
                          "--users", str(users)], capture_output=True, text=True, check=True)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
    result: dict[str, float] = json.loads(line)
    if not result["check"]["reports_eq_n"]:  # type: ignore[index]
        raise Wrong(f"the {mode} baseline stored {result['check']['reports']} of {users}")  # type: ignore[index]
    return result


@contextmanager
def _postgres(opts: Options) -> Iterator[str | None]:
    url = opts.postgres_url or pg.configured()
    if url is None:
        opts.say("P1 postgresql: skipped, no MINYI_BENCH_POSTGRES_URL or MINYI_TEST_POSTGRES_URL")
        yield None
        return
    why = pg.unreachable(url)
    if why is not None:
        opts.say(f"P1 postgresql: skipped, {why}")
        yield None
        return
    with pg.fresh(url) as fresh:
        yield fresh


def rows(opts: Options, users: int | None = None) -> list[Row]:
    install_data_key()
    users = users or (QUICK_USERS if opts.quick else USERS)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        opts.say(f"P1 sqlite: {users} users ...")
        results.append(run(f"sqlite:///{tmp / 'engine.sqlite3'}", users, tmp / "uploads"))
        with _postgres(opts) as url:
            if url is not None:
                opts.say(f"P1 postgresql: {users} users ...")
                results.append(run(url, users, tmp / "uploads-pg"))
    base: dict[str, dict[str, float]] = {}
    if BASELINE_SCRIPT.exists():
        for mode in ("pickle60", "pickle1"):
            opts.say(f"P1 baseline {mode}: {users} users ...")
            base[mode] = baseline(mode, users)
    else:
        opts.say(f"P1 baseline: skipped, {BASELINE_SCRIPT} is not there")
    out: list[Row] = []
    for r in results:
        figure = r.reports_per_cpu_s
        where = "SQLite, incl. the database" if r.database == "sqlite" else "our process only"
        for mode in ("pickle60", "pickle1"):
            b = base.get(mode, {}).get("conv_per_cpu_s_total")
            out.append(Row(
                key=f"P1 {r.database}", what=f"reports per CPU-s vs {mode} ({where})",
                figure=figure, unit="reports/CPU-s", baseline=b,
                goal=GOAL if mode == "pickle60" and r.database == "sqlite" else "(for comparison)",
                met=b is not None and figure >= b,
                note=f"{r.users} reports, {r.inputs} inputs, each committed; checked stored once"))
        out.append(Row(key=f"P1 {r.database}", what="CPU per input, p95", figure=r.p95_ms,
                       unit="ms", goal=f"≤ {P95_GOAL_MS:.0f} ms" if r.database == "sqlite" else "(measured)",
                       met=r.p95_ms <= P95_GOAL_MS or r.database != "sqlite", higher_is_better=False))
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.table import render

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server to make a fresh database on")
    args = parser.parse_args(argv)
    print(render(rows(Options(quick=args.quick, postgres_url=args.postgres), args.users)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
