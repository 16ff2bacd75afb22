"""`minyi export reports`: the reports a staff member may see, filtered as in 检索, to CSV or XLSX."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from minyi.cli.common import CommandError, Subcommands, require_schema, sessions, unit_of_work
from minyi.settings import Settings
from store import forms
from store.db import reading
from store.models import ReporterKind, ReportStatus, Urgency, User
from store.outputs import exports, sheets
from store.search.query import Filters

# The search page's URL keys, as options: (option, URL key, help).
FILTERS = (
    ("--q", "q", "words to search for, as in 检索"),
    ("--category", "category", "a category's stored value (livelihood, economy ...)"),
    ("--point", "point", "a collection point's id (and the points below it)"),
    ("--unit", "unit", "a unit's id (and the units below it)"),
    ("--reporter", "reporter", "who reported: " + ", ".join(k.value for k in ReporterKind)),
    ("--urgency", "urgency", ", ".join(u.value for u in Urgency)),
    ("--topic", "topic", "a topic call's id"),
    ("--level", "level", "pending at this review level (0 = 初审)"),
    ("--from", "from", "submitted on or after this date, YYYY-MM-DD (Beijing)"),
    ("--to", "to", "submitted on or before this date, YYYY-MM-DD (Beijing)"),
    ("--days", "days", "submitted within the last N days"),
)


def register(sub: Subcommands) -> None:
    noun = sub.add_parser("export", help="export reports to CSV or XLSX (导出)").add_subparsers(
        dest="export_command", required=True, metavar="WHAT")
    p = noun.add_parser("reports", help="the reports a staff member may see, filtered as in 检索")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="FILE.csv (UTF-8 with BOM, for Excel) or FILE.xlsx")
    p.add_argument("--user", required=True, metavar="USERNAME",
                   help="export as this staff member: their access rules, their name in the export log")
    p.add_argument("--status", action="append", default=[], metavar="STATUS",
                   help="one of " + ", ".join(s.value for s in ReportStatus) + " (repeat for more)")
    for option, key, text in FILTERS:
        p.add_argument(option, dest=f"f_{key}", metavar=key.upper(), help=text)
    p.add_argument("--overdue", action="store_true", help="only reports overdue with a department")
    p.add_argument("--mine", action="store_true", help="only reports waiting at the user's level")
    p.set_defaults(handler=cmd_export_reports)


def cmd_export_reports(settings: Settings, args: argparse.Namespace) -> None:
    """Write the reports to the file, streamed; the file appears whole or not at all."""
    target = Path(args.output)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in sheets.FORMATS:
        raise CommandError(f"{target.name}: the file must end in .csv or .xlsx "
                           "/ 文件名须以 .csv 或 .xlsx 结尾")
    if not target.parent.is_dir():
        raise CommandError(f"{target.parent}: no such folder / 文件夹不存在")
    raw = {key: getattr(args, f"f_{key}") for _, key, _ in FILTERS if getattr(args, f"f_{key}")}
    raw.update(status=",".join(args.status), overdue="1" if args.overdue else "",
               mine="1" if args.mine else "")
    filters, problems = Filters.from_args(raw)
    if problems:
        raise CommandError("these filters could not be read / 无法识别的条件: " + ", ".join(problems))
    categories = forms.load(settings.form).choice_labels("category")

    with unit_of_work(settings) as s:
        user = s.scalar(sa.select(User).where(User.username == args.user))
        if user is None or not user.active:
            raise CommandError(f"no active staff member {args.user!r} / 没有该工作人员")
        user_id = user.id
        refused: exports.ExportForbidden | None = None
        try:
            export_id = exports.begin(s, user, fmt, filters, "cli").id
        except exports.ExportForbidden as exc:
            # `begin` wrote nothing before refusing: the refusal is kept (the audit trail).
            refused = exc
            exports.log_refusal(s, user, fmt, filters, "cli")
    if refused is not None:
        raise CommandError(str(refused))

    engine, Session = sessions(settings)  # noqa: N806
    counter = exports.Counter()
    fd, partial = tempfile.mkstemp(prefix=".export-", suffix=f".{fmt}", dir=target.parent)
    try:
        require_schema(engine)
        with os.fdopen(fd, "wb") as out, reading(Session) as s:
            reader = s.get(User, user_id)
            assert reader is not None
            if fmt == "csv":
                out.writelines(sheets.csv_pieces(exports.HEADER, exports.batches(
                    s, reader, filters, categories, counter), exports.TEXT_COLUMNS))
            else:
                sheets.write_xlsx(out, exports.SHEET_NAME, exports.HEADER,
                                  exports.rows(s, reader, filters, categories, counter))
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    with unit_of_work(settings) as s:
        exports.finish(s, export_id, counter.rows)
    print(f"{counter.rows} reports written to {target} / 已导出 {counter.rows} 条信息", file=sys.stdout)
