"""Exporting reports: rows a second and peak memory of a CSV (and an XLSX) of every report.

Run (issue 13's full size, on a database `minyi seed` filled):
  .venv/bin/minyi seed --reports 1000000 --database-url sqlite:///instance/bench.sqlite3
  .venv/bin/python -m bench.bench_export --database-url sqlite:///instance/bench.sqlite3
or on N reports seeded into a temporary file (no search index: an export without words
does not read it):
  .venv/bin/python -m bench.bench_export --seed 1000000

Measured as an office administrator (every report), each export as the console
streams it (`store.db.reading`, `store.outputs.exports.batches` and `.rows`, `store.outputs.sheets`)
into a file:
- speed: rows a second of the CSV export, and, as the baseline in the same run, of the
  bare read (the same SELECT on the driver's cursor, rows fetched and dropped): the ratio
  (of CPU seconds) is what SQLAlchemy, the labels and CSV cost on top of reading. Wall
  and CPU seconds are both shown: on a shared machine the wall clock mostly measures the
  neighbours;
- memory: the peak of Python's allocations (tracemalloc, a second pass) exporting every
  row and exporting a tenth of them (`--limit`-style, the newest): a stream's peak does
  not grow with the rows, so the ratio stays near 1;
- XLSX: rows a second (no goal; openpyxl's write-only mode, Excel's own format is slower).

Goals (issue 13, on the 2-core machine): CSV >= 50,000 rows/s and a peak under 200 MB
for 1,000,000 rows. The export is one thread reading SQLite in-process, so on a machine
of its own its wall clock is its CPU time; the rate is judged on rows per CPU second,
and the load average is printed beside the wall clock that the neighbours stretch.
`--strict` exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench import install_data_key, seeded
from bench.table import Options, Row, Wrong
from minyi.demo import seed
from store import forms
from store.db import make_engine, make_sessionmaker, reading
from store.models import Base, Report, Role, User
from store.outputs import exports, sheets
from store.search.query import Filters

DEFAULT_URL = "sqlite:///instance/bench.sqlite3"
ROWS_PER_S, PEAK_MB = 50_000.0, 200.0
MB = 1024 * 1024


@dataclass
class Run:
    rows: int
    seconds: float
    cpu: float = 0.0  # this process's CPU seconds (what a busy shared machine distorts least)
    peak: int | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.rows / self.cpu if self.cpu else 0.0


def _admin(session: Session) -> User:
    admin = session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.unit_id.is_(None),
                                                 User.active.is_(True)).order_by(User.id))
    if admin is None:
        raise SystemExit("no administrator without a unit; fill the database with `minyi seed`")
    return admin


def _export(sessions: sessionmaker[Session], fmt: str, out: Path, limit: int | None = None) -> int:
    """One export as the console streams it, into `out`; returns the rows written."""
    categories = forms.load("report").choice_labels("category")
    counter = exports.Counter()
    with reading(sessions) as s, out.open("wb") as f:
        admin = _admin(s)
        if fmt == "csv":
            batches = exports.batches(s, admin, Filters(), categories, counter)
            if limit is not None:
                batches = _first(batches, limit, counter)
            f.writelines(sheets.csv_pieces(exports.HEADER, batches, exports.TEXT_COLUMNS))
        else:
            rows: Iterable[tuple[Any, ...]] = exports.rows(s, admin, Filters(), categories, counter)
            if limit is not None:
                rows = islice(rows, limit)
            sheets.write_xlsx(f, exports.SHEET_NAME, exports.HEADER, rows)
    return counter.rows


def _first(batches: Iterable[list[Sequence[Any]]], limit: int,
           counter: exports.Counter) -> Iterator[list[Sequence[Any]]]:
    """The batches' first `limit` rows (the last batch cut short), as a narrower export reads."""
    left = limit
    for batch in batches:
        if len(batch[0]) >= left:
            counter.rows -= len(batch[0]) - left
            yield [column[:left] for column in batch]
            return
        left -= len(batch[0])
        yield batch


