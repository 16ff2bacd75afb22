"""What every `minyi` subcommand shares: the error it raises, its unit of work, password prompts."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store import migrate, rekey, sealing
from store.db import make_engine, make_sessionmaker
from store.network import users

# What `build_parser` hands each noun module to hang its subcommands on.
Subcommands = argparse._SubParsersAction  # argparse has no public name for it
Handler = Callable[[Settings, argparse.Namespace], None]


class CommandError(Exception):
    """A command cannot go on; the message says why (printed without a traceback)."""


def sessions(settings: Settings) -> tuple[sa.Engine, sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    return engine, make_sessionmaker(engine)


def require_schema(engine: sa.Engine) -> None:
    if migrate.current(engine) != migrate.head():
        raise CommandError("the database is not set up or not up to date; run `minyi init` first "
                           "/ 数据库尚未初始化或需要升级，请先运行 minyi init")


def open_data_keys(settings: Settings, engine: sa.Engine) -> sealing.Keyring:
    """Install the data keys and prove on the canary that they open this database.

    Refuses (CommandError) without a key or with a wrong one, before anything is
    written: minyi stops rather than store reporters' details it cannot read back.
    """
    if not settings.data_keys:
        raise CommandError(
            "没有数据密钥（MINYI_DATA_KEY），服务拒绝启动；请先运行 minyi init 生成。"
            f" / No data key: set MINYI_DATA_KEY (or MINYI_DATA_KEY_FILE), or run `minyi init`, "
            f"which outside production generates one in {settings.data_key_file}")
    try:
        keyring = sealing.Keyring.of(settings.data_keys)
        sealing.install(keyring)
        with make_sessionmaker(engine)() as s, s.begin():
            rekey.check_key(s)
    except sealing.SealingError as exc:
        sealing.install(None)
        raise CommandError(str(exc)) from exc
    return keyring


@contextmanager
def unit_of_work(settings: Settings) -> Iterator[Session]:
    """One transaction on an up-to-date database; raising inside it rolls everything back."""
    engine, Session = sessions(settings)  # noqa: N806
    try:
        require_schema(engine)
        if settings.data_keys:
            open_data_keys(settings, engine)
        with Session() as s, s.begin():
            yield s
    finally:
        engine.dispose()


def interactive(stdin: TextIO) -> bool:
    return stdin.isatty() and not os.environ.get("CI")


def ask_password(prompt: str = "Password / 密码: ") -> str:
    while True:
        first = getpass.getpass(prompt)
        problem = users.password_problem_bilingual(first)
        if problem:
            print(problem)
            continue
        if getpass.getpass("Again / 再输一次: ") == first:
            return first
        print("两次输入不一致 / the two entries differ")


def new_password() -> str:
    return secrets.token_urlsafe(12)


def draw_bar(out: TextIO, done: int, total: int, label: str, width: int = 30) -> None:
    """One progress line, redrawn in place: `[####....] done/total label`; ends it when done."""
    filled = width * done // total if total else width
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}")
    if done >= total:
        out.write("\n")
    out.flush()
