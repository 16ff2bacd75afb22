"""`minyi seed --reports 1000000` on SQLite (issue 16, P6: <= 10 min).

Run: .venv/bin/python -m bench.bench_seed [--quick]

What `minyi seed` does, into a fresh temporary SQLite file: migrate, then
`minyi.demo.seed` (the network, the reports and their rows, the search index,
ANALYZE). Measured: CPU minutes of this process (SQLite runs in it), and the
wall clock beside it. No baseline: the goal is absolute. `--quick` seeds 20,000
reports and extrapolates linearly to 1,000,000 (the note says so; building the
index grows a little faster than linearly, so the full run is the one to trust).

Checked: the database holds exactly N reports, a version 1 for each, and N
documents in the search index; and every index and trigger a migrated
database has exists, with the same definition (`schema`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench import install_data_key
from bench.table import Options, Row, Wrong, render
from minyi.demo import seed
from store import migrate
from store.db import make_engine

REPORTS, QUICK_REPORTS = 1_000_000, 20_000
GOAL_MINUTES = 10.0


def schema(engine: sa.Engine) -> set[tuple[str, str, str, str]]:
    """(type, name, table, SQL) of every index and trigger: what must be the same after a seed."""
    with engine.connect() as conn:
        return {(t, n, tbl, " ".join((s or "").split())) for t, n, tbl, s in conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')")}


def check(engine: sa.Engine, n: int, expected: set[tuple[str, str, str, str]]) -> None:
    """Raise Wrong unless the seeded database has `n` reports, indexed, and the migrated schema."""
    with engine.connect() as conn:
        counts = {table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                  for table in ("reports", "report_versions", "report_fts")}
    if counts != {"reports": n, "report_versions": n, "report_fts": n}:
        raise Wrong(f"{n:,} reports seeded, the database holds {counts}")
    found = schema(engine)
    missing, changed = expected - found, found - expected
    if missing or changed:
        raise Wrong(f"the seeded schema differs from a migrated one: missing "
                    f"{sorted(x[1] for x in missing)}, extra or changed {sorted(x[1] for x in changed)}")


def measure(folder: Path, n: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of seeding `n` reports into a fresh file, checked."""
    reference = f"sqlite:///{folder / 'migrated.sqlite3'}"
    migrate.upgrade(reference)
    engine = make_engine(reference)
    expected = schema(engine)
    engine.dispose()

    url = f"sqlite:///{folder / 'seeded.sqlite3'}"
    cpu, wall = time.process_time(), time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        seed(engine, n)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        check(engine, n, expected)
    finally:
        engine.dispose()
    return cpu, wall


def rows(opts: Options) -> list[Row]:
    install_data_key()
    n = QUICK_REPORTS if opts.quick else REPORTS
    with tempfile.TemporaryDirectory() as folder:
        opts.say(f"seed: {n:,} reports into a temporary SQLite file ...")
        cpu, wall = measure(Path(folder), n)
    scale = REPORTS / n
    minutes = cpu * scale / 60
    note = (f"{n:,} reports, versions and index documents counted; every index and trigger of a "
            f"migrated database present and alike; {cpu:.0f} CPU s, {wall:.0f} s wall")
    if n != REPORTS:
        note += f"; extrapolated linearly to {REPORTS:,} from {n:,} (a quick run: indexing grows faster)"
    return [Row("P6 SQLite", f"minyi seed --reports {REPORTS:,}", minutes, "CPU min",
                f"≤ {GOAL_MINUTES:.0f} min", minutes <= GOAL_MINUTES, higher_is_better=False, note=note)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPORTS:,} reports, extrapolated")
    args = parser.parse_args(argv)
    out = rows(Options(quick=args.quick))
    print(render(out))
    return 0 if all(r.met for r in out) else 1


if __name__ == "__main__":
    sys.exit(main())
