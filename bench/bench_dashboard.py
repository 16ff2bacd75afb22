"""The 统计 dashboard: a year's figures for every unit, against a plain count of the same reports.

Run (issue 13's full size):
  .venv/bin/python -m bench.bench_dashboard --seed 1000000
or quickly:
  .venv/bin/python -m bench.bench_dashboard --seed 20000
or on a database `minyi seed` filled:
  .venv/bin/python -m bench.bench_dashboard --database-url sqlite:///instance/bench.sqlite3

`minyi seed` writes three years of reports (Core inserts in batches, with their
events, adoptions, transfers and ratings). Measured as an office administrator
(every unit), for the last 365 days, each figure of the page as
`store.outputs.dashboard.build` computes it, by unit (rolled up the tree), by
point and by category. The baseline, in the same run, is `SELECT count(*)` of
the same reports (the period's, by `created_at`): the least any figure over
them can cost. Each case runs `--repeat` times; the best is kept (the machine
is shared). Goal (issue 13): the year by unit in <= 1 s; `--strict` exits 1
when it is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.demo import seed
from store.db import make_engine, make_sessionmaker
from store.models import Base, Report, Role, User
from store.outputs import dashboard, period

DEFAULT_URL = "sqlite:///instance/bench.sqlite3"
GOAL_SECONDS = 1.0


@dataclass
class Run:
    seconds: float
    result: int  # reports the case counted (the same for every case: a check)


def _admin(session: Session) -> User:
    admin = session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.unit_id.is_(None),
                                                 User.active.is_(True)).order_by(User.id))
    if admin is None:
        raise SystemExit("no administrator without a unit; fill the database with `minyi seed`")
    return admin


def best(fn: Callable[[], int], repeat: int) -> Run:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(Run(time.perf_counter() - start, result))
    return min(runs, key=lambda r: r.seconds)


def run(url: str, repeat: int = 3, out: Any = sys.stdout) -> dict[str, Run]:
    engine = make_engine(url, sqlite_immediate=False)
    sessions: sessionmaker[Session] = make_sessionmaker(engine)
    try:
        with sessions() as s:
            newest = s.scalar(sa.select(sa.func.max(Report.created_at)))
            total = s.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
        if newest is None:
            raise SystemExit(f"no reports in {url}; fill it with `minyi seed --reports N`")
        last = period.today() if newest is None else (newest + timedelta(hours=8)).date()
        year = period.between(last - timedelta(days=364), last)
        print(f"{total:,} reports on {engine.dialect.name}; the year {year.label}", file=out, flush=True)

        def count() -> int:
            with sessions() as s:
                return s.scalar(sa.select(sa.func.count()).select_from(Report).where(
                    Report.created_at >= year.since, Report.created_at < year.until)) or 0

        def page(by: str) -> Callable[[], int]:
            def build() -> int:
                with sessions() as s:
                    return dashboard.build(s, _admin(s), year, by).total.received
            return build

        results = {"count(*) (baseline)": best(count, repeat)}
        for by in ("unit", "point", "category"):
            results[f"dashboard by {by}"] = best(page(by), repeat)
    finally:
        engine.dispose()
    return results


def table(results: dict[str, Run]) -> str:
    base = results["count(*) (baseline)"]
    lines = [f"{'case':24} {'reports':>10} {'seconds':>8} {'vs count':>9}"]
    lines.append("-" * len(lines[0]))
    for name, r in results.items():
        ratio = f"{r.seconds / base.seconds:8.1f}x" if base.seconds and r is not base else f"{'-':>9}"
        lines.append(f"{name:24} {r.result:10,} {r.seconds:8.3f} {ratio}")
    return "\n".join(lines)


def problems(results: dict[str, Run]) -> list[str]:
    counts = {r.result for r in results.values()}
    out = [] if len(counts) == 1 else [f"the cases counted different reports: {sorted(counts)}"]
    unit = results["dashboard by unit"].seconds
    if unit > GOAL_SECONDS:
        out.append(f"a year by unit took {unit:.2f} s > {GOAL_SECONDS:.0f} s")
    return out


def seeded_database(folder: Path, reports: int) -> str:
    """A temporary SQLite database with `reports` seeded reports (no search index)."""
    url = f"sqlite:///{folder / 'dashboard.sqlite3'}"
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        stats = seed(engine, reports, index=False)
        print(f"seeded {stats.reports:,} reports in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        engine.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help=f"a database `minyi seed` filled (default: {DEFAULT_URL})")
    parser.add_argument("--seed", "--n", type=int, metavar="N", dest="seed",
                        help="seed N reports into a temporary SQLite file and use it")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (the best is kept)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if the goal is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = seeded_database(Path(tmp), args.seed) if args.seed else args.database_url
        results = run(url, args.repeat)
    print()
    print(table(results))
    missed = problems(results)
    met = f"a year by unit meets the goal (<= {GOAL_SECONDS:.0f} s)"
    print("\n" + ("; ".join(missed) if missed else met))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
