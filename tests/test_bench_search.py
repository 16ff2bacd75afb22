"""The search benchmark runs and checks itself (a few thousand seeded reports; no timing is asserted)."""

from __future__ import annotations

import io

import pytest

from bench import bench_search, pg
from bench.table import Options, Wrong
from store import search
from store.search import Results

SMALL = 2_000


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_search, "QUICK_REPORTS", SMALL)
    monkeypatch.delenv(bench_search.SQLITE_ENV, raising=False)
    monkeypatch.delenv(bench_search.POSTGRES_ENV, raising=False)


def test_it_measures_every_case_for_both_personas_on_each_database(db_backend: str) -> None:
    url = pg.configured() if db_backend == "postgresql" else None
    rows = bench_search.rows(Options(quick=True, postgres_url=url, out=io.StringIO()))

    for database in ("sqlite", "postgresql") if url else ("sqlite",):
        mine = [r for r in rows if r.key.startswith(f"P3 {database} ")]
        assert len(mine) == 2 * (3 + len(bench_search.WORDS))
        assert {r.key.split()[2] for r in mine} == {"admin", "clerk"}
        searches = [r for r in mine if "LIKE" in r.goal]
        # Every search stood beside its LIKE scan, which counted the same reports.
        assert len(searches) == 2 * len(bench_search.WORDS)
        assert all(r.baseline and r.figure and "LIKE counted the same" in r.note for r in searches)
    if not url:
        assert rows[-1].key == "P3 postgresql" and not rows[-1].met


def test_a_search_that_counts_otherwise_than_like_is_wrong(
        db_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if db_backend != "sqlite":
        pytest.skip("the check is the same on both databases")
    real = search.like_search

    def off_by_one(*args: object, **kw: object) -> Results:
        res = real(*args, **kw)  # type: ignore[arg-type]
        res.total += 1
        return res

    monkeypatch.setattr(search, "like_search", off_by_one)
    with pytest.raises(Wrong, match="LIKE counted"):
        bench_search.rows(Options(quick=True, out=io.StringIO()))
