"""The 通报 benchmark runs (a smoke test on a few seeded reports: no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_bulletin
from bench.table import Options, Wrong


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark seeds its own SQLite file")


def test_the_bulletin_benchmark_measures_every_case(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = bench_bulletin.seeded_database(tmp_path, 200)
    results = bench_bulletin.run(url)
    assert list(results) == ["facts (baseline)", "scores", "bulletin"]
    assert results["facts (baseline)"].facts == results["scores"].facts >= 200
    assert results["bulletin"].facts > 0  # the workbook's size: it was built
    assert "vs facts" in bench_bulletin.table(results)
    assert bench_bulletin.main(["--database-url", url]) == 0
    assert "goal" in capsys.readouterr().out


def test_its_row_checks_the_workbook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_bulletin, "QUICK_REPORTS", 150)
    [row] = bench_bulletin.rows(Options(quick=True))
    assert row.key == "P4 通报" and row.baseline and row.figure > 0
    assert "extrapolated to 10,000 from 150 reports" in row.note


def test_its_check_refuses_a_bulletin_that_miscounts(tmp_path: Path) -> None:
    url = bench_bulletin.seeded_database(tmp_path, 120)
    files: dict[str, bytes] = {}
    bench_bulletin.run(url, files=files)
    bench_bulletin.check(files, 120)
    with pytest.raises(Wrong, match="counts 120 reports received, 121 were seeded"):
        bench_bulletin.check(files, 121)
    with pytest.raises(Wrong, match="ranking sheets"):
        bench_bulletin.check(files, 120, series=3)
    with pytest.raises(Wrong, match="not built"):
        bench_bulletin.check({}, 120)
