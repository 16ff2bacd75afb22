"""The `minyi` command: set up the database, add staff and points, serve.

Each command builds the settings once, opens its own unit of work
(`with Session() as s, s.begin():`) and prints what a person needs next.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi import seed
from minyi.settings import ConfigError, Settings
from qr import posters as qr_posters
from store import migrate, pointio, posters, staff, templates, units, users
from store import points as points_mod
from store.db import make_engine, make_sessionmaker
from store.models import CollectionPoint, Role, UnitKind, User


class CommandError(Exception):
    """A command cannot go on; the message says why (printed without a traceback)."""


def _sessions(settings: Settings) -> tuple[sa.Engine, sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    return engine, make_sessionmaker(engine)


def _require_schema(engine: sa.Engine) -> None:
    if migrate.current(engine) != migrate.head():
        raise CommandError("the database is not set up or not up to date; run `minyi init` first "
                           "/ 数据库尚未初始化或需要升级，请先运行 minyi init")


def _interactive(stdin: TextIO) -> bool:
    return stdin.isatty() and not os.environ.get("CI")


def _ask_password(prompt: str = "Password / 密码: ") -> str:
    while True:
        first = getpass.getpass(prompt)
        if len(first) < users.MIN_PASSWORD:
            print(f"至少 {users.MIN_PASSWORD} 位 / at least {users.MIN_PASSWORD} characters")
            continue
        if getpass.getpass("Again / 再输一次: ") == first:
            return first
        print("两次输入不一致 / the two entries differ")


def _new_password() -> str:
    return secrets.token_urlsafe(12)


# -- init ---------------------------------------------------------------------


def cmd_init(settings: Settings, args: argparse.Namespace) -> None:
    """Create or upgrade the database, then make sure there is an administrator."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    print(f"Database ready / 数据库已就绪: {_safe_url(settings.database_url)}")

    name = args.admin_user or os.environ.get("MINYI_ADMIN_USER") or None
    password = args.admin_password or os.environ.get("MINYI_ADMIN_PASSWORD") or None
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        with Session() as s, s.begin():
            if templates.ensure_defaults(s):
                print("Default 不采用 reasons added / 已添加默认不采用原因模板")
        with Session() as s, s.begin():
            has_admin = s.scalar(sa.select(User.id).where(User.role == Role.ADMIN).limit(1))
            if name is not None and s.scalar(sa.select(User.id).where(User.username == name)):
                print(f"User {name} already exists; nothing changed / 用户 {name} 已存在")
                return
            if has_admin is not None and name is None:
                print("An administrator exists already / 管理员账号已存在")
                return
            printed = False
            if name is None and _interactive(sys.stdin):
                name = input("Administrator username / 管理员用户名 [admin]: ").strip() or "admin"
                password = password or _ask_password()
            name = name or "admin"
            if password is None:
                if _interactive(sys.stdin):
                    password = _ask_password()
                else:
                    password, printed = _new_password(), True
            users.create_user(s, name, password, Role.ADMIN, display_name=name)
        print(f"Administrator created / 已创建管理员: {name}")
        if printed:
            print(f"  password / 密码: {password}")
            print("  It is shown only this once; `minyi user password admin` sets a new one. "
                  "/ 密码只显示这一次，可用 minyi user password admin 重设。")
    finally:
        engine.dispose()


def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


# -- serve --------------------------------------------------------------------


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """Run the console, web chat, Telegram bot, notifier and scheduler in one process."""
    from minyi.runner import StartupError, serve

    if args.host or args.port:
        from dataclasses import replace

        settings = replace(settings, host=args.host or settings.host,
                           port=args.port or settings.port)
    engine = make_engine(settings.database_url)
    try:
        _require_schema(engine)
    finally:
        engine.dispose()
    try:
        serve(settings)
    except StartupError as exc:
        raise CommandError(f"cannot start: {exc}") from exc


