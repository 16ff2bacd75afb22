"""Engines and sessions. Callers (a request, a bot update, a job) own the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

import store.audit.watch  # noqa: F401  (the audit trail's flush hook)
import store.search.index  # noqa: F401  (the search index's DDL and flush hook)

# The execution option `reading` sets: SQLite begins its transaction deferred.
READ_ONLY = "minyi_read_only"
# SQLite maps this much of the file into memory for reads.
MMAP_BYTES = 256 * 1024 * 1024


def make_engine(url: str, *, sqlite_immediate: bool = True, **kwargs: Any) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    `sqlite_immediate=False` gives plain deferred transactions, for readers
    that must not hold the write lock (tests inspecting the database).
    Statements' values stay out of error messages and SQL logging: they hold
    reporters' contacts and chat ids, and a crash's log line must not (保密).
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = sa.create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when a transaction begins,
            # so that BEGIN IMMEDIATE below takes the write lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # The default page cache is 2 MB; searches and counts over a large
            # office's reports want more of the file in memory (grows only when used).
            cur.execute("PRAGMA cache_size=-32768")
            cur.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Writers queue on the busy timeout instead of failing with
            # "database is locked" when a read transaction tries to upgrade.
            # A long read (`reading`) asks for a deferred one: it must not hold the lock.
            deferred = not sqlite_immediate or conn.get_execution_options().get(READ_ONLY)
            conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it is a round trip before every unit of work, each chat input's among
    # them. A connection the driver already knows is closed or broken is replaced on
    # checkout instead, for free; one the server dropped unnoticed fails its unit of work
    # once (nothing of it is committed: the user is asked to try again), and that
    # disconnect makes SQLAlchemy renew the whole pool. Recycling spares idle connections
    # that a firewall or a proxy would cut.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "checkout")
    def _known_broken(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
            raise sa.exc.DisconnectionError("the connection was closed")

    return engine


def make_sessionmaker(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session on a connection of its own for a long read (an export) that writes nothing.

    On SQLite its transaction is deferred, so streaming a million rows never
    holds the write lock; on PostgreSQL it reads one snapshot (REPEATABLE READ),
    and results asked for with `yield_per` come from a server-side cursor.
    """
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        sqlite = conn.dialect.name == "sqlite"
        if not sqlite:
            # One snapshot, as SQLite's one transaction gives: names read first (an
            # export's labels) agree with the rows read after them.
            conn.execution_options(isolation_level="REPEATABLE READ")
        if sqlite:
            # Read once, front to back: mapping the file would only swell the process
            # by every page an export of a million rows passes.
            conn.exec_driver_sql("PRAGMA mmap_size=0")
        try:
            with sessions(bind=conn) as session:
                yield session
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql(f"PRAGMA mmap_size={MMAP_BYTES}")
