"""`minyi search rebuild|fold`: the search index, from the command line (large databases)."""

from __future__ import annotations

import argparse
import sys
import time

from minyi.cli.common import Subcommands, draw_bar, unit_of_work
from minyi.settings import Settings
from store import search


def register(sub: Subcommands) -> None:
    noun = sub.add_parser("search", help="the search index (检索索引)").add_subparsers(
        dest="search_command", required=True, metavar="ACTION")
    p = noun.add_parser("rebuild", help="index every report again (after a restore, say)")
    p.add_argument("--offline", action="store_true",
                   help="nothing else uses the database meanwhile (web, bot and worker stopped): "
                        "on PostgreSQL the index is emptied and built once at the end, several "
                        "times faster for a large office; searches and filings wait until it ends "
                        "/ 停机重建：其他进程须先停止")
    p.set_defaults(handler=cmd_rebuild)
    p = noun.add_parser("fold", help="繁简通搜: fold traditional characters to simplified, on or off")
    p.add_argument("state", choices=["on", "off"])
    p.set_defaults(handler=cmd_fold)


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> None:
    """Empty the index and index every report again, in one transaction."""
    started = time.monotonic()
    with unit_of_work(settings) as s:
        count = search.rebuild(s, progress=_progress, alone=args.offline)
        engine = s.get_bind().engine
    search.settle(engine)
    print(f"Indexed {count} reports in {time.monotonic() - started:.0f} s "
          f"/ 已重建 {count} 条信息的检索索引")


def cmd_fold(settings: Settings, args: argparse.Namespace) -> None:
    """Turn 繁简通搜 on or off; the index is rebuilt to match."""
    on = args.state == "on"
    with unit_of_work(settings) as s:
        count = search.set_fold_traditional(s, on, progress=_progress)
        engine = s.get_bind().engine
    search.settle(engine)
    print(f"繁简通搜 {'on / 已开启' if on else 'off / 已关闭'}; reindexed {count} reports")


def _progress(done: int, total: int) -> None:
    draw_bar(sys.stderr, done, total, "条")