# -- user ---------------------------------------------------------------------


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a staff account; without --password, ask for one or make one up."""
    password, printed = args.password, False
    if password is None:
        if _interactive(sys.stdin):
            password = _ask_password()
        else:
            password, printed = _new_password(), True
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session() as s, s.begin():
            user = users.create_user(s, args.name, password, args.role,
                                     display_name=args.display_name)
            staff.update_user(s, user, role=user.role, unit_id=args.unit, active=True)
            role = user.role.value
    finally:
        engine.dispose()
    print(f"User created / 已创建用户: {args.name} ({role})")
    if printed:
        print(f"  password / 密码: {password}  (shown once / 只显示这一次)")


def cmd_user_password(settings: Settings, args: argparse.Namespace) -> None:
    """Set a new password for a staff account (e.g. a forgotten one)."""
    password, printed = args.password, False
    if password is None:
        if _interactive(sys.stdin):
            password = _ask_password()
        else:
            password, printed = _new_password(), True
    if len(password) < users.MIN_PASSWORD:
        raise CommandError(f"密码至少 {users.MIN_PASSWORD} 位 / password needs at least "
                           f"{users.MIN_PASSWORD} characters")
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session() as s, s.begin():
            user = s.scalar(sa.select(User).where(User.username == args.name))
            if user is None:
                raise CommandError(f"no user named {args.name} / 没有用户 {args.name}")
            user.password_hash = users.hash_password(password)
    finally:
        engine.dispose()
    print(f"Password changed / 已重设密码: {args.name}")
    if printed:
        print(f"  password / 密码: {password}  (shown once / 只显示这一次)")


# -- point --------------------------------------------------------------------


def _point_lines(settings: Settings, point: CollectionPoint) -> list[str]:
    token = points_mod.token_for(point, settings.secret_key)
    tg = points_mod.telegram_link(settings.telegram_bot_username, token)
    return [
        f"  token:          {token}",
        "  Telegram:       " + (tg or "(set TELEGRAM_BOT_USERNAME to get the t.me link "
                                 "/ 需配置 TELEGRAM_BOT_USERNAME)"),
        f"  web chat / 网页: {points_mod.web_link(settings.public_url, token)}",
    ]


def cmd_point_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a collection point and print the links its QR codes carry."""
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session() as s, s.begin():
            point = points_mod.create_point(s, args.name, address=args.address,
                                            contact=args.contact)
            lines = _point_lines(settings, point)
            header = f"Collection point #{point.id} created / 已创建采集点: {point.name}"
    finally:
        engine.dispose()
    print(header)
    print("\n".join(lines))


def cmd_point_list(settings: Settings, args: argparse.Namespace) -> None:
    """Every collection point with its links."""
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session() as s, s.begin():
            rows = [(p, _point_lines(settings, p)) for p in points_mod.list_points(s)]
    finally:
        engine.dispose()
    if not rows:
        print("No collection points yet; add one with `minyi point add NAME` "
              "/ 还没有采集点，可用 minyi point add 名称 添加")
        return
    for point, lines in rows:
        state = "" if point.active else "  [inactive / 已停用]"
        address = f" — {point.address}" if point.address else ""
        print(f"#{point.id} {point.name}{address}{state}")
        print("\n".join(lines))


def _change_point(settings: Settings, point_id: int,
                  change: Callable[[Session, CollectionPoint], object]) -> tuple[str, list[str]]:
    engine, Session_ = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session_() as s, s.begin():
            point = s.get(CollectionPoint, point_id)
            if point is None:
                raise CommandError(f"no collection point #{point_id} / 没有 #{point_id} 号采集点")
            change(s, point)
            return point.name, _point_lines(settings, point)
    finally:
        engine.dispose()


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
        data = open(args.file, "rb").read()  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror} / 无法读取文件") from exc
    engine, Session_ = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session_() as s, s.begin():
            result = pointio.import_points(s, args.file, data)
            if not result.ok:  # raising inside the transaction rolls it back
                for error in result.errors:
                    print(f"{args.file}: {error}", file=sys.stderr)
                raise CommandError(f"{len(result.errors)} bad rows, nothing imported "
                                   f"/ {len(result.errors)} 行有误，未导入任何数据")
    finally:
        engine.dispose()
    print(f"{result.created} points added, {result.updated} updated "
          f"/ 新增 {result.created} 个，更新 {result.updated} 个采集点")


def cmd_point_export(settings: Settings, args: argparse.Namespace) -> None:
    """Write every point to a CSV or XLSX file (by its name) that `point import` reads back."""
    engine, Session_ = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session_() as s, s.begin():
            xlsx = args.file.lower().endswith(".xlsx")
            data = pointio.export_xlsx(s) if xlsx else pointio.export_csv(s)
    finally:
        engine.dispose()
    with open(args.file, "wb") as f:
        f.write(data)
    print(f"wrote {args.file} / 已导出")


def _progress_bar(total: int, out: TextIO) -> Callable[[int], None]:
    def show(done: int) -> None:
        filled = 30 * done // total
        out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} posters / 张海报")
        if done == total:
            out.write("\n")
        out.flush()
    return show


