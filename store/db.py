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
from store import prepared

# The execution option `reading` sets: SQLite begins its transaction deferred.
READ_ONLY = "minyi_read_only"
# Each SQLite connection's page cache, at most (KiB; SQLite's own default is 2,000).
# A process keeps a cache per pooled connection for as long as it runs, filled with
# every page it has written or read since: bounded, the bot holding 10,000 open
# drafts stays small instead of keeping the whole file. The B-tree's inner pages, which
# every lookup passes, fit many times over; the leaves a large count or search reads
# once come from the operating system's file cache either way.
PAGE_CACHE_KIB = 2048
# How much of the file one large scan (`mapped`) may map while it runs.
SCAN_MMAP_BYTES = 256 * 1024 * 1024


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
            cur.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            # No memory-mapped reads (SQLite's default): every page a mapping has
            # passed stays in the process's resident set until it is unmapped, so a
            # long-running bot or console would grow towards the size of the file.
            cur.execute("PRAGMA mmap_size=0")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Writers queue on the busy timeout instead of failing with
            # "database is locked" when a read transaction tries to upgrade.
            # A long read (`reading`) asks for a deferred one: it must not hold the lock.
            deferred = not sqlite_immediate or conn.get_execution_options().get(READ_ONLY)
            # On the driver: every unit of work begins here, and SQLAlchemy's execution of
            # a statement costs more than SQLite's BEGIN.
            prepared.run(conn, "BEGIN" if deferred else "BEGIN IMMEDIATE")

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


def vacuum(engine: sa.Engine, tables: list[str]) -> None:
    """PostgreSQL: `VACUUM (ANALYZE)` of `tables` (quoted names), outside any transaction, as
    after a bulk load or rebuild: until a vacuum marks their pages all-visible, a count read
    from an index visits every row as well. Elsewhere nothing."""
    if engine.dialect.name != "postgresql" or not tables:
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"VACUUM (ANALYZE) {', '.join(tables)}")


@contextmanager
def mapped(session: Session) -> Iterator[None]:
    """SQLite reads through a memory map while the block runs, and unmaps after.

    For a scan of many pages (the dashboard's grouped counts over a year of a
    network's reports): read through the map it costs less CPU than through
    read(), and unmapping afterwards gives the pages back, so a process does not
    keep the file resident for ever (why connections are not mapped otherwise).
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"PRAGMA mmap_size={SCAN_MMAP_BYTES}")
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA mmap_size=0")


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
        if conn.dialect.name != "sqlite":
            # One snapshot, as SQLite's one transaction gives: names read first (an
            # export's labels) agree with the rows read after them.
            conn.execution_options(isolation_level="REPEATABLE READ")
        with sessions(bind=conn) as session:
            yield session


class Unit:
    """One unit of work on one connection, begun at its first use, whose Session is made
    only when asked for.

    For the chat engine: an ordinary input runs a few statements of its own on
    the connection (`store.prepared`) and needs no ORM, and a Session's begin
    and commit would cost more than those statements. A move that needs the ORM
    asks for `session`: made at first use on the same connection, in the same
    transaction, it is flushed and committed with it. The edge owns the unit
    (`unit`), or hands the engine its own session (`Unit.of`).
    """

    def __init__(self, sessions: sessionmaker[Session] | None = None, *,
                 session: Session | None = None) -> None:
        self._sessions = sessions
        self._session = session
        self._conn: sa.Connection | None = None if session is None else session.connection()

    @classmethod
    def of(cls, session: Session) -> Unit:
        """The unit of work `session`'s caller owns (and commits)."""
        return cls(session=session)

    @property
    def conn(self) -> sa.Connection:
        """The connection, in its transaction (begun here, like a session's, at first use)."""
        if self._conn is None:
            assert self._sessions is not None
            engine: sa.Engine = self._sessions.kw["bind"]
            self._conn = engine.connect()
            self._conn.begin()
        return self._conn

    @property
    def session(self) -> Session:
        if self._session is None:
            assert self._sessions is not None
            # The session's commit is the connection's: it takes the transaction begun there.
            self._session = self._sessions(bind=self.conn, join_transaction_mode="control_fully")
        return self._session

    def flush(self) -> None:
        """Write what mapped objects hold (nothing, if no move asked for the session)."""
        if self._session is not None:
            self._session.flush()

    def _end(self, commit: bool) -> None:
        try:
            if self._session is not None:
                if commit:
                    self._session.commit()
                else:
                    self._session.rollback()
            elif self._conn is not None:
                if commit:
                    self._conn.commit()
                else:
                    self._conn.rollback()
        except BaseException:
            # A COMMIT that failed leaves the driver's transaction open while SQLAlchemy
            # counts it as ended, and the pool would hand that connection to the next unit
            # ("cannot start a transaction within a transaction"): drop it instead.
            if commit and self._conn is not None and not self._conn.invalidated:
                self._conn.invalidate()
            raise
        finally:
            if self._session is not None:
                self._session.close()
            if self._conn is not None:
                self._conn.close()


@contextmanager
def unit(sessions: sessionmaker[Session]) -> Iterator[Unit]:
    """A `Unit` of its own: committed when the block ends, rolled back if it raises.
    `sessions` (bound to an engine) makes the session a move may ask for."""
    work = Unit(sessions)
    try:
        yield work
    except BaseException:
        work._end(commit=False)
        raise
    work._end(commit=True)
