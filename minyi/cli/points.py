"""`minyi point add|list|move|import|export|rotate|revoke`: collection points and their codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session

from minyi.cli.common import CommandError, Subcommands, unit_of_work
from minyi.settings import Settings
from store.models import CollectionPoint, PointKind
from store.network import pointedit, pointio, units
from store.network import points as points_mod


def register(sub: Subcommands) -> None:
    point = sub.add_parser("point", help="collection points").add_subparsers(
        dest="point_command", required=True, metavar="ACTION")
    p = point.add_parser("add", help="add a collection point and print its links")
    p.add_argument("name")
    p.add_argument("--unit", help="the unit it belongs to: id or exact name (`minyi unit list`); "
                   "default: the parent point's unit")
    p.add_argument("--parent", help="the parent point: its code or id")
    p.add_argument("--kind", choices=[k.value for k in PointKind], default=PointKind.COMMUNITY.value)
    p.add_argument("--address")
    p.add_argument("--contact")
    p.set_defaults(handler=cmd_point_add)
    p = point.add_parser("list", help="list collection points and their links")
    p.set_defaults(handler=cmd_point_list)
    p = point.add_parser("move", help="put points in another unit (all or none)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--unit", required=True, help="the unit: id or exact name")
    p.set_defaults(handler=cmd_point_move)
    p = point.add_parser("import", help="add or update points from CSV or XLSX; header names in "
                         "Chinese or English, any order: " + ", ".join(
                             f"{pointio.HEADERS_ZH[c]}/{c}" for c in pointio.COLUMNS))
    p.add_argument("file")
    p.set_defaults(handler=cmd_point_import)
    p = point.add_parser("export", help="write every point to FILE.csv or FILE.xlsx")
    p.add_argument("file")
    p.set_defaults(handler=cmd_point_export)
    p = point.add_parser("rotate", help="issue a new code; every printed code is retired")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_point_rotate)
    p = point.add_parser("revoke", help="withdraw a point's code without a new one")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_point_revoke)


def _point_lines(settings: Settings, point: CollectionPoint) -> list[str]:
    token = points_mod.token_for(point, settings.secret_key)
    tg = points_mod.telegram_link(settings.telegram_bot_username, token)
    return [
        f"  token:          {token}",
        "  Telegram:       " + (tg or "(set TELEGRAM_BOT_USERNAME to get the t.me link "
                                 "/ 需配置 TELEGRAM_BOT_USERNAME)"),
        f"  web chat / 网页: {points_mod.web_link(settings.public_url, token)}",
        "  short / 短网址:  "
        + points_mod.short_link(settings.public_url,
                                points_mod.short_code_for(point, settings.secret_key)),
    ]


def cmd_point_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a collection point in a unit (or its parent's) and print the links its QR codes carry."""
    with unit_of_work(settings) as s:
        point = pointedit.add_point(
            s, units.EVERYTHING, args.name, kind=args.kind, address=args.address,
            contact=args.contact,
            parent=pointedit.find_parent(s, args.parent) if args.parent else None,
            unit_id=pointedit.find_unit(s, args.unit) if args.unit else None)
        lines = _point_lines(settings, point)
        unit = units.get(s, point.unit_id) if point.unit_id is not None else None
        header = (f"Collection point #{point.id} created / 已创建采集点: {point.name}"
                  + (f" — unit #{unit.id} {unit.name}" if unit else " — no unit / 未指定单位"))
    print(header)
    print("\n".join(lines))


def cmd_point_move(settings: Settings, args: argparse.Namespace) -> None:
    """Put the points in another unit; any missing point and none is moved."""
    with unit_of_work(settings) as s:
        unit_id = pointedit.find_unit(s, args.unit)
        moved = pointedit.move_points(s, units.EVERYTHING, args.ids, unit_id)
    print(f"{len(set(args.ids))} points now in unit #{unit_id} ({moved.points} moved, "
          f"{moved.reports} reports without a unit came along) / 已移动")


def cmd_point_list(settings: Settings, args: argparse.Namespace) -> None:
    """Every collection point with its links."""
    with unit_of_work(settings) as s:
        rows = [(p, _point_lines(settings, p)) for p in points_mod.list_points(s)]
    if not rows:
        print("No collection points yet; add one with `minyi point add NAME` "
              "/ 还没有采集点，可用 minyi point add 名称 添加")
        return
    for point, lines in rows:
        state = "" if point.active else "  [inactive / 已停用]"
        address = f" — {point.address}" if point.address else ""
        unit = f"  [unit #{point.unit_id}]" if point.unit_id else "  [no unit / 未指定单位]"
        print(f"#{point.id} {point.name}{address}{unit}{state}")
        print("\n".join(lines))


def _change_point(settings: Settings, point_id: int,
                  change: Callable[[Session, CollectionPoint], object]) -> tuple[str, list[str]]:
    with unit_of_work(settings) as s:
        point = s.get(CollectionPoint, point_id)
        if point is None:
            raise CommandError(f"no collection point #{point_id} / 没有 #{point_id} 号采集点")
        change(s, point)
        return point.name, _point_lines(settings, point)


def cmd_point_rotate(settings: Settings, args: argparse.Namespace) -> None:
    """Retire every printed code of a point and print the new links (print new posters next)."""
    name, lines = _change_point(settings, args.id, points_mod.rotate)
    print(f"#{args.id} {name}: new code issued, old codes retired / 已更换二维码，旧二维码失效")
    print("\n".join(lines))


def cmd_point_revoke(settings: Settings, args: argparse.Namespace) -> None:
    """Withdraw a point's code; `minyi point rotate` issues a new one."""
    name, _ = _change_point(settings, args.id, points_mod.revoke)
    print(f"#{args.id} {name}: code revoked / 二维码已作废")


def cmd_point_import(settings: Settings, args: argparse.Namespace) -> None:
    """Add or update points from a CSV or XLSX file; any bad row and nothing is imported."""
    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror} / 无法读取文件") from exc
    with unit_of_work(settings) as s:
        result = pointio.import_points(s, args.file, data)
        if not result.ok:  # raising inside the transaction rolls it back
            for error in result.errors:
                print(f"{args.file}: {error}", file=sys.stderr)
            if result.ignored:
                print("columns not used / 未使用的列: " + ", ".join(result.ignored), file=sys.stderr)
            raise CommandError(f"{len(result.errors)} bad rows, nothing imported "
                               f"/ {len(result.errors)} 行有误，未导入任何数据")
    print(f"{result.created} points added, {result.updated} updated "
          f"/ 新增 {result.created} 个，更新 {result.updated} 个采集点")
    if result.generated:
        print(f"{result.generated} rows had no code and were given one (see `minyi point export`) "
              f"/ {result.generated} 行没有编码，已自动生成")
    if result.ignored:
        print("columns not used / 未使用的列: " + ", ".join(result.ignored))


def cmd_point_export(settings: Settings, args: argparse.Namespace) -> None:
    """Write every point to a CSV or XLSX file (by its name) that `point import` reads back."""
    with unit_of_work(settings) as s:
        xlsx = args.file.lower().endswith(".xlsx")
        data = pointio.export_xlsx(s) if xlsx else pointio.export_csv(s)
    with open(args.file, "wb") as f:
        f.write(data)
    print(f"wrote {args.file} / 已导出")
