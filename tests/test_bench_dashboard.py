"""The dashboard benchmark runs (a smoke test on a few bulk-inserted reports: no timing is asserted)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench import bench_dashboard
from bench.table import Options, Wrong
from store.db import make_engine
from store.models import Adoption, Report, ReportEvent
from store.outputs import dashboard


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark seeds its own SQLite file")


def test_the_dashboard_benchmark_seeds_and_measures_every_case(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = bench_dashboard.seeded_database(tmp_path, 400)
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(Report))
        adopted = conn.scalar(sa.select(sa.func.count()).select_from(Adoption))
        answered = conn.scalar(sa.select(sa.func.count()).select_from(ReportEvent)
                               .where(ReportEvent.action.in_(("adopt", "decline"))))
    engine.dispose()
    assert count == 400 and adopted and answered and adopted < answered < count

    results = bench_dashboard.run(url, repeat=1)
    assert set(results) == {"count(*) (baseline)", "dashboard by unit", "dashboard by point",
                            "dashboard by category"}
    # Every case counted the same reports: the year's, all of them visible to the administrator.
    assert len({r.result for r in results.values()}) == 1
    assert "vs count" in bench_dashboard.table(results)
    assert bench_dashboard.main(["--seed", "400", "--repeat", "1"]) == 0  # its own seed: no `minyi seed` staff
    assert "dashboard by unit" in capsys.readouterr().out


def test_its_rows_check_the_totals_against_plain_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINYI_BENCH_POSTGRES_URL", "")
    rows = bench_dashboard.rows(Options(quick=True, out=io.StringIO()))
    assert [r.key for r in rows] == ["13 dashboard sqlite"]
    assert rows[0].figure > 0 and rows[0].baseline and "plain COUNT" in rows[0].note


def test_a_dashboard_that_miscounts_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = bench_dashboard.seeded_database(tmp_path, 300)
    real = dashboard.build

    def one_short(*args: Any, **kwargs: Any) -> dashboard.Dashboard:
        board = real(*args, **kwargs)
        board.total.adopted_at[0] -= 1
        return board

    monkeypatch.setattr(dashboard, "build", one_short)
    with pytest.raises(Wrong, match="plain counts"):
        bench_dashboard.run(url, repeat=1)


def test_a_dashboard_that_miscounts_a_higher_level_is_wrong(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = bench_dashboard.seeded_database(tmp_path, 300)
    real = dashboard.build

    def one_more_in_the_city(*args: Any, **kwargs: Any) -> dashboard.Dashboard:
        board = real(*args, **kwargs)
        board.total.adopted_at[1] += 1
        return board

    monkeypatch.setattr(dashboard, "build", one_more_in_the_city)
    with pytest.raises(Wrong, match="adopted at each level or above"):
        bench_dashboard.run(url, repeat=1)
