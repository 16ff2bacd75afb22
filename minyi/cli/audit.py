"""`minyi audit verify`: walk the audit trail's hash chain and name the first broken row."""

from __future__ import annotations

import argparse

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store import audit
from store.audit import chain


def register(sub: Subcommands) -> None:
    noun = sub.add_parser("audit", help="the audit trail (审计日志)").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION")
    p = noun.add_parser("verify", help="check every row of the trail against its hash chain")
    p.set_defaults(handler=cmd_audit_verify)


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> None:
    """Exit 0 with the count and the last hash when the chain holds; else name the first bad row."""
    with unit_of_work(settings) as s:
        good, broken = audit.verify(s)
        last = chain.head(s)
    if broken is not None:
        raise CommandError(f"audit trail broken at {broken} (the {good} rows before it hold)"
                           f" / 审计日志在此处被改动")
    print(f"Audit trail intact: {good} rows / 审计日志完整：{good} 条记录")
    if last is not None:
        # Kept elsewhere, this tells a later check whether rows were cut off the end.
        print(f"  last: #{last[0]} {last[1]}")
