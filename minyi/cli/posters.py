"""`minyi posters`: one A4 PDF with a poster per point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from bot.channels import registry
from minyi.cli.common import CommandError, Subcommands, draw_bar, sessions, unit_of_work
from minyi.settings import Settings
from qr import loopback
from qr import posters as qr_posters
from store.network import points, units
from store.outputs import posters


def register(sub: Subcommands) -> None:
    p = sub.add_parser("posters", help="print A4 poster PDFs for collection points")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--unit", type=int, help="only the points of this unit and the units below")
    scope.add_argument("--all", action="store_true", help="every point of the network (default)")
    p.add_argument("-o", "--output", required=True, help="the PDF file to write")
    p.set_defaults(handler=cmd_posters)


def _progress_bar(total: int, out: TextIO) -> Callable[[int], None]:
    def show(done: int) -> None:
        draw_bar(out, done, total, "posters / 张海报")
    return show


def cmd_posters(settings: Settings, args: argparse.Namespace) -> None:
    """One A4 PDF with a poster per point of a unit (and the units below it) or of the network."""
    engine, Session = sessions(settings)  # noqa: N806
    channels = registry(settings, Session)
    try:
        with unit_of_work(settings) as s:
            if args.unit is not None and units.get(s, args.unit) is None:
                raise CommandError(f"no unit #{args.unit} / 没有 #{args.unit} 号单位")
            tokens = [points.token_for(p, settings.secret_key)
                      for p in posters.selection(s, unit_id=args.unit)]
        # Outside that transaction: a channel may keep what it fetches (WeChat's codes) in its own.
        codes = {token: channels.codes(token) for token in tokens}
        with unit_of_work(settings) as s:
            sheets = [posters.poster_for(p, settings.secret_key, settings.public_url,
                                         codes.get(points.token_for(p, settings.secret_key), []))
                      for p in posters.selection(s, unit_id=args.unit)]
    finally:
        channels.close()
        engine.dispose()
    if not sheets:
        raise CommandError("no active collection points to print / 没有可打印的采集点")
    warning = loopback.warning(settings.public_url, settings.port)
    if warning:
        print(f"warning / 警告: {warning}", file=sys.stderr)
    data = qr_posters.render(sheets, progress=_progress_bar(len(sheets), sys.stderr))
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"wrote {len(sheets)} posters to {args.output} / 已生成 {len(sheets)} 张海报")
