"""A benchmark that reads a database the user names reads only one `minyi seed` filled.

Its figures mean something only on seeded data (the words it searches for, the
busiest county), and it must never run its queries, or its rolled-back writes,
against an office's real reports.
"""

from __future__ import annotations

import sqlalchemy as sa

from minyi.demo.network import USERNAME_PREFIX
from store.db import make_engine
from store.models import Report, User


def problem(url: str) -> str | None:
    """None when `url` is a database `minyi seed` filled; otherwise why it is refused."""
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            reports = conn.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
            seeded = conn.scalar(sa.select(sa.func.count()).select_from(User)
                                 .where(User.username.startswith(USERNAME_PREFIX))) or 0
    except sa.exc.SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        return f"{shown} cannot be read as a minyi database ({first}) / 无法读取该数据库"
    finally:
        engine.dispose()
    if not reports:
        return (f"{shown} holds no reports; fill it first: minyi seed --reports N --database-url URL "
                "/ 数据库中没有信息，请先运行 minyi seed")
    if not seeded:
        return (f"{shown} holds {reports:,} reports that `minyi seed` did not write; a benchmark "
                "runs only on a seeded database / 该库不是 minyi seed 生成的演示库，拒绝运行基准测试")
    return None


def require(url: str) -> None:
    """Stop (SystemExit, one line) unless `url` is a database `minyi seed` filled."""
    why = problem(url)
    if why is not None:
        raise SystemExit(f"bench: {why}")
