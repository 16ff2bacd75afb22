"""`minyi journal compile|sign-off|publish|export|special|list`: the office's journals from scripts and cron.

The command line acts as the machine's operator: its moves are recorded with
no user, and it may sign off (签发) as the final review level does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store.models import IssueStatus, JournalIssue, utcnow
from store.outputs import journal
from store.outputs.journal import issues, listing, numbering, publishing, series
from store.reports import marks

STATES = {IssueStatus.DRAFT: "draft / 草稿", IssueStatus.SIGNED_OFF: "signed off / 已签发",
          IssueStatus.PUBLISHED: "published / 已发布"}


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("journal", help="journal issues: 《社情民意》, 《信息专报》").add_subparsers(
        dest="journal_command", required=True, metavar="ACTION")
    p = cmd.add_parser("compile", help="make an issue of adopted reports and sign it off "
                       "(prints its number and id)")
    p.add_argument("--series", required=True, help="the journal, e.g. 社情民意 or 《信息专报》")
    p.add_argument("--reports", required=True, help="tracking numbers, comma-separated, in order")
    p.add_argument("--draft", action="store_true", help="leave it a draft (no number yet)")
    p.set_defaults(handler=cmd_compile)
    p = cmd.add_parser("sign-off", help="sign a draft off (签发): it gets its number")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_sign_off)
    p = cmd.add_parser("publish", help="publish a signed-off issue; its reporters are told")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_publish)
    p = cmd.add_parser("export", help="write an issue as .docx or .pdf")
    p.add_argument("id", type=int)
    p.add_argument("-o", "--output", required=True, type=Path, help="FILE.docx or FILE.pdf")
    p.set_defaults(handler=cmd_export)
    p = cmd.add_parser("special", help="专报: one report as a 《信息专报》 issue, signed off and "
                       "published in one step")
    p.add_argument("report", help="the report's tracking number")
    p.set_defaults(handler=cmd_special)
    p = cmd.add_parser("list", help="the latest issues with their ids and states")
    p.set_defaults(handler=cmd_list)


def _describe(issue: JournalIssue) -> str:
    total = numbering.total_label(issue)
    return (f"{series.titled(issue.series)}{numbering.label(issue)}"
            + (f"（{total}）" if total else "") + f" id={issue.id}")


def cmd_compile(settings: Settings, args: argparse.Namespace) -> None:
    """Compose an issue of the given reports, in that order; sign it off unless --draft."""
    numbers = [n for n in args.reports.split(",") if n.strip()]
    with unit_of_work(settings) as s:
        found = series.find(s, args.series)
        issue = issues.compose(s, found, listing.by_tracking_numbers(s, numbers), None)
        if not args.draft:
            publishing.sign_off(s, issue, None)
        line = f"{STATES[issue.status]}: {_describe(issue)}"
    print(line)


def cmd_sign_off(settings: Settings, args: argparse.Namespace) -> None:
    with unit_of_work(settings) as s:
        issue = publishing.sign_off(s, listing.issue(s, args.id), None)
        line = f"{STATES[issue.status]}: {_describe(issue)}"
    print(line)


def cmd_publish(settings: Settings, args: argparse.Namespace) -> None:
    """Publish; each reporter is told in their chat where their report was carried."""
    with unit_of_work(settings) as s:
        issue = listing.issue(s, args.id)
        queued = publishing.publish(s, issue, None)
        line = (f"{STATES[issue.status]}: {_describe(issue)}; {queued} message(s) to reporters "
                f"queued / 已通知 {queued} 位反映人")
    print(line)


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    fmt = args.output.suffix.lower().lstrip(".")
    if fmt not in journal.FORMATS:
        raise CommandError(f"the output file must end in .docx or .pdf / 输出文件须以 .docx 或 .pdf "
                           f"结尾: {args.output}")
    with unit_of_work(settings) as s:
        issue = listing.issue(s, args.id)
        # No one logged in: the copy says it came from the server's command line.
        stamp = marks.watermark("命令行导出", utcnow()) if journal.marked(issue) else None
        data = journal.export(s, issue, fmt, settings.instance_dir, watermark=stamp)
        what = _describe(issue)
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output} / 无法写入文件: {exc.strerror}") from exc
    print(f"{args.output}: {what}, {len(data):,} bytes")


def cmd_special(settings: Settings, args: argparse.Namespace) -> None:
    with unit_of_work(settings) as s:
        [report] = listing.by_tracking_numbers(s, [args.report])
        issue = publishing.special_report(s, report, None)
        line = f"{STATES[issue.status]}: {_describe(issue)}"
    print(line)


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    with unit_of_work(settings) as s:
        lines = [f"{_describe(i)}  {STATES[i.status]}  {len(i.items)} item(s) / 条"
                 for i in listing.issues(s, limit=50)]
    print("\n".join(lines) if lines else "No issues yet / 还没有期刊")
