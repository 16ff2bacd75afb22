"""The P1 engine benchmark runs and checks its own output (its speed is not asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_engine
from bench.table import Wrong


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark makes its own SQLite file")


def test_it_files_one_report_per_user_with_their_answers(tmp_path: Path) -> None:
    result = bench_engine.run(f"sqlite:///{tmp_path / 'b.sqlite3'}", 12, tmp_path / "up")
    assert (result.users, result.inputs) == (12, 12 * len(bench_engine.STEPS))
    assert result.cpu_s > 0 and result.p95_ms > 0


def test_it_refuses_a_database_that_already_holds_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    bench_engine.run(url, 2, tmp_path / "up")
    with pytest.raises(Wrong, match="already holds"):
        bench_engine.run(url, 2, tmp_path / "up")


def test_its_check_catches_a_report_that_is_missing(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = bench_engine.check
    monkeypatch.setattr(bench_engine, "check", lambda sessions, users: real(sessions, users + 1))
    with pytest.raises(Wrong, match="reports stored"):
        bench_engine.run(f"sqlite:///{tmp_path / 'b.sqlite3'}", 3, tmp_path / "up")


def test_its_rows_compare_with_the_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_engine, "QUICK_USERS", 5)
    monkeypatch.setattr(bench_engine, "baseline", lambda mode, users: {"conv_per_cpu_s_total": 1e9})
    monkeypatch.delenv("MINYI_BENCH_POSTGRES_URL", raising=False)
    monkeypatch.delenv("MINYI_TEST_POSTGRES_URL", raising=False)
    rows = bench_engine.rows(bench_engine.Options(quick=True))
    assert [r.key for r in rows] == ["P1 sqlite"] * 3
    assert rows[0].baseline == 1e9 and not rows[0].met
