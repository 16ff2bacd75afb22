"""`minyi seed`: fill an empty database with demonstration data (load tests, the search bench)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from minyi.cli.common import CommandError, Subcommands, draw_bar, require_schema
from minyi.demo import Progress, SeedError, SeedStats, seed
from minyi.settings import Settings
from store import migrate, sealing
from store.db import make_engine


def register(sub: Subcommands) -> None:
    p = sub.add_parser("seed", help="fill an empty database with a realistic network and N "
                       "reports (load tests, bench/bench_search.py)")
    p.add_argument("--reports", type=int, required=True, help="how many reports to write")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed, the same data")
    p.add_argument("--database-url", help="(default: DATABASE_URL); an empty database is "
                   "set up first")
    p.set_defaults(handler=command)


def command(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> None:
    """Seed the database and print what was written and how fast."""
    url = args.database_url or settings.database_url
    if not sealing.installed():  # reporters' contacts are sealed: refuse before touching the database
        raise CommandError(
            "没有数据密钥：请先运行 `minyi init` 或设置 MINYI_DATA_KEY（`minyi keys new` 生成一个）。 / "
            "No data key: run `minyi init` or set MINYI_DATA_KEY (`minyi keys new` makes one); "
            "the seeded reporters' contacts are sealed with it.")
    engine = make_engine(url)
    try:
        if migrate.current(engine) is None:
            migrate.upgrade(url)  # an empty database is set up; an old one is left to `init`
        require_schema(engine)
        try:
            stats = seed(engine, args.reports, seed=args.seed, progress=progress_bar(sys.stderr))
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
    finally:
        engine.dispose()
    print(summary(stats), file=out or sys.stdout)


def summary(stats: SeedStats) -> str:
    return "\n".join([
        f"{stats.reports} reports written in {stats.insert_seconds:.1f} s "
        f"({stats.rate:,.0f} reports/s); search index {stats.indexed} in "
        f"{stats.index_seconds:.1f} s / 已写入 {stats.reports} 条信息",
        f"  {stats.units} units, {stats.points} points, {stats.users} staff (seed-*), "
        f"{stats.reporters} reporters ({stats.members} members), {stats.topics} topics",
        f"  {stats.events} events, {stats.transfers} transfers ({stats.overdue} overdue), "
        f"{stats.notes} notes, {stats.with_topic} reports on a topic",
        f"  rare phrase 「{stats.rare_phrase}」 in {stats.rare_count} reports",
        "  Staff passwords are random and unknown; set one with "
        "`minyi user password seed-admin` / 演示账号密码随机，请先重设",
    ])


def progress_bar(out: TextIO) -> Progress:
    """A one-line bar per phase on `out`, with the rate since the phase began."""
    labels = {"reports": "reports / 条信息", "index": "indexed / 已索引"}
    began: dict[str, float] = {}

    def show(phase: str, done: int, total: int) -> None:
        start = began.setdefault(phase, time.perf_counter())
        rate = done / max(time.perf_counter() - start, 1e-3)
        draw_bar(out, done, total, f"{labels.get(phase, phase)}  {rate:,.0f}/s ")
    return show
