"""`minyi unit add|list`: the units of the network."""

from __future__ import annotations

import argparse

from minyi.cli.common import Subcommands, unit_of_work
from minyi.settings import Settings
from store import units
from store.models import UnitKind


def register(sub: Subcommands) -> None:
    unit = sub.add_parser("unit", help="units of the network").add_subparsers(
        dest="unit_command", required=True, metavar="ACTION")
    p = unit.add_parser("add", help="add a unit")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=[k.value for k in UnitKind])
    p.add_argument("--parent", type=int, help="the parent unit's id")
    p.set_defaults(handler=cmd_unit_add)
    p = unit.add_parser("list", help="list units as a tree")
    p.set_defaults(handler=cmd_unit_list)


def cmd_unit_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a unit (a CPPCC office, a party committee, a department ...) to the network."""
    with unit_of_work(settings) as s:
        unit = units.create(s, args.name, args.kind, args.parent)
        line = f"Unit #{unit.id} created / 已创建单位: {unit.name} ({unit.kind.value})"
    print(line)


def cmd_unit_list(settings: Settings, args: argparse.Namespace) -> None:
    """The network of units as a tree."""
    with unit_of_work(settings) as s:
        lines = [f"{'  ' * depth}#{u.id} {u.name} ({u.kind.value})" for u, depth in units.tree(s)]
    if not lines:
        print("No units yet; add one with `minyi unit add NAME --kind cppcc` "
              "/ 还没有单位，可用 minyi unit add 名称 --kind cppcc 添加")
        return
    print("\n".join(lines))
