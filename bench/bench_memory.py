"""P5: how much the process grows while 10,000 conversations are open at once.

Run: .venv/bin/python -m bench.bench_memory [--users 10000] [--quick]

In a fresh process (a subprocess of this one, so nothing another benchmark
left behind is counted) N users each scan a point (`/start <token>`), pick a
category, type a title and a situation, and stop there: N drafts left open,
waiting for the next question, as the Telegram channel runs them (each input
an `Inbound` with its update id, answered by the engine in a committed
transaction of its own, `BotContext.answer`), on a fresh SQLite file, the
users interleaved (step 1 for everyone, then step 2 ...) so that every
conversation is open at once. The resident set (/proc/self/statm) is read
before the first input and after the last, both after a garbage collection.

Baseline, in the same run: python-telegram-bot's `ConversationHandler` with
`PicklePersistence` holding the same N conversations at the same step, all in
memory (/work/shared/baselines/ptb_conversation.py `rss --mode pickle60`, or
MINYI_PTB_BASELINE), run as a subprocess; its `rss_open_mib - rss_baseline_mib`
is compared with our growth. Goal (issue 16, P5): our growth ≤ the baseline's.

A second, traced run (tracemalloc) prints the Python allocations that grew
most over the open conversations, to find what holds memory per conversation.

The run checks itself: N conversations stored, one per user, each a draft
waiting for the same question with the title and situation that user typed
(`Wrong` otherwise).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import install_data_key
from bench.table import Options, Row, Wrong

SECRET = "bench-secret-0123456789"
BASELINE_SCRIPT = Path(os.environ.get("MINYI_PTB_BASELINE", "/work/shared/baselines/ptb_conversation.py"))
USERS, QUICK_USERS = 10_000, 200
TRACED_USERS, QUICK_TRACED_USERS = 500, 50
FIRST_ID = 700_000_000
GOAL = "≤ 1.0× the baseline's growth"


def _title(i: int) -> str:
    return f"第{i}号路灯长期不亮"


def _situation(i: int) -> str:
    return f"人民路第{i}号路灯已经损坏超过三个月，附近居民夜间出行很不方便。"


def _rss_mib() -> dict[str, float]:
    """The resident set now, and its anonymous (heap) and file-backed (mapped) parts."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    parts = {"RssAnon": 0.0, "RssFile": 0.0}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in parts:
                parts[name] = int(value.split()[0]) / 1024  # kB
    return {"rss": resident / 2**20, "anon": parts["RssAnon"], "file": parts["RssFile"]}


