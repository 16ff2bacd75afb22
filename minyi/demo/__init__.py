"""`minyi seed`: fill an empty database with a realistic network and N reports.

For load tests and the search benchmark (bench/bench_search.py). The network
comes from `minyi.demo.network`, the text from word lists through
`minyi.demo.text`. Reports are written in batches, one transaction per batch,
with ids chosen here so that they grow with `created_at`; no ORM object and no
lifecycle call per report (on SQLite plain tuples through executemany, each
value as its column's type writes it; elsewhere Core `insert()`). Each report
gets what `drafts.Draft.file` and `lifecycle.apply` would have left:

- its row, version 1 of its text, a tracking number from the per-year
  counter (the `counters` rows are set to match at the end);
- the events of a short path to its status (submit, then e.g. adopt,
  transfer, reply, close; review sign-offs only where the report still waits
  at a later level), so that the console's actions, the history and the
  statistics work on it; transfers and notes where its path has them;
- no outbox rows and no staff notices: nothing is owed to anyone, so a
  `minyi serve` on the seeded database sends nothing.

`answers` keeps the short answers (category, urgency, anonymity, place, the
per-category extras), not a second copy of the text. The search index is
built at the end by `store.search.rebuild`, then the tables are analysed.

On SQLite a million reports is a bulk load (issue 16, P6): the secondary
indexes of the tables written here are dropped first and created again, from
the very statements `sqlite_master` kept, once every row is in (one sort each
instead of a million random inserts); and the full-text index is built in one
pass (no merging of its segments while it grows, one `optimize` at the end),
with its settings back at their defaults afterwards; and the file is written through a
rollback journal rather than the WAL, which would write every page twice
(`_rollback_journal`). The schema at the end is
the migrated one (tests/test_seed_schema.py).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.demo import network as seed_network
from minyi.demo.reports import ReportMaker
from minyi.demo.text import load
from store.db import make_sessionmaker, vacuum
from store.models import Adoption, Counter, Report, ReportEvent, ReportNote, ReportVersion, Transfer

BATCH = 5000
YEARS = 3
# Reports per reporter, on average: most citizens file once, some many times.
REPORTS_PER_CITIZEN = 4
BEIJING = timezone(timedelta(hours=8))
# When people write (Beijing hours 0-23): office hours and evenings.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 6, 9, 10, 9, 5, 5, 8, 9, 9, 7, 5, 6, 7, 6, 4, 2)

Progress = Callable[[str, int, int], None]


class SeedError(Exception):
    """The database cannot be seeded; the message says why (Chinese / English)."""


@dataclass
class SeedStats:
    reports: int = 0
    reporters: int = 0
    members: int = 0
    units: int = 0
    points: int = 0
    users: int = 0
    topics: int = 0
    events: int = 0
    transfers: int = 0
    overdue: int = 0
    notes: int = 0
    with_topic: int = 0
    # The phrase planted in a handful of reports, and in how many.
    rare_phrase: str = ""
    rare_count: int = 0
    # What the benchmark searches for: {"two": "电梯", "three": ..., "five": ..., "rare": ...}.
    words: dict[str, str] = field(default_factory=dict)
    indexed: int = 0
    insert_seconds: float = 0.0
    index_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Reports written per second (network, reports and their rows; not the index)."""
        return self.reports / self.insert_seconds if self.insert_seconds else 0.0


