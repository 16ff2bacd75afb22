"""The export benchmark runs (a smoke test on a few seeded reports: no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_export


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark seeds its own SQLite file")


def test_the_export_benchmark_measures_every_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = bench_export.seeded_database(tmp_path, 300)
    results = bench_export.run(url, tmp_path, xlsx=True)
    assert {name: r.rows for name, r in results.items() if name != "csv file"} == {
        "bare read (baseline)": 300, "csv": 300, "csv memory": 300, "csv memory, a tenth": 30,
        "xlsx": 300}
    assert results["csv memory"].peak and results["csv file"].rows > 0
    table = bench_export.table(results)
    assert "rows/s" in table and "peak memory" in table
    assert bench_export.main(["--database-url", url, "--no-xlsx"]) == 0
    assert "CSV" in capsys.readouterr().out
