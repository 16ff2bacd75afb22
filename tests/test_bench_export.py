"""The export benchmark runs (a smoke test on a few seeded reports: no timing is asserted)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bench import bench_export
from bench.table import Options, Wrong


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


def test_its_rows_say_what_was_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = bench_export.seeded_database(tmp_path, 200)
    monkeypatch.setenv("MINYI_BENCH_EXPORT_DATABASE_URL", url)
    rows = bench_export.rows(Options(quick=True, out=io.StringIO()))
    assert [r.key for r in rows] == ["13 export csv sqlite", "13 export memory sqlite"]
    assert rows[0].figure > 0 and rows[0].baseline and "200 rows, each report once" in rows[0].note


def test_an_export_that_loses_a_row_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = bench_export.seeded_database(tmp_path, 100)
    real = bench_export._first

    def all_but_one(batches: Any, limit: int, counter: Any) -> Any:
        return real(batches, limit - 1, counter)

    monkeypatch.setattr(bench_export, "_first", all_but_one)
    with pytest.raises(Wrong, match="100 reports, but"):
        bench_export.run(url, tmp_path, xlsx=False)
