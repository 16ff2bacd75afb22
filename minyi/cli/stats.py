"""`minyi stats`: the 统计 page's figures for a period, by unit, point, member, category, channel
or source, as CSV, JSON or XLSX."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import sqlalchemy as sa

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store import forms
from store.models import Role, User
from store.outputs import dashboard, period, sheets, stats

FORMATS = ("csv", "json", "xlsx")


def register(sub: Subcommands) -> None:
    p = sub.add_parser("stats", help="a period's figures, as on the 统计 page (统计)")
    p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD",
                   help="first day of the period (Beijing date)")
    p.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD",
                   help="last day of the period, included")
    p.add_argument("--by", default="unit", choices=list(dashboard.DIMENSIONS),
                   help="one row per unit (rolled up its tree), point, member, category, "
                        "channel or source (default: unit)")
    p.add_argument("--format", choices=FORMATS, help="csv, json or xlsx (default: from -o's "
                   "ending, else csv)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: the screen; "
                   "xlsx needs a file)")
    p.add_argument("--user", metavar="USERNAME",
                   help="count what this staff member may see (default: the whole network)")
    p.set_defaults(handler=cmd_stats)


def cmd_stats(settings: Settings, args: argparse.Namespace) -> None:
    target = Path(args.output) if args.output else None
    fmt = args.format or (target.suffix.lower().lstrip(".") if target else "csv")
    if fmt not in FORMATS:
        raise CommandError(f"{fmt}: the format is csv, json or xlsx / 格式须为 csv、json 或 xlsx")
    if fmt == "xlsx" and target is None:
        raise CommandError("xlsx needs a file: -o FILE.xlsx / XLSX 须用 -o 指定文件")
    if target is not None and not target.parent.is_dir():
        raise CommandError(f"{target.parent}: no such folder / 文件夹不存在")
    chosen = period.parse("range", start=args.start, end=args.end)
    categories = forms.load(settings.form).choice_labels("category")
    with unit_of_work(settings) as s:
        user = _reader(s, args.user)
        if args.by not in {d.key for d in dashboard.dimensions_for(user)}:
            raise CommandError(f"{args.user}: only office staff may count by member "
                               "/ 只有办公室工作人员可以按委员统计")
        d = dashboard.build(s, user, chosen, args.by, categories)
        s.rollback()
    data = _render(d, fmt)
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target.write_bytes(data)
    print(f"{len(d.rows)} rows, {d.total.received} reports ({chosen.label}) written to {target} "
          f"/ 已写出 {len(d.rows)} 行", file=sys.stderr)


def _reader(s: sa.orm.Session, username: str | None) -> User:
    """The staff member whose scope is counted; without one, an administrator of the whole network."""
    if username:
        user = s.scalar(sa.select(User).where(User.username == username))
        if user is None or not user.active:
            raise CommandError(f"no active staff member {username!r} / 没有该工作人员")
        return user
    # Counting only reads: an administrator without a unit sees every report.
    return User(username="minyi-stats", role=Role.ADMIN, unit_id=None, active=True)


def _render(d: dashboard.Dashboard, fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(stats.as_json(d), ensure_ascii=False, indent=1) + "\n").encode()
    header, rows = stats.table(d)
    if fmt == "csv":
        return b"".join(sheets.csv_chunks(header, rows, [0]))
    out = io.BytesIO()
    sheets.write_xlsx(out, "统计", header, rows)
    return out.getvalue()