def cmd_posters(settings: Settings, args: argparse.Namespace) -> None:
    """One A4 PDF with a poster per point of a unit (and the units below it) or of the network."""
    engine, Session_ = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session_() as s, s.begin():
            if args.unit is not None and units.get(s, args.unit) is None:
                raise CommandError(f"no unit #{args.unit} / 没有 #{args.unit} 号单位")
            sheets = [posters.poster_for(p, settings.secret_key, settings.public_url,
                                         settings.telegram_bot_username)
                      for p in posters.selection(s, unit_id=args.unit)]
    finally:
        engine.dispose()
    if not sheets:
        raise CommandError("no active collection points to print / 没有可打印的采集点")
    data = qr_posters.render(sheets, progress=_progress_bar(len(sheets), sys.stderr))
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"wrote {len(sheets)} posters to {args.output} / 已生成 {len(sheets)} 张海报")


# -- unit ---------------------------------------------------------------------


def cmd_unit_add(settings: Settings, args: argparse.Namespace) -> None:
    """Add a unit (a CPPCC office, a party committee, a department ...) to the network."""
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session() as s, s.begin():
            unit = units.create(s, args.name, args.kind, args.parent)
            line = f"Unit #{unit.id} created / 已创建单位: {unit.name} ({unit.kind.value})"
    finally:
        engine.dispose()
    print(line)


def cmd_unit_list(settings: Settings, args: argparse.Namespace) -> None:
    """The network of units as a tree."""
    engine, Session = _sessions(settings)  # noqa: N806
    try:
        _require_schema(engine)
        with Session() as s, s.begin():
            lines = [f"{'  ' * depth}#{u.id} {u.name} ({u.kind.value})"
                     for u, depth in units.tree(s)]
    finally:
        engine.dispose()
    if not lines:
        print("No units yet; add one with `minyi unit add NAME --kind cppcc` "
              "/ 还没有单位，可用 minyi unit add 名称 --kind cppcc 添加")
        return
    print("\n".join(lines))


# -- wiring -------------------------------------------------------------------


Handler = Callable[[Settings, argparse.Namespace], None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minyi", description="民意直通车 — public opinion reports via Telegram and web chat",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create or upgrade the database and the first administrator")
    p.add_argument("--admin-user", help="administrator username (env MINYI_ADMIN_USER)")
    p.add_argument("--admin-password", help="administrator password (env MINYI_ADMIN_PASSWORD)")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("serve", help="run console, web chat, bot, notifier and scheduler")
    p.add_argument("--host", help="listen address (default: HOST)")
    p.add_argument("--port", type=int, help="listen port (default: PORT)")
    p.set_defaults(handler=cmd_serve)

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

    point = sub.add_parser("point", help="collection points").add_subparsers(
        dest="point_command", required=True, metavar="ACTION")
    p = point.add_parser("add", help="add a collection point and print its links")
    p.add_argument("name")
    p.add_argument("--address")
    p.add_argument("--contact")
    p.set_defaults(handler=cmd_point_add)
    p = point.add_parser("list", help="list collection points and their links")
    p.set_defaults(handler=cmd_point_list)
    p = point.add_parser("import", help="add or update points from CSV or XLSX "
                         "(columns: " + ", ".join(pointio.COLUMNS) + ")")
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

    p = sub.add_parser("posters", help="print A4 poster PDFs for collection points")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--unit", type=int, help="only the points of this unit and the units below")
    scope.add_argument("--all", action="store_true", help="every point of the network (default)")
    p.add_argument("-o", "--output", required=True, help="the PDF file to write")
    p.set_defaults(handler=cmd_posters)

    unit = sub.add_parser("unit", help="units of the network").add_subparsers(
        dest="unit_command", required=True, metavar="ACTION")
    p = unit.add_parser("add", help="add a unit")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=[k.value for k in UnitKind])
    p.add_argument("--parent", type=int, help="the parent unit's id")
    p.set_defaults(handler=cmd_unit_add)
    p = unit.add_parser("list", help="list units as a tree")
    p.set_defaults(handler=cmd_unit_list)

    seed.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `minyi` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        handler: Handler = args.handler
        handler(settings, args)
    except ConfigError as exc:
        print(f"minyi: configuration error / 配置错误: {exc}", file=sys.stderr)
        return 2
    except (CommandError, users.UserError, points_mod.PointError, units.UnitError,
            staff.StaffError, seed.SeedError) as exc:
        print(f"minyi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
