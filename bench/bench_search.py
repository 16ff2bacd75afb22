"""Finding reports in a million (issue 16, P3): the inbox, a filtered page, searches and similar
reports, on SQLite and PostgreSQL, against the same searches as a LIKE scan.

Run (a table for `python -m bench`, or alone):
  .venv/bin/python -m bench.bench_search [--quick] [--postgres-url URL]
Without --quick it seeds 1,000,000 reports into each database first (20+ minutes
each); to measure databases `minyi seed` already filled instead, name them:
  MINYI_BENCH_SEARCH_SQLITE=sqlite:///instance/1m.sqlite3
  MINYI_BENCH_SEARCH_POSTGRES=postgresql+psycopg://postgres@127.0.0.1:5432/bench1m
(they are only read).

Measured, each run in a fresh session as a request would run it, as an office
administrator (no unit: the whole network) and as the clerk of the busiest
county (the county's reports only): the inbox (status counts, first page, the
待我审核 count); a filtered page (status + category + a half-year date range,
`store.search.search` without text); the similar reports a report's page shows
(`store.reports.similar`); and searches with their count for a two-, a three-
and a nine-character word and a rare phrase (`minyi seed`'s [search] words).
Baseline, in the same run on the same rows: `search.like_search`, the same
filters with a plain `LIKE '%q%'` over the text columns.

Latency is CPU time (the machine is shared, so wall time swings several-fold):
this process's on SQLite, which runs in it; on PostgreSQL this process's plus
the server backend's, read from /proc (in 10 ms ticks). Checks (a failure raises
`Wrong`): full-text and LIKE count the same reports for every persona and word;
every common word is found; the clerk's hits are all reports the clerk may see.

Goals: p95 <= 150 ms for pages, <= 300 ms for searches, and a search >= 10x
faster than LIKE wherever LIKE takes over 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench import install_data_key, pg
from bench.seeded import require as require_seeded
from bench.table import Options, Row, Wrong, render
from minyi.demo import seed
from minyi.demo.text import load
from store import access, search
from store.db import make_engine, make_sessionmaker
from store.models import Base, Report, Role, User
from store.reports import queries as reports
from store.reports import similar

FULL_REPORTS, QUICK_REPORTS = 1_000_000, 20_000
PAGE_MS, SEARCH_MS, SPEEDUP, SLOW_LIKE_MS = 150.0, 300.0, 10.0, 50.0
WORDS = (("2-char", "two"), ("3-char", "three"), ("9-char", "nine"), ("rare phrase", "rare"))
SQLITE_ENV, POSTGRES_ENV = "MINYI_BENCH_SEARCH_SQLITE", "MINYI_BENCH_SEARCH_POSTGRES"

Run = Callable[[Session, User], int]  # one request's work; the count it showed


@dataclass
class Case:
    name: str
    kind: str  # page | search
    run: Run
    like: Run | None = None
    common: bool = True  # a word every network holds (not the planted rare phrase)
    check: Run | None = None  # run once, untimed: raises Wrong if what `run` shows is wrong


@dataclass
class Measured:
    database: str
    persona: str
    case: Case
    total: int
    times: list[float]
    like_total: int | None = None
    like_times: list[float] = field(default_factory=list)

    @property
    def p95(self) -> float:
        return _p95(self.times) * 1000

    @property
    def like_p95(self) -> float | None:
        return _p95(self.like_times) * 1000 if self.like_times else None

    def row(self) -> Row:
        limit = PAGE_MS if self.case.kind == "page" else SEARCH_MS
        like = self.like_p95
        met = self.p95 <= limit
        goal = f"≤ {limit:.0f} ms"
        if like is not None:
            goal += f"; ≥ {SPEEDUP:.0f}× LIKE if LIKE > {SLOW_LIKE_MS:.0f} ms"
            met = met and (like <= SLOW_LIKE_MS or like >= SPEEDUP * self.p95)
        return Row(key=f"P3 {self.database} {self.persona} {self.case.name}",
                   what=f"{self.case.kind}, p95 of {len(self.times)}", figure=self.p95,
                   unit="ms p95", goal=goal, met=met, baseline=like, higher_is_better=False,
                   note=f"{self.total:,} reports" + (" (LIKE counted the same)" if like else ""))


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def cases(session: Session) -> list[Case]:
    words = load().search
    newest = session.scalar(sa.select(sa.func.max(Report.created_at)))
    assert newest is not None
    to = newest.date()
    filtered = search.Filters(status=("adopted",), category="livelihood",
                              date_from=to - timedelta(days=182), date_to=to)

    def inbox(s: Session, u: User) -> int:
        # What the inbox view asks: the status tabs' counts (the total is their sum),
        # the first page, and the 待我审核 tab's count.
        counts = reports.status_counts(s, u)
        _, total = reports.page(s, u, total=sum(counts.values()))
        reports.queue_count(s, u)
        return total

    recent = session.scalar(sa.select(Report.id).order_by(Report.id.desc()).offset(50).limit(1))
    assert recent is not None

    def similar_reports(s: Session, u: User) -> int:
        report = s.get(Report, recent)
        assert report is not None
        return len(similar.similar(s, report, u))

    out = [Case("inbox", "page", inbox),
           Case("similar reports", "page", similar_reports),
           Case("filtered page", "page", lambda s, u: search.search(s, u, filtered).total)]
    for label, key in WORDS:
        run, like, check = _text(search.Filters(q=words[key]))
        out.append(Case(f"{label} 「{words[key]}」", "search", run, like, key != "rare", check))
    return out


def _text(f: search.Filters) -> tuple[Run, Run, Run]:
    """A search for `f`, the same as a LIKE scan, and the search with its hits checked
    against the user's scope."""
    def run(s: Session, u: User) -> int:
        return search.search(s, u, f).total

    def like(s: Session, u: User) -> int:
        return search.like_search(s, u, f).total

    def check(s: Session, u: User) -> int:
        return _checked(s, u, search.search(s, u, f))

    return run, like, check


