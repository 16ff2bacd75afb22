"""`minyi report-up`: send an adopted report upward (报送), or record what came back."""

from __future__ import annotations

import argparse
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store.models import AdoptionLevel, Report, ReportVersion
from store.outputs import destinations, upward


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "report-up", help="send an adopted report to a destination (报送), or record its outcome",
        description="Either --to DESTINATION (send) or --outcome adopted|instructed|declined "
                    "(record what came back). Destinations are named or given by id "
                    "(see 报送去向 in the console).")
    p.add_argument("tracking_no", metavar="TRACKING_NO", help="e.g. 2026-000123")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--to", metavar="DESTINATION", help="send the report there")
    what.add_argument("--outcome", choices=["adopted", "instructed", "declined"],
                      help="record what came back from a destination")
    p.add_argument("--version", type=int, metavar="N",
                   help="with --to: the version number to send (default: the latest)")
    p.add_argument("--destination", metavar="D",
                   help="with --outcome: whose answer it is (needed when several are open)")
    p.add_argument("--level", choices=[lv.value for lv in AdoptionLevel],
                   help="the adopting level, or the leader's for instructed (default: the destination's)")
    p.add_argument("--body", help="the adopting body (default: the destination's name)")
    p.add_argument("--publication", help="where they carried it, e.g. 《政协信息》")
    p.add_argument("--leader", help="with instructed: the leader who wrote the 批示")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="when (default: today)")
    p.add_argument("--note", help="anything else worth keeping with the record")
    p.set_defaults(handler=cmd_report_up)


def _report(s: Session, tracking_no: str) -> Report:
    report = s.scalar(sa.select(Report).where(Report.tracking_no == tracking_no.strip()))
    if report is None:
        raise CommandError(f"no report {tracking_no} / 没有编号为 {tracking_no} 的信息")
    return report


def _date(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--date {raw!r} is not a date like 2026-11-23 "
                           "/ 日期格式应为 2026-11-23") from None


def cmd_report_up(settings: Settings, args: argparse.Namespace) -> None:
    """Send, or record an outcome; the record's id and state are printed."""
    on = _date(args.date)
    with unit_of_work(settings) as s:
        report = _report(s, args.tracking_no)
        if args.to is not None:
            version_id = None
            if args.version is not None:
                version_id = s.scalar(sa.select(ReportVersion.id).where(
                    ReportVersion.report_id == report.id, ReportVersion.number == args.version))
                if version_id is None:
                    raise CommandError(f"{report.tracking_no} has no version {args.version} "
                                       f"/ 没有第 {args.version} 版")
            dest = destinations.find(s, args.to)
            record = upward.send(s, report, dest, version_id=version_id, on=on)
            line = (f"{report.tracking_no} sent to {dest.name} (version {record.version.number}), "
                    f"record #{record.id} / 已报送")
        else:
            which = destinations.find(s, args.destination) if args.destination else None
            record = upward.open_record(s, report, which)
            upward.record_outcome(s, record, upward.Outcome(
                status=args.outcome, level=args.level, body=args.body, publication=args.publication,
                leader=args.leader, on=on, note=args.note))
            line = (f"record #{record.id} ({record.destination.name}): {record.status.value}"
                    + (f" at {record.level.value}" if record.level else "") + " / 已登记结果")
    print(line)
