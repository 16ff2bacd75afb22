"""The 通报 benchmark runs (a smoke test on a few seeded reports: no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_bulletin


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