def _checked(session: Session, user: User, results: search.Results) -> int:
    for hit in results.hits:
        if not access.can_see(session, user, hit.report):
            raise Wrong(f"{user.username} was shown report {hit.report.id}, outside their scope")
    return results.total


def personas(session: Session) -> list[tuple[str, User]]:
    """An administrator without a unit, and the clerk of the county with the most reports."""
    admin = session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.unit_id.is_(None),
                                                 User.active.is_(True)).order_by(User.id))
    busiest = sa.select(Report.unit_id, sa.func.count().label("n")).group_by(Report.unit_id) \
        .subquery()
    clerk = session.scalar(sa.select(User).join(busiest, busiest.c.unit_id == User.unit_id)
                           .where(User.role == Role.CLERK, User.active.is_(True))
                           .order_by(busiest.c.n.desc(), User.id).limit(1))
    if admin is None or clerk is None:
        raise Wrong("no administrator or county clerk: the database was not filled by `minyi seed`")
    return [("admin", admin), ("clerk", clerk)]


Clock = Callable[[Session], float]


def cpu_here(session: Session) -> float:
    """CPU seconds of this process: all of SQLite's work."""
    return time.process_time()


def cpu_with_server(session: Session) -> float:
    """CPU seconds of this process and of the PostgreSQL backend serving `session` (the
    server runs on this machine; its /proc counts in clock ticks). Wall time where /proc
    cannot be read."""
    pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return time.perf_counter()
    return time.process_time() + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serial(dbapi_conn: Any, _record: Any) -> None:
    """No parallel workers: the backend does all of a request's work, so its CPU (what
    `cpu_with_server` reads) is the request's; a worker's CPU would go uncounted, and the
    LIKE baseline's scan would look a third of its cost."""
    cur = dbapi_conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.close()
    dbapi_conn.commit()


def measure(Session_: sessionmaker[Session], fn: Run, user: User, repeat: int,  # noqa: N803
            clock: Clock) -> tuple[int, list[float]]:
    """Run `fn` once to warm up, then `repeat` times, each in a fresh session."""
    with Session_() as s:
        total = fn(s, user)
    times = []
    for _ in range(repeat):
        with Session_() as s:
            start = clock(s)
            fn(s, user)
            times.append(clock(s) - start)
    return total, times


