"""Finding reports in a million: the inbox, a filtered page and searches, against a LIKE scan.

Run (issue 5's full size, on a database `minyi seed` filled):
  .venv/bin/minyi seed --reports 1000000 --database-url sqlite:///instance/bench.sqlite3
  .venv/bin/python -m bench.bench_search --database-url sqlite:///instance/bench.sqlite3
or, in about a minute, on 20,000 reports seeded into a temporary file:
  .venv/bin/python -m bench.bench_search --quick

Measured, each in a fresh session as a request would run it, as an office
administrator (no unit: the whole network) and as the clerk of the busiest
county (the county's reports only): the inbox's queries (status counts, first page, the
待我审核 count); a filtered page (status + category + a half-year
date range, `store.search.search` without text); the similar reports a
report's page shows (`store.reports.similar`); and searches with their
count for a two-, a three- and a five-character word and a rare phrase (the
words `minyi seed` makes common, and the phrase it plants in a handful of
reports). Baseline, in the same run on the same database: `search.like_search`,
the same filters with a plain `LIKE '%q%'` over the text columns; it repeats
fewer times, as a scan of a million reports takes seconds. Speedups compare
medians.

Goals (issue 5, on the 2-core machine): p95 <= 150 ms for the inbox and the
filtered page, <= 300 ms for searches, and the rare phrase >= 20x faster than
LIKE. `--strict` exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench import install_data_key, seeded
from minyi.demo import seed
from minyi.demo.text import load
from store import search
from store.db import make_engine, make_sessionmaker
from store.models import Base, Report, Role, User
from store.reports import queries as reports
from store.reports import similar

DEFAULT_URL = "sqlite:///instance/bench.sqlite3"
PAGE_MS, SEARCH_MS, RARE_SPEEDUP = 150.0, 300.0, 20.0
QUICK_REPORTS = 20_000


@dataclass
class Case:
    name: str
    kind: str  # page | search
    run: Callable[[Session, User], int]  # returns the count it showed
    like: Callable[[Session, User], int] | None = None
    rare: bool = False


@dataclass
class Row:
    case: Case
    user: str
    total: int
    times: list[float]
    like_total: int | None = None
    like_times: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95(self) -> float:
        return _p95(self.times) * 1000

    @property
    def like_p50(self) -> float | None:
        return statistics.median(self.like_times) * 1000 if self.like_times else None

    @property
    def speedup(self) -> float | None:
        like = self.like_p50
        return like / self.p50 if like is not None else None

    def problems(self) -> list[str]:
        goal = PAGE_MS if self.case.kind == "page" else SEARCH_MS
        out = [f"p95 {self.p95:.0f} ms > {goal:.0f} ms"] if self.p95 > goal else []
        if self.like_total is not None and self.like_total != self.total:
            out.append(f"LIKE counted {self.like_total}, search {self.total}")
        speedup = self.speedup
        if self.case.rare and speedup is not None and speedup < RARE_SPEEDUP:
            out.append(f"only {speedup:.1f}x faster than LIKE (goal {RARE_SPEEDUP:.0f}x)")
        return out


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def cases(session: Session) -> list[Case]:
    words = load().search
    newest = session.scalar(sa.select(sa.func.max(Report.created_at)))
    assert newest is not None
    to = newest.date()
    since = to - timedelta(days=182)
    filtered = search.Filters(status=("adopted",), category="livelihood", date_from=since,
                              date_to=to)

    def text(q: str) -> tuple[Callable[[Session, User], int], Callable[[Session, User], int]]:
        f = search.Filters(q=q)
        return (lambda s, u: search.search(s, u, f).total,
                lambda s, u: search.like_search(s, u, f).total)

    def inbox(s: Session, u: User) -> int:
        # What the inbox view asks: the status tabs' counts (the total is their sum),
        # the first page, and the 待我审核 tab's count.
        counts = reports.status_counts(s, u)
        rows, total = reports.page(s, u, total=sum(counts.values()))
        reports.queue_count(s, u)
        return total

    recent = session.scalar(sa.select(Report).order_by(Report.id.desc()).offset(50).limit(1))
    assert recent is not None

    def similar_reports(s: Session, u: User) -> int:
        report = s.get(Report, recent.id)
        assert report is not None
        return len(similar.similar(s, report, u))

    out = [Case("inbox", "page", inbox),
           Case("similar reports", "page", similar_reports),
           Case("filtered page", "page", lambda s, u: search.search(s, u, filtered).total)]
    for label, key in (("2 chars", "two"), ("3 chars", "three"), ("5 chars", "five"),
                       ("rare phrase", "rare")):
        run, like = text(words[key])
        out.append(Case(f"{label} 「{words[key]}」", "search", run, like, rare=key == "rare"))
    return out


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
        raise SystemExit("no administrator or county clerk; fill the database with `minyi seed`")
    return [("admin", admin), (f"clerk ({clerk.username})", clerk)]


def measure(Session_: sessionmaker[Session], fn: Callable[[Session, User], int], user: User,  # noqa: N803
            repeat: int) -> tuple[int, list[float]]:
    """Run `fn` once to warm up, then `repeat` times, each in a fresh session."""
    with Session_() as s:
        total = fn(s, user)
    times = []
    for _ in range(repeat):
        with Session_() as s:
            start = time.perf_counter()
            fn(s, user)
            times.append(time.perf_counter() - start)
    return total, times


def run(url: str, repeat: int, like_repeat: int, out: Any = sys.stdout) -> list[Row]:
    engine = make_engine(url, sqlite_immediate=False)
    Session_ = make_sessionmaker(engine)  # noqa: N806
    try:
        with Session_() as s:
            count = s.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
            if not count:
                raise SystemExit(f"no reports in {url}; fill it with `minyi seed --reports N`")
            people, todo = personas(s), cases(s)
        print(f"{count:,} reports on {engine.dialect.name}; {repeat} runs per case "
              f"({like_repeat} for LIKE)", file=out)
        rows = []
        for label, user in people:
            for case in todo:
                total, times = measure(Session_, case.run, user, repeat)
                row = Row(case, label, total, times)
                if case.like is not None:
                    row.like_total, row.like_times = measure(Session_, case.like, user, like_repeat)
                rows.append(row)
                print(f"  {label:24} {case.name:22} p95 {row.p95:8.1f} ms", file=out, flush=True)
    finally:
        engine.dispose()
    return rows


def table(rows: list[Row]) -> str:
    head = (f"{'user':24} {'case':22} {'count':>9} {'p50 ms':>8} {'p95 ms':>8} {'goal':>9} "
            f"{'LIKE ms':>9} {'speedup':>8}  result")
    lines = [head, "-" * len(head)]
    for r in rows:
        goal = f"<={PAGE_MS if r.case.kind == 'page' else SEARCH_MS:.0f}"
        if r.case.rare:
            goal += f",{RARE_SPEEDUP:.0f}x"
        like = f"{r.like_p50:9.1f}" if r.like_p50 is not None else f"{'-':>9}"
        speed = f"{r.speedup:7.1f}x" if r.speedup is not None else f"{'-':>8}"
        problems = r.problems()
        lines.append(f"{r.user:24} {r.case.name:22} {r.total:9,} {r.p50:8.1f} {r.p95:8.1f} "
                     f"{goal:>9} {like} {speed}  {'; '.join(problems) or 'OK'}")
    return "\n".join(lines)


def quick_database(folder: Path) -> str:
    """A temporary SQLite database with QUICK_REPORTS seeded reports and their index."""
    url = f"sqlite:///{folder / 'quick.sqlite3'}"
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        stats = seed(engine, QUICK_REPORTS)
        print(f"seeded {stats.reports:,} reports in {time.perf_counter() - started:.1f} s "
              f"({stats.rate:,.0f}/s, index {stats.index_seconds:.1f} s)")
    finally:
        engine.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    install_data_key()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help=f"a database `minyi seed` filled (default: {DEFAULT_URL})")
    parser.add_argument("--quick", action="store_true",
                        help=f"seed {QUICK_REPORTS:,} reports into a temporary SQLite file and use it")
    parser.add_argument("--repeat", type=int, default=30, help="runs per case (default 30)")
    parser.add_argument("--like-repeat", type=int, default=5, help="runs per LIKE baseline (default 5)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        if not args.quick:
            seeded.require(args.database_url)
        url = quick_database(Path(tmp)) if args.quick else args.database_url
        rows = run(url, args.repeat, args.like_repeat)
    print()
    print(table(rows))
    missed = [r for r in rows if r.problems()]
    print(f"\n{len(rows) - len(missed)}/{len(rows)} cases meet the goals"
          + ("" if not missed else f"; missed: {len(missed)}"))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
