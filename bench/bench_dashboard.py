"""The 统计 dashboard: a year's figures for every unit, against a plain count of the same reports.

Run (issue 13's full size; seeding a million reports takes a few minutes):
  .venv/bin/python -m bench.bench_dashboard --n 1000000
quickly:
  .venv/bin/python -m bench.bench_dashboard --n 20000
or on a database `minyi seed` filled (three years of demonstration reports):
  .venv/bin/python -m bench.bench_dashboard --database-url sqlite:///instance/bench.sqlite3

`--n N` writes N reports filed over the last 365 days into a temporary SQLite
file, with the facts the dashboard counts (adoptions at each level, upward
records, 批示, journal items, ratings, reopenings, answers), by bulk insert
(`seeded_database`). Measured as an office administrator (every unit), for
the last 365 days, each figure of the page as `store.outputs.dashboard.build`
computes it, by unit (rolled up the tree), by point and by category. The
baseline, in the same run, is `SELECT count(*)` of the same reports (the
period's, by `created_at`): the least any figure over them can cost. Each
case runs `--repeat` times; the best is kept (the machine is shared).
Goal (issue 13): the year by unit in <= 1 s; `--strict` exits 1
when it is missed.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench import install_data_key, seeded
from bench.table import Options, Row, Wrong
from store import workdays
from store.db import make_engine, make_sessionmaker
from store.models import (
    Adoption,
    AdoptionLevel,
    Base,
    CollectionPoint,
    Destination,
    IssueStatus,
    JournalIssue,
    JournalSeries,
    Report,
    Reporter,
    Role,
    Unit,
    User,
)
from store.network import users
from store.outputs import adoption, dashboard, period
from store.reports import timings

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
    """The fewest CPU seconds of `repeat` runs: SQLite runs in this process, so its work is counted
    and the neighbours on a shared machine are not."""
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        runs.append(Run(time.process_time() - start, result))
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
        with sessions() as s:
            check(s, year, results)
    finally:
        engine.dispose()
    return results


def check(session: Session, year: period.Period, results: dict[str, Run]) -> None:
    """Raise `Wrong` unless every case counted the year's reports as a plain COUNT does, and the
    page's adopted (at each level) and first-answer figures agree with plain counts of the same
    reports."""
    counts = {name: r.result for name, r in results.items()}
    if len(set(counts.values())) != 1:
        raise Wrong(f"the cases counted different reports: {counts}")
    in_year = [Report.created_at >= year.since, Report.created_at < year.until]
    board = dashboard.build(session, _admin(session), year, "unit")
    adopted = session.scalar(sa.select(sa.func.count()).select_from(Report).where(
        *in_year, sa.exists().where(Adoption.report_id == Report.id))) or 0
    answered = session.scalar(sa.select(sa.func.count()).select_from(Report).where(
        *in_year, Report.answered_at.is_not(None))) or 0
    got = (board.total.received, board.total.adopted, sum(board.total.answer_days.values()))
    want = (next(iter(counts.values())), adopted, answered)
    if got != want:
        raise Wrong(f"the dashboard counted (received, adopted, answered) {got}; plain counts {want}")
    # Each level or above as the inbox filters it, from the adoptions themselves.
    at_least = [session.scalar(sa.select(sa.func.count()).select_from(Report).where(
        *in_year, adoption.adopted_at_least(level))) or 0 for level in dashboard.LEVELS]
    if board.total.adopted_at != at_least:
        raise Wrong(f"the dashboard counted {board.total.adopted_at} adopted at each level or above; "
                    f"plain counts by the inbox's filter {at_least}")
    top = sum(r.figures.received for r in board.rows if r.depth == 0)
    if top != board.total.received:
        raise Wrong(f"the top of the unit tree holds {top} reports, the total {board.total.received}")


def rows(opts: Options) -> list[Row]:
    """`python -m bench`'s rows: a year by unit on 1,000,000 reports (20,000 when quick), SQLite."""
    install_data_key()
    n = 20_000 if opts.quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        opts.say(f"bench_dashboard: seeding {n:,} reports")
        url = seeded_database(Path(tmp), n)
        results = run(url, 1 if opts.quick else 3, out=opts.out)
    base, unit = results["count(*) (baseline)"], results["dashboard by unit"]
    note = (f"{unit.result:,} reports; totals checked against plain COUNTs; "
            f"by point {results['dashboard by point'].seconds:.2f} s, "
            f"by category {results['dashboard by category'].seconds:.2f} s")
    out = [Row("13 dashboard sqlite", f"a year, all units, by unit ({n:,} reports)", unit.seconds,
               "CPU-s", f"≤ {GOAL_SECONDS:.0f} s", unit.seconds <= GOAL_SECONDS, base.seconds,
               higher_is_better=False, note=note)]
    if opts.postgres_url:
        out.append(Row.unmeasured("13 dashboard postgresql", "a year by unit", "not measured",
                                  "the benchmark bulk-loads SQLite only", goal="≤ 1 s"))
    return out


