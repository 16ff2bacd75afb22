"""`minyi unit add|list|rename|move|retire|restore`: the units of the network."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.orm import Session

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store.models import Unit, UnitKind
from store.network import units


def register(sub: Subcommands) -> None:
    unit = sub.add_parser("unit", help="units of the network").add_subparsers(
        dest="unit_command", required=True, metavar="ACTION")
    p = unit.add_parser("add", help="add a unit")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=[k.value for k in UnitKind])
    p.add_argument("--parent", type=int, help="the parent unit's id")
    p.set_defaults(handler=cmd_unit_add)
    p = unit.add_parser("list", help="list units as a tree, with their ids")
    p.set_defaults(handler=cmd_unit_list)
    p = unit.add_parser("rename", help="give a unit a new name")
    p.add_argument("id", type=int)
    p.add_argument("name")
    p.set_defaults(handler=cmd_unit_rename)
    p = unit.add_parser("move", help="hang a unit (and the units below it) under another unit")
    p.add_argument("id", type=int)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--parent", type=int, help="the new parent unit's id")
    where.add_argument("--top", action="store_true", help="make it a top-level unit")
    p.set_defaults(handler=cmd_unit_move)
    p = unit.add_parser("retire", help="retire a unit: kept for history, not offered for new "
                        "points, users or transfers (refused while it has active ones)")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_unit_retire)
    p = unit.add_parser("restore", help="undo `unit retire`")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_unit_restore)


def cmd_unit_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a unit (a CPPCC office, a party committee, a department ...) to the network."""
    with unit_of_work(settings) as s:
        unit = units.create(s, args.name, args.kind, args.parent)
        line = f"Unit #{unit.id} created / 已创建单位: {unit.name} ({unit.kind.value})"
    print(line)


def cmd_unit_list(settings: Settings, args: argparse.Namespace) -> None:
    """The network of units as a tree, with the ids other commands take."""
    with unit_of_work(settings) as s:
        lines = [f"{'  ' * depth}#{u.id} {u.name} ({u.kind.value})"
                 + ("  [retired / 已撤销]" if u.retired_at else "") for u, depth in units.tree(s)]
    if not lines:
        print("No units yet; add one with `minyi unit add NAME --kind cppcc` "
              "/ 还没有单位，可用 minyi unit add 名称 --kind cppcc 添加")
        return
    print("\n".join(lines))


def _change(settings: Settings, unit_id: int, change: Callable[[Session, Unit], object]) -> str:
    with unit_of_work(settings) as s:
        unit = units.get(s, unit_id)
        if unit is None:
            raise CommandError(f"no unit #{unit_id} / 没有 #{unit_id} 号单位")
        change(s, unit)
        return unit.name


def cmd_unit_rename(settings: Settings, args: argparse.Namespace) -> None:
    """Rename a unit; its points, staff and reports follow by id."""
    name = _change(settings, args.id, lambda s, u: units.rename(s, u, args.name))
    print(f"Unit #{args.id} is now / 单位已改名为: {name}")


def cmd_unit_move(settings: Settings, args: argparse.Namespace) -> None:
    """Hang a unit under another (no cycles); staff above it see its reports from now on."""
    name = _change(settings, args.id, lambda s, u: units.move(s, u, None if args.top else args.parent))
    where = "top level / 顶级单位" if args.top else f"unit #{args.parent}"
    print(f"Unit #{args.id} {name} moved under {where} / 已移动")


def cmd_unit_retire(settings: Settings, args: argparse.Namespace) -> None:
    """Retire a unit that has no active points, staff or sub-units left."""
    name = _change(settings, args.id, units.retire)
    print(f"Unit #{args.id} {name} retired / 已撤销")


def cmd_unit_restore(settings: Settings, args: argparse.Namespace) -> None:
    name = _change(settings, args.id, units.restore)
    print(f"Unit #{args.id} {name} restored / 已恢复")
