"""`minyi init`: create or upgrade the database, then make sure there is an administrator."""

from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli import keys
from minyi.cli.common import (
    Subcommands,
    ask_password,
    interactive,
    new_password,
    open_data_keys,
    sessions,
)
from minyi.settings import Settings
from store import migrate, sealing
from store.models import Role, User
from store.network import users
from store.reports import files
from store.review import templates


def register(sub: Subcommands) -> None:
    p = sub.add_parser("init", help="create or upgrade the database and the first administrator")
    p.add_argument("--admin-user", help="administrator username (env MINYI_ADMIN_USER)")
    p.add_argument("--admin-password", help="administrator password (env MINYI_ADMIN_PASSWORD)")
    p.set_defaults(handler=cmd_init)


def cmd_init(settings: Settings, args: argparse.Namespace) -> None:
    """Create or upgrade the database, then make sure there is an administrator."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    settings = _with_data_key(settings)
    migrate.upgrade(settings.database_url)
    print(f"Database ready / 数据库已就绪: {_safe_url(settings.database_url)}")
    _seal_existing(settings)

    name = args.admin_user or os.environ.get("MINYI_ADMIN_USER") or None
    password = args.admin_password or os.environ.get("MINYI_ADMIN_PASSWORD") or None
    engine, Session = sessions(settings)  # noqa: N806
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
            if name is None and interactive(sys.stdin):
                name = input("Administrator username / 管理员用户名 [admin]: ").strip() or "admin"
                password = password or ask_password()
            name = name or "admin"
            if password is None:
                if interactive(sys.stdin):
                    password = ask_password()
                else:
                    password, printed = new_password(), True
            users.create_user(s, name, password, Role.ADMIN, display_name=name)
        print(f"Administrator created / 已创建管理员: {name}")
        if printed:
            print(f"  password / 密码: {password}")
            print("  It is shown only this once; `minyi user password admin` sets a new one. "
                  "/ 密码只显示这一次，可用 minyi user password admin 重设。")
    finally:
        engine.dispose()


def _with_data_key(settings: Settings) -> Settings:
    """Outside production, a data key generated into the instance folder when none is set."""
    if settings.data_keys:
        return settings
    key = sealing.new_key()
    path = settings.data_key_file
    # Created readable by the owner alone, and never overwritten (`x`): an existing file
    # would have been read by the settings already.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(key + "\n")
    print(f"Data key generated / 已生成数据密钥: {path}\n"
          "  It encrypts reporters' names and contacts; without it they cannot be read. In "
          "production set MINYI_DATA_KEY (or MINYI_DATA_KEY_FILE) instead. / 该密钥用于加密反映人"
          "的姓名和联系方式，丢失后无法读取；生产环境请设置 MINYI_DATA_KEY。")
    return replace(settings, data_keys=(key,))


def _seal_existing(settings: Settings) -> None:
    """Check the key on the canary, then seal what an older version stored in plain text."""
    engine, Session = sessions(settings)  # noqa: N806
    try:
        open_data_keys(settings, engine)
        sealed = keys.reseal_all(Session, out=io.StringIO())
        if sealed:
            print(f"Encrypted {sealed} stored values / 已加密 {sealed} 项已存数据")
        renamed = rename_files(settings, Session)
        if renamed:
            print(f"Gave {renamed} uploaded files random names / 已为 {renamed} 个上传文件改用随机文件名")
    finally:
        engine.dispose()


def rename_files(settings: Settings, Session: sessionmaker[Session]) -> int:  # noqa: N803
    """Files stored under their content hash (before issue 14) moved to random names."""
    total, batch = 0, 200
    while True:
        with Session() as s, s.begin():
            done = files.rename_hashed(s, settings.upload_dir, limit=batch)
        total += done
        if done < batch:
            break
    with Session() as s:
        files.drop_renamed(s, settings.upload_dir)
    return total


def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)