def seed(target: sa.Engine | sessionmaker[Session], reports: int, *, seed: int = 1,
         progress: Progress | None = None, index: bool = True, batch: int = BATCH,
         now: datetime | None = None) -> SeedStats:
    """Fill the (migrated, report-less) database behind `target` with `reports` reports.

    The same `seed` gives the same data. `progress(phase, done, total)` is
    called after each batch, phase "reports" then "index". With
    `index=False` the search index is left for the caller to build.
    """
    if reports < 1:
        raise SeedError("报告数至少为 1 / --reports must be at least 1")
    Session_ = target if isinstance(target, sessionmaker) else make_sessionmaker(target)  # noqa: N806
    now = now or datetime.now(UTC)
    end = now - timedelta(minutes=10)
    start = end - timedelta(days=365 * YEARS)
    rng = random.Random(seed)
    words = load()
    began = time.perf_counter()

    with Session_() as s, s.begin():
        existing = s.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
        if existing:
            raise SeedError(f"数据库中已有 {existing} 条信息，只能向空库填充演示数据 / the database "
                            f"already holds {existing} reports; seed only fills an empty one")
        citizens = max(20, reports // REPORTS_PER_CITIZEN)
        net = seed_network.build(s, words, rng, citizens=citizens, start=start, end=end)
        counters = {name: value for name, value in s.execute(sa.select(Counter.name, Counter.value))}
        first_id = (s.scalar(sa.select(sa.func.max(Report.id))) or 0) + 1

    stats = SeedStats(units=net.units, points=net.point_count, users=net.users,
                      topics=len(net.topics), reporters=citizens + len(net.members),
                      members=len(net.members), rare_phrase=words.search["rare"],
                      words={k: v for k, v in words.search.items() if isinstance(v, str)})
    times = _times(rng, reports, start, end)
    rare = set(rng.sample(range(reports), min(reports, max(1, min(10, reports // 100)))))
    maker = ReportMaker(words, rng, net, now=now, counters=counters)
    tables = [(Report, "reports"), (ReportVersion, "versions"), (ReportEvent, "events"),
              (Transfer, "transfers"), (ReportNote, "notes"), (Adoption, "adoptions")]
    # A bulk load: the file written about once (see `_rollback_journal`).
    with _rollback_journal(Session_):
        with _without_secondary_indexes(Session_, [t.__tablename__ for t, _ in tables]):
            for lo in range(0, reports, batch):
                rows = maker.batch(first_id + lo, times[lo:lo + batch], rare={i - lo for i in rare})
                with Session_() as s, s.begin():
                    conn = s.connection()
                    _tune(conn)
                    for model, key in tables:
                        if rows[key]:
                            _insert(conn, cast(sa.Table, model.__table__), rows[key])
                if progress is not None:
                    progress("reports", min(lo + batch, reports), reports)

            with Session_() as s, s.begin():
                _set_counters(s, maker.counters)
                _sync_sequences(s, ("reports", "reporters"))
            stats.reports = reports
            stats.events, stats.transfers, stats.overdue = maker.events, maker.transfers, maker.overdue
            stats.notes, stats.with_topic, stats.rare_count = maker.notes, maker.with_topic, maker.rare
        stats.insert_seconds = time.perf_counter() - began

        if index:
            began = time.perf_counter()
            stats.indexed = build_index(Session_, progress)
            stats.index_seconds = time.perf_counter() - began
    _analyse(Session_)
    return stats


@contextmanager
def _rollback_journal(Session_: sessionmaker[Session]) -> Iterator[None]:  # noqa: N803
    """On SQLite, the block's transactions written through a rollback journal, not the WAL.

    In WAL mode each page is written twice, to the log and then by a checkpoint into the
    file: 35 GB written for a 13 GB database at a million reports. A rollback journal holds
    only the old content of pages a transaction changes that existed before it, and a bulk
    load mostly appends new pages, so the file is written about once (half the writes at
    200,000 reports). Transactions stay atomic and durable. SQLite leaves WAL only for a
    connection that has the database to itself; while anything else has it open (a
    running `minyi serve`) the mode stays WAL, and so does the seed. WAL again at the end,
    even after a failure (as every new connection asks for it too).
    """
    engine = cast(sa.Engine, Session_.kw["bind"])
    if engine.dialect.name != "sqlite":
        yield
        return
    _journal_mode(engine, "TRUNCATE")
    try:
        yield
    finally:
        _journal_mode(engine, "WAL")


def _journal_mode(engine: sa.Engine, mode: str) -> str:
    """Ask for SQLite journal `mode` on the pooled connection (the one the seed's sessions
    reuse, one after another); the mode it has now."""
    with engine.connect() as conn:  # on the driver: a statement through SQLAlchemy would BEGIN
        raw = conn.connection.driver_connection
        assert raw is not None
        try:
            return str(raw.execute(f"PRAGMA journal_mode={mode}").fetchone()[0])
        except sqlite3.OperationalError:  # "database is locked": another reader holds the WAL
            return str(raw.execute("PRAGMA journal_mode").fetchone()[0])


@contextmanager
def _without_secondary_indexes(Session_: sessionmaker[Session], tables: list[str]) -> Iterator[None]:  # noqa: N803
    """On SQLite, the indexes of `tables` dropped for the block and created again after it.

    Only indexes with a statement of their own (not those of UNIQUE or PRIMARY
    KEY constraints, which SQLite makes itself); they are created again, in
    their order, from the statements `sqlite_master` kept, even if the block
    fails, so the schema never stays without them.
    """
    with Session_() as s, s.begin():
        conn = s.connection()
        if conn.dialect.name != "sqlite":
            kept: list[tuple[str, str]] = []
        else:
            kept = [(name, sql) for name, sql in conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        "AND tbl_name IN :tables ORDER BY rowid")
                .bindparams(sa.bindparam("tables", expanding=True)), {"tables": tables})]
            for name, _ in kept:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        if kept:
            with Session_() as s, s.begin():
                conn = s.connection()
                _tune(conn)
                for _, sql in kept:
                    conn.exec_driver_sql(sql)


def build_index(Session_: sessionmaker[Session], progress: Progress | None = None) -> int:  # noqa: N803
    """Index every report for search; the number indexed."""
    from store import search

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress("index", done, total)

    with Session_() as s, s.begin():
        conn = s.connection()
        if conn.dialect.name != "sqlite":
            return search.rebuild(s, progress=step, alone=True)
        _tune(conn)
        with _fts_bulk(conn):
            return search.rebuild(s, progress=step)


# FTS5's settings while it is filled in one pass: a large in-memory table of pending terms,
# written out rarely, and no merging of segments (rebuild's `optimize` merges them once).
# 512 MB of pending terms: a million reports' index is written as a few large segments, and
# their merge costs 17 CPU s instead of 40 with 128 MB (the seed's peak memory 1.2 GB).
_FTS_BULK = {"hashsize": 512 * 2**20, "automerge": 0}
_FTS_DEFAULTS = {"hashsize": 2**20, "automerge": 4}


@contextmanager
def _fts_bulk(conn: sa.Connection) -> Iterator[None]:
    """FTS5 tuned for a bulk load for the block, then its defaults, stored as a migrated database
    stores them: not at all (the settings are rows of its `_config` table)."""
    from store.search.index import FTS_TABLE

    def put(settings: dict[str, int]) -> None:
        for key, value in settings.items():
            conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES('{key}', {value})")

    put(_FTS_BULK)
    try:
        yield
    finally:
        put(_FTS_DEFAULTS)  # what this connection uses from now on
        conn.execute(sa.text(f"DELETE FROM {FTS_TABLE}_config WHERE k IN :keys")
                     .bindparams(sa.bindparam("keys", expanding=True)), {"keys": list(_FTS_BULK)})


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (alike dicts) into `table`, each value as the column's type writes it.

    On SQLite, a bulk load: the columns' own bind processors (dates, JSON, enums, sealing)
    applied a column at a time, then one executemany of plain tuples, without the per-row
    parameter building of `insert()` (a third of writing the reports). Columns the rows
    leave out get their scalar default, as `insert()` would give them.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(sa.insert(table), rows)
        return
    dialect = conn.dialect
    keys = list(rows[0])
    defaults = []
    for column in table.columns:
        if column.key in rows[0] or column.default is None:
            continue
        default = cast(Any, column.default)
        if not default.is_scalar:
            raise SeedError(f"{table.name}.{column.key}: a computed default; give the value")
        defaults.append((column, default.arg))
    columns = [table.c[k] for k in keys] + [c for c, _ in defaults]
    values: list[Iterable[Any]] = [*zip(*map(itemgetter(*keys), rows), strict=True),
                                   *(repeat(arg, len(rows)) for _, arg in defaults)]
    for i, column in enumerate(columns):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values[i] = map(process, values[i])
    quote = dialect.identifier_preparer
    conn.exec_driver_sql(
        f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.format_column(c) for c in columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})", list(zip(*values, strict=True)))


def _times(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    """`n` moments in [start, end], ascending: use grows over the years, and people write by day."""
    days = (end - start).days
    hours = list(range(24))
    cum: list[float] = []
    for w in HOUR_WEIGHTS:
        cum.append((cum[-1] if cum else 0) + w)
    origin = datetime.combine(start.astimezone(BEIJING).date(), datetime.min.time(), BEIJING)
    out = []
    for _ in range(n):
        # Half uniform, half growing linearly: more reports as the system catches on.
        day = int(days * (rng.random() if rng.random() < 0.5 else max(rng.random(), rng.random())))
        hour = rng.choices(hours, cum_weights=cum)[0]
        moment = origin + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
        out.append(min(max(moment, start), end).astimezone(UTC))
    out.sort()
    return out


def _tune(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        # A larger page cache for this connection: ten indexes on reports take random inserts.
        conn.exec_driver_sql("PRAGMA cache_size=-262144")


def _set_counters(session: Session, counters: dict[str, int]) -> None:
    """The per-year tracking-number counters, as far as the seeded numbers went."""
    for name, value in counters.items():
        row = session.get(Counter, name)
        if row is None:
            session.add(Counter(name=name, value=value))
        else:
            row.value = value


def _sync_sequences(session: Session, tables: tuple[str, ...]) -> None:
    """On PostgreSQL, move the id sequences past the ids chosen here."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))")


def _analyse(Session_: sessionmaker[Session]) -> None:  # noqa: N803
    """Fresh planner statistics: a bulk load leaves none.

    On PostgreSQL the tables are vacuumed too, as after any bulk load: until the
    visibility map marks their pages all-visible, a count read from an index (the
    inbox's status counts, a search's total) visits every row of the table as well.
    At a million reports that is 0.7 s for the status counts and 3.5 s for a common
    word's total instead of 0.14 s and 0.18 s, in one backend (autovacuum would get
    there, some time later).
    """
    with Session_() as s, s.begin():
        conn = s.connection()
        if conn.dialect.name != "postgresql":
            conn.exec_driver_sql("ANALYZE")
            return
        # This schema's tables only (a shared server may hold other schemas and databases).
        tables = list(conn.scalars(sa.text(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() "
            "ORDER BY tablename")))
    vacuum(cast(sa.Engine, Session_.kw["bind"]), tables)
