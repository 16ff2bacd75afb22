"""`minyi seed` bulk-loads SQLite with its indexes dropped and FTS5 tuned; afterwards the schema
must be the migrated one: every index and trigger, with the same definition, and FTS5's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import bench_seed
from minyi.demo import reports as demo_reports
from minyi.demo import seed
from store import migrate
from store.db import make_engine


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the bulk load's tuning is SQLite's; PostgreSQL's seed is untouched")


def _migrated(path: Path) -> sa.Engine:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return make_engine(url)


def _fts_config(engine: sa.Engine) -> list[tuple[str, object]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT k, v FROM report_fts_config ORDER BY k")]


def test_it_leaves_the_migrated_indexes_triggers_and_fts_settings(tmp_path: Path) -> None:
    reference, seeded = _migrated(tmp_path / "migrated.sqlite3"), _migrated(tmp_path / "seeded.sqlite3")
    try:
        expected = bench_seed.schema(reference)
        assert any(name == "ix_reports_unit_created" for _, name, _, _ in expected)
        stats = seed(seeded, 300, batch=100)
        assert stats.indexed == 300
        bench_seed.check(seeded, 300, expected)  # raises Wrong on any difference
        assert bench_seed.schema(seeded) == expected
        assert _fts_config(seeded) == _fts_config(reference)
        with seeded.connect() as conn:  # the index answers, and the planner uses the indexes
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM reports WHERE unit_id = 3 ORDER BY created_at"))
            assert "ix_reports_unit" in plan
            assert conn.exec_driver_sql("SELECT count(*) FROM report_fts WHERE report_fts MATCH '电梯'"
                                        ).scalar()
    finally:
        reference.dispose()
        seeded.dispose()


def test_a_seed_that_fails_midway_puts_the_indexes_back(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    reference, seeded = _migrated(tmp_path / "migrated.sqlite3"), _migrated(tmp_path / "seeded.sqlite3")
    calls = []
    real = demo_reports.ReportMaker.batch

    def second_batch_breaks(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(demo_reports.ReportMaker, "batch", second_batch_breaks)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            seed(seeded, 300, batch=100)
        assert bench_seed.schema(seeded) == bench_seed.schema(reference)
    finally:
        reference.dispose()
        seeded.dispose()


def test_the_seed_benchmark_checks_its_database(tmp_path: Path) -> None:
    cpu, wall = bench_seed.measure(tmp_path, 200)
    assert cpu > 0 and wall > 0
    reference = _migrated(tmp_path / "again.sqlite3")
    try:
        expected = bench_seed.schema(reference)
        with pytest.raises(bench_seed.Wrong, match="holds"):
            bench_seed.check(reference, 200, expected)  # an empty database is not 200 reports
        with reference.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_reports_unit_created")
        seed(reference, 200)
        with pytest.raises(bench_seed.Wrong, match="ix_reports_unit_created"):
            bench_seed.check(reference, 200, expected)
    finally:
        reference.dispose()


def _journal(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as raw:
        return str(raw.execute("PRAGMA journal_mode").fetchone()[0])


def test_the_bulk_load_skips_the_wal_and_leaves_the_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "seeded.sqlite3"
    seeded = _migrated(path)
    wal = Path(f"{path}-wal")
    seen: list[tuple[str, bool]] = []
    try:
        # After each batch, and each step of the index: is anything going through the WAL?
        seed(seeded, 300, batch=100, progress=lambda phase, done, total: seen.append(
            (phase, wal.exists() and wal.stat().st_size > 0)))
        assert {phase for phase, _ in seen} == {"reports", "index"}
        assert not any(in_wal for _, in_wal in seen), seen
    finally:
        seeded.dispose()
    assert _journal(path) == "wal"  # as every database `minyi` opens


def test_beside_another_open_connection_the_seed_keeps_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "seeded.sqlite3"
    seeded, other = _migrated(path), make_engine(f"sqlite:///{path}", sqlite_immediate=False)
    try:
        with other.connect() as conn:  # a console reading the database meanwhile
            conn.exec_driver_sql("SELECT count(*) FROM reports").scalar()
            stats = seed(seeded, 200, batch=100)
            assert conn.exec_driver_sql("SELECT count(*) FROM reports").scalar() == 0  # its snapshot
        assert stats.indexed == 200
        with other.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM reports").scalar() == 200
    finally:
        seeded.dispose()
        other.dispose()
    assert _journal(path) == "wal"