def run(url: str, repeat: int, like_repeat: int, opts: Options) -> list[Measured]:
    """Every case for both personas on the database at `url` (only read)."""
    engine = make_engine(url, sqlite_immediate=False)
    Session_ = make_sessionmaker(engine)  # noqa: N806
    database = engine.dialect.name
    if database == "postgresql":
        sa.event.listen(engine, "connect", _serial)
    clock = cpu_here if database == "sqlite" else cpu_with_server
    try:
        with Session_() as s:
            count = s.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
            if not count:
                raise Wrong(f"no reports in {database}: fill it with `minyi seed --reports N`")
            people, todo = personas(s), cases(s)
            s.expunge_all()
        opts.say(f"{count:,} reports on {database}; {repeat} runs per case ({like_repeat} for LIKE)")
        out = []
        for persona, user in people:
            for case in todo:
                if case.check is not None:
                    with Session_() as s:
                        case.check(s, user)
                total, times = measure(Session_, case.run, user, repeat, clock)
                m = Measured(database, persona, case, total, times)
                if case.like is not None:
                    m.like_total, m.like_times = measure(Session_, case.like, user, like_repeat,
                                                         clock)
                    if m.like_total != total:
                        raise Wrong(f"{database} {persona} {case.name}: LIKE counted "
                                    f"{m.like_total}, full-text {total}")
                    if case.common and persona == "admin" and not total:
                        raise Wrong(f"{database}: no report holds {case.name}")
                opts.say(f"  {database:10} {persona:6} {case.name:24} p95 {m.p95:8.1f} ms"
                         + (f"  LIKE {m.like_p95:8.1f} ms" if m.like_p95 is not None else ""))
                out.append(m)
    finally:
        engine.dispose()
    return out


def seeded(url: str, reports: int, opts: Options) -> None:
    """Fill the empty database at `url` as `minyi seed` does."""
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        stats = seed(engine, reports)
        opts.say(f"seeded {stats.reports:,} reports on {engine.dialect.name} in "
                 f"{time.perf_counter() - started:.0f} s")
    finally:
        engine.dispose()


@contextmanager
def sqlite_database(reports: int, opts: Options) -> Iterator[str]:
    named = os.environ.get(SQLITE_ENV)
    if named:
        require_seeded(named)  # read only, and only a database `minyi seed` filled
        yield named
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'search.sqlite3'}"
        seeded(url, reports, opts)
        yield url


@contextmanager
def postgres_database(server: str, reports: int, opts: Options) -> Iterator[str]:
    named = os.environ.get(POSTGRES_ENV)
    if named:
        require_seeded(pg.normalise(named))
        yield pg.normalise(named)
        return
    with pg.fresh(server) as url:
        seeded(url, reports, opts)
        yield url


def rows(opts: Options) -> list[Row]:
    install_data_key()
    size = QUICK_REPORTS if opts.quick else FULL_REPORTS
    repeat, like_repeat = (5, 2) if opts.quick else (30, 5)
    measured = []
    with sqlite_database(size, opts) as url:
        measured += run(url, repeat, like_repeat, opts)
    out = [m.row() for m in measured]
    if not opts.postgres_url:  # not given, or given empty to skip it
        out.append(Row(key="P3 postgresql", what="every case", figure=0.0, unit="ms p95",
                       goal="≤ 150 / 300 ms", met=False, higher_is_better=False,
                       note="not measured: no PostgreSQL URL given"))
        return out
    why = pg.unreachable(opts.postgres_url)
    if why:
        out.append(Row(key="P3 postgresql", what="every case", figure=0.0, unit="ms p95",
                       goal="≤ 150 / 300 ms", met=False, higher_is_better=False, note=why))
        return out
    with postgres_database(opts.postgres_url, size, opts) as url:
        out += [m.row() for m in run(url, repeat, like_repeat, opts)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REPORTS:,} reports instead of {FULL_REPORTS:,}")
    parser.add_argument("--postgres-url", default=pg.configured(),
                        help="a PostgreSQL server to create a fresh database on "
                             "(default: MINYI_BENCH_POSTGRES_URL or MINYI_TEST_POSTGRES_URL)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)
    table = rows(Options(quick=args.quick, postgres_url=args.postgres_url))
    print(render(table))
    return 1 if args.strict and not all(r.met for r in table) else 0


if __name__ == "__main__":
    sys.exit(main())
