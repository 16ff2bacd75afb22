"""The journal benchmark exports a 30-item issue and checks both files (no timing is asserted)."""

from __future__ import annotations

import pytest

from bench import bench_journal
from bench.table import Options, Wrong


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the benchmark makes its own SQLite file")


def test_it_exports_the_issue_and_checks_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    files: dict[str, bytes] = {}
    real = bench_journal.check

    def keep(docx: bytes, pdf: bytes, n: int) -> int:
        files.update(docx=docx, pdf=pdf)
        return real(docx, pdf, n)

    monkeypatch.setattr(bench_journal, "check", keep)
    [row] = bench_journal.rows(Options(quick=True))
    assert row.key == "P4 journal" and row.unit == "CPU s" and row.figure > 0
    assert "all 30 items" in row.note and "pages" in row.note
    # A file short of an item is refused.
    with pytest.raises(Wrong, match="lacks items"):
        real(files["docx"], files["pdf"], 31)
    with pytest.raises(Exception):  # noqa: B017 - not a .docx at all
        real(b"PK not a document", files["pdf"], 30)
