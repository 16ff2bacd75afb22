"""`minyi bulletin build --period 2026-11 [--send] [-o DIR]`: a period's 通报 from scripts and cron.

Built as the scheduler builds it (the same claim: a period built already is
rebuilt only with --rebuild); --send also queues each liaison's and member's
figures unless they were sent before.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store.outputs import bulletin, period


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("bulletin", help="通报: a period's counts and rankings as .xlsx and .docx"
                         ).add_subparsers(dest="bulletin_command", required=True, metavar="ACTION")
    p = cmd.add_parser("build", help="build a period's bulletin (kept in the console)")
    p.add_argument("--period", required=True,
                   help="2026-11 (month), 2026-Q4, 2026, or 2026-01-05..2026-02-03")
    p.add_argument("--send", action="store_true",
                   help="also send each unit liaison and member their figures (once a period)")
    p.add_argument("--rebuild", action="store_true", help="build again if already built")
    p.add_argument("-o", "--output", type=Path, help="also write the .xlsx and .docx into DIR")
    p.set_defaults(handler=cmd_build)


def cmd_build(settings: Settings, args: argparse.Namespace) -> None:
    chosen = period.named(args.period)
    if args.output is not None and not args.output.is_dir():
        raise CommandError(f"{args.output} is not a folder / 不是文件夹")
    with unit_of_work(settings) as s:
        done = bulletin.publish(s, chosen, send=args.send, rebuild=args.rebuild)
        row = done.bulletin
        if row is None:
            raise CommandError("the bulletin could not be built / 通报未能生成")
        files = {"xlsx": row.xlsx, "docx": row.docx}
    state = "built / 已生成" if done.built else "already built (use --rebuild) / 已生成过"
    print(f"{chosen.label} ({chosen.key}): {state}; {done.messages} messages queued / 条消息待发送")
    if args.output is not None:
        for fmt, data in files.items():
            path = args.output / f"通报-{chosen.key}.{fmt}"
            path.write_bytes(data)
            print(path)
