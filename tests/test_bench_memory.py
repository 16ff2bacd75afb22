"""The P5 memory benchmark runs and checks itself (quick size: correctness only, no figure asserted)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bench import bench_memory
from bench.table import Options, Wrong


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark opens its conversations on its own SQLite file")


def test_it_opens_every_conversation_once_and_compares_with_the_baseline() -> None:
    out = io.StringIO()

    [row] = bench_memory.rows(Options(quick=True, out=out))

    assert row.key == "P5" and row.unit == "MiB" and not row.higher_is_better
    assert f"{bench_memory.QUICK_USERS} open drafts checked" in row.note
    assert "KiB" in out.getvalue()  # tracemalloc's top growth was printed
    if bench_memory.BASELINE_SCRIPT.exists():
        assert row.baseline is not None and row.baseline > 0


def test_its_check_refuses_a_run_that_left_a_conversation_out(tmp_path: Path) -> None:
    result = bench_memory.measure(5, tmp_path)
    assert result["open_drafts"] == 5

    from store.db import make_engine, make_sessionmaker

    Session = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'memory.sqlite3'}"))
    with pytest.raises(Wrong, match="5 conversations stored for 6 users"):
        bench_memory.check(Session, 6)
