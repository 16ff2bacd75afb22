"""PostgreSQL for a benchmark: a fresh database of its own, or a clear line why not.

A benchmark never runs on a database that already holds data: `fresh(url)`
creates an empty database beside the one `url` names, yields its URL and
drops it afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def normalise(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def configured() -> str | None:
    """The URL from MINYI_BENCH_POSTGRES_URL or MINYI_TEST_POSTGRES_URL, if either is set."""
    url = os.environ.get("MINYI_BENCH_POSTGRES_URL") or os.environ.get("MINYI_TEST_POSTGRES_URL")
    return normalise(url) if url else None


def display(url: str) -> str:
    """`url` with its password hidden, for a line a person reads."""
    return make_url(url).render_as_string(hide_password=True)


def version(url: str) -> str | None:
    """The server's version ("16.4"), or None when it does not answer."""
    import psycopg

    plain = make_url(normalise(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, connect_timeout=3) as conn:
            row = conn.execute("show server_version").fetchone()
    except Exception:  # noqa: BLE001 - the machine line then says "not used"
        return None
    return str(row[0]).split()[0] if row else None


def unreachable(url: str) -> str | None:
    """None when `url` answers; otherwise one line saying why, for the table's note."""
    import psycopg
    from sqlalchemy.exc import ArgumentError

    try:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    except ArgumentError:
        return f"not a PostgreSQL URL: {url!r}"
    try:
        with psycopg.connect(plain, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: skip, with the reason
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"PostgreSQL at {display(url)} does not answer: {first}"
    return None


@contextmanager
def fresh(url: str) -> Iterator[str]:
    """A new, empty database on the server `url` names; dropped on the way out."""
    import psycopg

    base = make_url(normalise(url))
    name = f"minyi_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