def table(results: dict[str, Run]) -> str:
    base = results["count(*) (baseline)"]
    lines = [f"{'case':24} {'reports':>10} {'CPU s':>8} {'vs count':>9}"]
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


def seeded_database(folder: Path, reports: int, *, seed_: int = 1) -> str:
    """A temporary SQLite database with `reports` reports filed in the last 365 days.

    The network (37 units in a tree, 300 points, reporters on three channels,
    members among them) is written through the models; the reports and their
    facts with the driver's `executemany` in one transaction, foreign keys
    off while loading (upward records point at a placeholder text version):
    what the dashboard reads, not a demonstration (that is `minyi seed`).
    """
    path = folder / "dashboard.sqlite3"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        with make_sessionmaker(engine)() as s, s.begin():
            net = _network(s, random.Random(seed_), max(20, reports // 10))
    finally:
        engine.dispose()
    started = time.perf_counter()
    rng = random.Random(seed_)
    conn = sqlite3.connect(path)
    try:
        for pragma in ("foreign_keys=OFF", "journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
            conn.execute(f"PRAGMA {pragma}")
        with conn:
            _load(conn, rng, reports, net)
        conn.execute("ANALYZE")
    finally:
        conn.close()
    print(f"seeded {reports:,} reports in {time.perf_counter() - started:.1f} s", flush=True)
    return url


@dataclass
class _Net:
    points: list[tuple[int, int]]  # (point, its unit)
    reporters: list[int]
    destination: int
    issue: int


def _network(s: Session, rng: random.Random, reporters: int) -> _Net:
    users.create_user(s, "bench-admin", users.random_password(), Role.ADMIN)
    city = Unit(name="市政协")
    s.add(city)
    s.flush()
    points: list[tuple[int, int]] = []
    for c in range(9):
        county = Unit(name=f"第{c + 1}县政协", parent_id=city.id)
        s.add(county)
        s.flush()
        for t in range(3):
            town = Unit(name=f"第{c + 1}县第{t + 1}镇联络组", parent_id=county.id)
            s.add(town)
            s.flush()
            for p in range(11):
                point = CollectionPoint(name=f"{town.name}采集点{p + 1}", unit_id=town.id)
                s.add(point)
                s.flush()
                points.append((point.id, town.id))
    s.execute(sa.insert(Reporter), [
        {"channel": rng.choice(("telegram", "web", "wechat", "wechat")), "external_id": f"b{i}",
         "chat_id": f"b{i}", "kind": "member" if i % 50 == 0 else "citizen",
         "member_name": f"委员{i}" if i % 50 == 0 else None} for i in range(reporters)])
    destination = Destination(name="省政协办公厅（测试）", level=AdoptionLevel.PROVINCE)
    series = JournalSeries(name="社情民意（测试）")
    s.add_all([destination, series])
    s.flush()
    issue = JournalIssue(series_id=series.id, status=IssueStatus.PUBLISHED)
    s.add(issue)
    s.flush()
    return _Net(points, list(s.scalars(sa.select(Reporter.id))), destination.id, issue.id)


LEVEL_WEIGHTS = (("county", 70), ("city", 20), ("province", 8), ("national", 2))


def _load(conn: sqlite3.Connection, rng: random.Random, n: int, net: _Net) -> None:
    """Reports over the last 365 days and what happened to them, in batches."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=365)
    span = int((end - start).total_seconds())
    levels = [lv for lv, w in LEVEL_WEIGHTS for _ in range(w)]
    categories = ("livelihood", "economy", "environment", "education", "health", "safety",
                  "culture", "other")

    def at(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S.000000")

    moments = sorted(rng.randrange(span) for _ in range(n))
    days = timings.Counter(workdays.CHINA)  # the office's default calendar, as `timings.on_move`

    def count(filed: datetime, answered: datetime) -> int:
        return days(_day(filed), _day(answered))

    for lo in range(0, n, 20_000):
        rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in SQL}
        for i in range(lo, min(n, lo + 20_000)):
            rid = i + 1
            filed = start + timedelta(seconds=moments[i])
            point, unit = rng.choice(net.points) if rng.random() < 0.9 else (None, rng.choice(net.points)[1])
            fate = rng.random()
            status, decided, rated = "submitted", None, None
            answered, answer_days, decision_days, adopted_rank = None, None, None, None
            rows["events"].append((rid, "submit", None, "submitted", at(filed), None))
            if fate < 0.65:
                answer = filed + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 8))
                adopted = fate < 0.35
                status = "adopted" if adopted else "not_adopted"
                decided = answered = at(answer)
                answer_days = decision_days = count(filed, answer)
                rows["events"].append((rid, "adopt" if adopted else "decline", "submitted", status,
                                       decided, None))
                if adopted:
                    level = rng.choice(levels)
                    adopted_rank = adoption.rank(level)  # as `adoption.record` keeps it
                    rows["adoptions"].append((rid, level, answer.date().isoformat(), decided))
                    if rng.random() < 0.1:
                        rows["upward"].append((rid, net.destination, 1, answer.date().isoformat(),
                                               decided))
                    if rng.random() < 0.05:
                        rows["instructions"].append((rid, "王明", "市长", level, "请研究。",
                                                     answer.date().isoformat(), decided))
                    if rng.random() < 0.2:
                        rows["items"].append((net.issue, rid, "题目", "正文"))
                    if rng.random() < 0.3:
                        rated = rng.choice(("satisfied", "satisfied", "basically"))
                    elif rng.random() < 0.03:
                        rows["events"].append((rid, "reopen", status, "reopened", decided, "不满意"))
            elif fate < 0.70:
                status = "returned"
                back = filed + timedelta(days=rng.randint(0, 5))
                answered, answer_days = at(back), count(filed, back)
                rows["events"].append((rid, "return", "submitted", "returned", answered, "请补充"))
            rows["reports"].append((
                rid, f"B{rid:09d}", rng.choice(categories), "测试信息", "情况", "建议", "normal", 0,
                "{}", "report", rng.choice(net.reporters), status, 0, 1, at(filed), at(filed),
                unit, point, rated, decided, answered, answer_days, decision_days, adopted_rank))
        for key, sql in SQL.items():
            if rows[key]:
                conn.executemany(sql, rows[key])


def _day(moment: datetime) -> int:
    return (workdays.local_day(moment) - timings.EPOCH).days


SQL = {
    "reports": "INSERT INTO reports (id, tracking_no, category, title, situation, suggestion, urgency, "
               "anonymous, answers, form, reporter_id, status, review_level, version, created_at, "
               "updated_at, unit_id, point_id, satisfaction, decided_at, answered_at, answer_workdays, "
               "decision_workdays, adopted_rank) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "events": "INSERT INTO report_events (report_id, action, from_status, to_status, created_at, note) "
              "VALUES (?, ?, ?, ?, ?, ?)",
    "adoptions": "INSERT INTO adoptions (report_id, level, adopted_on, created_at) VALUES (?, ?, ?, ?)",
    "upward": "INSERT INTO upward_records (report_id, destination_id, version_id, sent_on, status, "
              "created_at) VALUES (?, ?, ?, ?, 'sent', ?)",
    "instructions": "INSERT INTO instructions (report_id, leader_name, leader_title, level, text, "
                    "instructed_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "items": "INSERT INTO journal_items (issue_id, report_id, position, title, body, source) "
             "VALUES (?, ?, 0, ?, ?, '')",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help=f"a database `minyi seed` filled (default: {DEFAULT_URL})")
    parser.add_argument("--seed", "--n", type=int, metavar="N", dest="seed",
                        help="seed N reports into a temporary SQLite file and use it")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (the best is kept)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if the goal is missed")
    args = parser.parse_args(argv)

    install_data_key()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.seed:
            seeded.require(args.database_url)
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
