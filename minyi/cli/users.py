"""`minyi user add|password`: staff accounts."""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from minyi.cli.common import (
    CommandError,
    Subcommands,
    ask_password,
    interactive,
    new_password,
    unit_of_work,
)
from minyi.settings import Settings
from store.models import Role, User
from store.network import staff, users


def register(sub: Subcommands) -> None:
    user = sub.add_parser("user", help="staff accounts").add_subparsers(
        dest="user_command", required=True, metavar="ACTION")
    p = user.add_parser("add", help="add a staff account")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--password", help="(default: ask, or generate and print one)")
    p.add_argument("--display-name")
    p.add_argument("--unit", type=int, help="the unit's id (see `minyi unit list`; "
                   "default: the whole network)")
    p.set_defaults(handler=cmd_user_add)
    p = user.add_parser("password", help="set a new password for a staff account")
    p.add_argument("name")
    p.add_argument("--password", help="(default: ask, or generate and print one)")
    p.set_defaults(handler=cmd_user_password)


def _password(given: str | None) -> tuple[str, bool]:
    """The password to set, and whether it was made up (and must be printed once)."""
    if given is not None:
        return given, False
    if interactive(sys.stdin):
        return ask_password(), False
    return new_password(), True


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a staff account; without --password, ask for one or make one up."""
    password, printed = _password(args.password)
    with unit_of_work(settings) as s:
        user = users.create_user(s, args.name, password, args.role,
                                 display_name=args.display_name)
        staff.update_user(s, user, role=user.role, unit_id=args.unit, active=True)
        role = user.role.value
    print(f"User created / 已创建用户: {args.name} ({role})")
    if printed:
        print(f"  password / 密码: {password}  (shown once / 只显示这一次)")


def cmd_user_password(settings: Settings, args: argparse.Namespace) -> None:
    """Set a new password for a staff account (e.g. a forgotten one)."""
    password, printed = _password(args.password)
    problem = users.password_problem_bilingual(password, args.name)
    if problem:
        raise CommandError(problem)
    with unit_of_work(settings) as s:
        user = s.scalar(sa.select(User).where(User.username == args.name))
        if user is None:
            raise CommandError(f"no user named {args.name} / 没有用户 {args.name}")
        users.set_password(s, user, password)
    print(f"Password changed / 已重设密码: {args.name}")
    if printed:
        print(f"  password / 密码: {password}  (shown once / 只显示这一次)")