def measure(users: int, folder: Path, *, trace: bool = False) -> dict[str, Any]:
    """Open `users` conversations in this process; its growth, and the stored drafts' check."""
    from bot.channels.telegram.handlers import BotContext
    from store.conversation.engine import Engine
    from store.conversation.types import EngineConfig, Inbound
    from store.db import make_engine, make_sessionmaker
    from store.models import Base, Channel
    from store.network import points

    install_data_key()
    db = make_engine(f"sqlite:///{folder / 'memory.sqlite3'}")
    Base.metadata.create_all(db)
    Session = make_sessionmaker(db)
    with Session() as s, s.begin():
        token = points.token_for(points.create_point(s, "城关镇"), SECRET)
    bot = BotContext(session_factory=Session, engine=Engine(EngineConfig(SECRET, folder / "uploads")))
    category = ""
    update = 0

    def send(i: int, **what: Any) -> list[Any]:
        nonlocal update
        update += 1
        uid = str(FIRST_ID + i)
        return bot.answer(Inbound(channel=Channel.TELEGRAM, user_id=uid, chat_id=uid,
                                  language="zh-hans", display_name=f"U{i}",
                                  update_id=str(update), **what))

    gc.collect()
    if trace:
        tracemalloc.start(1)
        before_trace = tracemalloc.take_snapshot()
    before = _rss_mib()
    for step in range(4):
        for i in range(users):
            if step == 0:
                replies = send(i, command="start", args=token)
                # Every user is shown the same buttons at this turn: read them once, keep one string.
                data = next((b.data for r in replies for row in r.buttons for b in row
                             if "民生" in b.label), None)
                if data is None:
                    raise Wrong(f"user {i} was not asked for a category: {[r.text for r in replies]}")
                if category and data != category:
                    raise Wrong(f"user {i} was offered {data!r}, user 0 {category!r}")
                category = data
            elif step == 1:
                send(i, callback=category)
            elif step == 2:
                send(i, text=_title(i))
            else:
                send(i, text=_situation(i))
    gc.collect()
    after = _rss_mib()
    top: list[str] = []
    if trace:
        grown = tracemalloc.take_snapshot().compare_to(before_trace, "traceback")
        tracemalloc.stop()
        for stat in grown[:12]:
            frames = " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback)
            top.append(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {frames}")
    drafts = check(Session, users)
    db.dispose()
    return {"users": users, "open_drafts": drafts,
            "rss_before_mib": before["rss"], "rss_open_mib": after["rss"],
            "growth_mib": after["rss"] - before["rss"],
            "anon_growth_mib": after["anon"] - before["anon"],
            "file_growth_mib": after["file"] - before["file"],
            "database_mib": (folder / "memory.sqlite3").stat().st_size / 2**20,
            "top": top}


def check(Session: Any, users: int) -> int:
    """Every user has exactly one conversation: a draft waiting at the same step, with what they typed."""
    from store.models import Conversation

    with Session() as s:
        rows = s.execute(sa.select(Conversation.external_id, Conversation.mode, Conversation.step,
                                   Conversation.answers)).all()
    if len(rows) != users:
        raise Wrong(f"{len(rows)} conversations stored for {users} users")
    steps = {step for _, _, step, _ in rows}
    if len(steps) != 1 or None in steps:
        raise Wrong(f"the drafts wait at different steps: {sorted(map(str, steps))}")
    seen: set[int] = set()
    for external_id, mode, _step, answers in rows:
        i = int(external_id) - FIRST_ID
        if i in seen or not 0 <= i < users:
            raise Wrong(f"user {external_id} has two conversations, or was never a user")
        seen.add(i)
        if mode != "filling":
            raise Wrong(f"user {i}'s conversation is {mode}, not an open draft")
        if answers.get("title") != _title(i) or answers.get("situation") != _situation(i):
            raise Wrong(f"user {i}'s draft holds {answers}")
    return len(seen)


def _child(args: list[str]) -> dict[str, Any]:
    """The JSON line of a fresh Python process running `args`."""
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed:\n{out.stderr[-3000:]}")
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
    result: dict[str, Any] = json.loads(line)
    return result


def ours(users: int, *, trace: bool = False) -> dict[str, Any]:
    args = ["-m", "bench.bench_memory", "measure", "--users", str(users)]
    result = _child([*args, "--trace"] if trace else args)
    if result["open_drafts"] != users:
        raise Wrong(f"{result['open_drafts']} open drafts for {users} users")
    return result


def baseline(users: int) -> dict[str, Any]:
    """The python-telegram-bot baseline's `rss` run in a subprocess: its JSON line."""
    result = _child([str(BASELINE_SCRIPT), "rss", "--mode", "pickle60", "--users", str(users)])
    if result["open_conversations"] != users:
        raise Wrong(f"the baseline holds {result['open_conversations']} of {users} conversations")
    return result


def rows(opts: Options, users: int | None = None) -> list[Row]:
    users = users or (QUICK_USERS if opts.quick else USERS)
    traced = min(users, QUICK_TRACED_USERS if opts.quick else TRACED_USERS)
    opts.say(f"P5: {users} conversations opened in a fresh process ...")
    ours_ = ours(users)
    opts.say(f"P5: grew {ours_['growth_mib']:.1f} MiB (heap {ours_['anon_growth_mib']:+.1f}, "
             f"mapped file {ours_['file_growth_mib']:+.1f}); database {ours_['database_mib']:.1f} MiB")
    opts.say(f"P5: what grew most over {traced} conversations (tracemalloc, Python objects only):")
    for line in ours(traced, trace=True)["top"]:
        opts.say("   ", line)
    base: float | None = None
    if BASELINE_SCRIPT.exists():
        opts.say(f"P5 baseline: {users} conversations in python-telegram-bot ...")
        b = baseline(users)
        base = b["rss_open_mib"] - b["rss_baseline_mib"]
    else:
        opts.say(f"P5 baseline: skipped, {BASELINE_SCRIPT} is not there")
    figure = ours_["growth_mib"]
    return [Row(key="P5", what=f"RSS growth, {users:,} conversations open", figure=figure,
                unit="MiB", goal=GOAL, met=base is not None and figure <= base, baseline=base,
                higher_is_better=False,
                note=f"{ours_['open_drafts']} open drafts checked, one per user; "
                     f"per conversation {figure * 1024 / users:.2f} KiB; heap "
                     f"{ours_['anon_growth_mib']:+.1f}, mapped file {ours_['file_growth_mib']:+.1f}, "
                     f"database file {ours_['database_mib']:.1f} MiB")]


def main(argv: list[str] | None = None) -> int:
    from bench.table import render

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=["table", "measure"], default="table")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trace", action="store_true", help="measure: with tracemalloc's top growth")
    args = parser.parse_args(argv)
    if args.what == "measure":
        with tempfile.TemporaryDirectory() as d:
            print(json.dumps(measure(args.users or USERS, Path(d), trace=args.trace)), flush=True)
        return 0
    table = rows(Options(quick=args.quick), args.users)
    print(render(table))
    return 0 if all(r.met for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())
