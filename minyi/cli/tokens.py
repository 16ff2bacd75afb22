"""`minyi token issue|list|revoke`: tokens of the read API (/api/v1/), one per other system."""

from __future__ import annotations

import argparse

from minyi.cli.common import Subcommands, unit_of_work
from minyi.settings import Settings
from store.network import units
from store.outputs import apitokens


def register(sub: Subcommands) -> None:
    noun = sub.add_parser("token", help="read API tokens (API 令牌)").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    p = noun.add_parser("issue", help="issue a token and print it (shown this once)")
    p.add_argument("name", help="what system it is for")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--unit", type=int, help="the unit it reads (and the units below it)")
    where.add_argument("--all", action="store_true", help="the whole network")
    p.add_argument("--marked", action="store_true",
                   help="may read the content of reports marked 内部 or above "
                        "(without it they answer number, status and mark only)")
    p.set_defaults(handler=cmd_token_issue)
    p = noun.add_parser("list", help="list tokens: unit, when issued, last used, revoked")
    p.set_defaults(handler=cmd_token_list)
    p = noun.add_parser("revoke", help="revoke a token: its next call is refused")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_token_revoke)


def cmd_token_issue(settings: Settings, args: argparse.Namespace) -> None:
    """Issue a token for a unit's subtree (or all) and print it; only its hash is kept."""
    with unit_of_work(settings) as s:
        token, raw = apitokens.issue(s, args.name, None if args.all else args.unit, None,
                                     units.EVERYTHING, marked=args.marked)
        line = f"Token #{token.id} for {apitokens.unit_name(s, token)} / 已签发令牌: {token.name}"
    print(line)
    print(f"  {raw}")
    print("  Shown this once; keep it safe / 令牌只显示这一次，请妥善保存")


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> None:
    with unit_of_work(settings) as s:
        lines = []
        for t in apitokens.listing(s, units.EVERYTHING):
            used = t.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if t.last_used_at else "never / 从未使用"
            state = f"  [revoked / 已吊销 {t.revoked_at:%Y-%m-%d}]" if t.revoked_at else ""
            lines.append(f"#{t.id} {t.name} — {t.prefix}… — {apitokens.unit_name(s, t)} — "
                         f"last used / 最近使用: {used}{state}")
    print("\n".join(lines) if lines else "No tokens yet / 还没有令牌")


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    with unit_of_work(settings) as s:
        token = apitokens.revoke(s, args.id, None, units.EVERYTHING)
        name = token.name
    print(f"#{args.id} {name}: revoked / 已吊销")