def _bare_read(sessions: sessionmaker[Session]) -> int:
    """The baseline: the export's own SELECT through the database driver, every row fetched
    and dropped (no SQLAlchemy rows, no labels, no CSV): the floor an export stands on."""
    with reading(sessions) as s:
        # The statement exports.rows runs, compiled for this database and run on its cursor.
        statement = exports.statement(s, _admin(s), Filters())
        compiled = statement.compile(dialect=s.get_bind().dialect,
                                     compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        cursor = s.connection().connection.cursor()
        try:
            if compiled.positiontup:
                cursor.execute(str(compiled), tuple(params[k] for k in compiled.positiontup))
            else:
                cursor.execute(str(compiled), params)
            n = 0
            while batch := cursor.fetchmany(exports.BATCH):
                n += len(batch)
        finally:
            cursor.close()
    return n


def timed(fn: Callable[[], int]) -> Run:
    start, cpu = time.perf_counter(), time.process_time()
    rows = fn()
    return Run(rows, time.perf_counter() - start, time.process_time() - cpu)


def traced(fn: Callable[[], int]) -> Run:
    tracemalloc.start()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        rows = fn()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Run(rows, seconds, cpu, peak)


def run(url: str, folder: Path, xlsx: bool, out: Any = sys.stdout) -> dict[str, Run]:
    engine = make_engine(url, sqlite_immediate=False)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as s:
            count = s.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
        if not count:
            raise SystemExit(f"no reports in {url}; fill it with `minyi seed --reports N`")
        print(f"{count:,} reports on {engine.dialect.name}", file=out, flush=True)
        tenth = max(1, count // 10)
        results = {
            "bare read (baseline)": timed(lambda: _bare_read(sessions)),
            "csv": timed(lambda: _export(sessions, "csv", folder / "all.csv")),
            "csv memory": traced(lambda: _export(sessions, "csv", folder / "all.csv")),
            "csv memory, a tenth": traced(lambda: _export(sessions, "csv", folder / "tenth.csv", tenth)),
        }
        if xlsx:
            results["xlsx"] = timed(lambda: _export(sessions, "xlsx", folder / "all.xlsx"))
        results["csv file"] = Run(os.path.getsize(folder / "all.csv"), 1.0)
    finally:
        engine.dispose()
    check(results, count)
    return results


def check(results: dict[str, Run], count: int) -> None:
    """Raise `Wrong` unless every export wrote every report once (a tenth: a tenth of them)."""
    want = {"bare read (baseline)": count, "csv": count, "csv memory": count,
            "csv memory, a tenth": max(1, count // 10), "xlsx": count}
    got = {name: r.rows for name, r in results.items() if name in want}
    if got != {name: want[name] for name in got}:
        raise Wrong(f"{count:,} reports, but the exports wrote {got}")
    if not results["csv file"].rows:
        raise Wrong("the CSV file is empty")


def rows(opts: Options) -> list[Row]:
    """`python -m bench`'s rows: a CSV of 1,000,000 reports (20,000 when quick), SQLite.

    MINYI_BENCH_EXPORT_DATABASE_URL names a database `minyi seed` already filled (it is
    only read); otherwise the reports are seeded into a temporary file first.
    """
    install_data_key()
    n = 20_000 if opts.quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = os.environ.get("MINYI_BENCH_EXPORT_DATABASE_URL") or ""
        if not url:
            opts.say(f"bench_export: seeding {n:,} reports (minyi seed)")
            url = seeded_database(folder, n)
        results = run(url, folder, xlsx=False, out=opts.out)
    csv_, base, peak = results["csv"], results["bare read (baseline)"], results["csv memory"].peak or 0
    checked = f"{csv_.rows:,} rows, each report once (checked)"
    return [
        Row("13 export csv sqlite", f"CSV export, rows per CPU second ({csv_.rows:,} rows)",
            csv_.cpu_rate, "rows/CPU-s", f"≥ {ROWS_PER_S:,.0f}", csv_.cpu_rate >= ROWS_PER_S,
            base.cpu_rate, note=f"baseline: the bare read of the same SELECT; {checked}"),
        Row("13 export memory sqlite", f"CSV export, peak Python memory ({csv_.rows:,} rows)",
            peak / MB, "MiB", f"< {PEAK_MB:.0f} MB", peak < PEAK_MB * MB,
            (results["csv memory, a tenth"].peak or 0) / MB, higher_is_better=False,
            note="baseline: the peak exporting a tenth of the rows (a stream stays near 1×)"),
    ]


def problems(results: dict[str, Run]) -> list[str]:
    out = []
    if results["csv"].cpu_rate < ROWS_PER_S:
        out.append(f"CSV {results['csv'].cpu_rate:,.0f} rows per CPU second < {ROWS_PER_S:,.0f}")
    peak = results["csv memory"].peak or 0
    if peak > PEAK_MB * MB:
        out.append(f"CSV peak {peak / MB:.0f} MB > {PEAK_MB:.0f} MB")
    return out


def table(results: dict[str, Run]) -> str:
    base = results["bare read (baseline)"]
    lines = [f"{'case':24} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'CPU s':>7} {'rows/CPU s':>10} "
             f"{'vs read':>8} {'peak MB':>8}"]
    lines.append("-" * len(lines[0]))
    for name, r in results.items():
        if name == "csv file":
            continue
        ratio = f"{r.cpu / base.cpu:7.2f}x" if base.cpu and name != "bare read (baseline)" \
            else f"{'-':>8}"
        peak = f"{r.peak / MB:8.1f}" if r.peak is not None else f"{'-':>8}"
        lines.append(f"{name:24} {r.rows:10,} {r.seconds:8.1f} {r.rate:10,.0f} {r.cpu:7.1f} "
                     f"{r.cpu_rate:10,.0f} {ratio} {peak}")
    full, tenth = results["csv memory"].peak or 0, results["csv memory, a tenth"].peak or 1
    lines.append(f"CSV file: {results['csv file'].rows / MB:,.0f} MB; peak memory, all rows / a tenth: "
                 f"{full / tenth:.2f}x (a stream stays near 1x); the process's peak RSS: "
                 f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    csv_ = results["csv"]
    if base.cpu and csv_.cpu:
        lines.append(f"CSV export: {csv_.cpu / base.cpu:.2f}x the CPU of the bare read; "
                     f"{csv_.cpu_rate:,.0f} rows per CPU second, {csv_.rate:,.0f} rows/s by the wall clock "
                     f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return "\n".join(lines)


def seeded_database(folder: Path, reports: int) -> str:
    """A temporary SQLite database with `reports` seeded reports (no search index)."""
    url = f"sqlite:///{folder / 'export.sqlite3'}"
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
    install_data_key()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help=f"a database `minyi seed` filled (default: {DEFAULT_URL})")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="seed N reports into a temporary SQLite file and use it")
    parser.add_argument("--no-xlsx", action="store_true", help="leave out the XLSX export")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.seed:
            seeded.require(args.database_url)
        url = seeded_database(folder, args.seed) if args.seed else args.database_url
        results = run(url, folder, not args.no_xlsx)
    print()
    print(table(results))
    missed = problems(results)
    met = "CSV meets the goals (>= 50,000 rows per CPU second, < 200 MB)"
    print("\n" + ("; ".join(missed) if missed else met))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
