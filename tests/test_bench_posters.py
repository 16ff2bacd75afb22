"""The posters benchmark runs and checks its PDF (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_posters
from bench.table import Options, Wrong
from store.db import make_engine, make_sessionmaker
from store.models import Base


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark makes its own SQLite file")


def test_it_draws_a_checked_page_per_point(tmp_path: Path) -> None:
    cpu, size = bench_posters.measure(tmp_path, 25)
    assert cpu > 0 and size > 10_000


def test_its_check_refuses_a_pdf_short_of_pages(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    Base.metadata.create_all(engine)
    Session = make_sessionmaker(engine)  # noqa: N806
    bench_posters._network(Session, 5)
    pdf, chosen = bench_posters.draw(Session)
    engine.dispose()
    assert len(chosen) == 5
    bench_posters.check(pdf, chosen, 5)
    with pytest.raises(Wrong, match="pages for 6 points"):
        bench_posters.check(pdf, chosen + chosen[:1], 6)
    with pytest.raises(Wrong, match="does not show"):
        bench_posters.check(pdf, list(reversed(chosen)), 5)


def test_its_row_extrapolates_a_quick_run_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_posters, "QUICK_POINTS", 10)
    [row] = bench_posters.rows(Options(quick=True))
    assert row.key == "P4 posters" and row.unit == "CPU s" and row.goal == "≤ 30 s CPU"
    assert "extrapolated to 1,117 from 10 posters" in row.note
