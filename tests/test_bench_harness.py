"""`python -m bench` / `minyi bench`: one table from every benchmark, whatever state each is in."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest

from bench import __main__ as harness
from bench import doc
from bench.table import Options, Row, Wrong
from minyi.cli import main as minyi_main

SEEN: list[Options] = []


def _fake(monkeypatch: pytest.MonkeyPatch, name: str, rows: object) -> str:
    """A benchmark module `name` in sys.modules whose rows() is `rows` (None: no rows at all)."""
    module = types.ModuleType(name)
    if rows is not None:
        module.rows = rows  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, name, module)
    return name


def _good(opts: Options) -> list[Row]:
    SEEN.append(opts)
    return [Row("P9 ok", "a good benchmark", 2.0, "s", "≤ 3 s", True, higher_is_better=False,
                note="counted every row")]


def _slow(opts: Options) -> list[Row]:
    return [Row("P9 slow", "a slow benchmark", 5.0, "s", "≤ 3 s", False, higher_is_better=False)]


def _wrong(opts: Options) -> list[Row]:
    raise Wrong("3 reports stored twice")


def _run(argv: list[str], registry: list[tuple[str, str]]) -> tuple[int, str]:
    out = io.StringIO()
    status = harness.main(harness.parse(argv), argv=argv, out=out, registry=registry)
    return status, out.getvalue()


@pytest.fixture(autouse=True)
def _no_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MINYI_BENCH_POSTGRES_URL", "MINYI_TEST_POSTGRES_URL"):
        monkeypatch.delenv(name, raising=False)
    SEEN.clear()


def test_it_lists_a_missing_module_as_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _fake(monkeypatch, "bench_fake_good", _good)
    rowless = _fake(monkeypatch, "bench_fake_rowless", None)
    status, out = _run([], [("P1", "bench.bench_nobody_wrote_yet"), ("P2", rowless), ("P9", good)])
    assert status == 0
    assert "| P1 | bench_nobody_wrote_yet | not available: no such module yet |" in out
    assert "| P2 | bench_fake_rowless | not available: has no rows(opts) yet |" in out
    assert "| P9 ok | a good benchmark | 2 s |" in out
    assert "Traceback" not in out


def test_it_shows_a_wrong_answer_as_a_failed_row_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = _fake(monkeypatch, "bench_fake_wrong", _wrong)
    good = _fake(monkeypatch, "bench_fake_good", _good)
    status, out = _run([], [("P7", wrong), ("P9", good)])
    assert status == 1
    assert "| P7 | bench_fake_wrong | FAILED: wrong output: 3 reports stored twice |" in out
    assert "| P9 ok |" in out  # the others still ran
    assert "1 benchmark(s) FAILED" in out


def test_it_fails_on_a_missed_goal_only_when_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = _fake(monkeypatch, "bench_fake_slow", _slow)
    assert _run([], [("P9", slow)])[0] == 0
    status, out = _run(["--strict"], [("P9", slow)])
    assert status == 1
    assert "| NO |" in out and "1 goal(s) missed" in out


def test_only_picks_by_goal_key_or_module_name() -> None:
    picked = harness.selected("P4,bench_seed")
    assert [m for _, m in picked] == ["bench.bench_posters", "bench.bench_journal",
                                      "bench.bench_bulletin", "bench.bench_seed"]
    assert [m for _, m in harness.selected("bench.bench_search")] == ["bench.bench_search"]
    with pytest.raises(SystemExit, match="unknown benchmark P99"):
        harness.selected("P1,P99")


def test_only_runs_just_the_named(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = _fake(monkeypatch, "bench_fake_wrong", _wrong)
    good = _fake(monkeypatch, "bench_fake_good", _good)
    status, out = _run(["--only", "P9"], [("P7", wrong), ("P9", good)])
    assert status == 0
    assert "P7" not in out and "| P9 ok |" in out


def test_an_unreachable_postgres_is_one_line_and_its_cases_are_skipped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    good = _fake(monkeypatch, "bench_fake_good", _good)
    status, out = _run(["--postgres-url", "postgresql://postgres@127.0.0.1:9/nowhere"], [("P9", good)])
    assert status == 0
    lines = [line for line in out.splitlines() if "PostgreSQL" in line]
    assert len(lines) == 1
    assert "does not answer" in lines[0] and "PostgreSQL cases skipped" in lines[0]
    assert "Traceback" not in out
    assert SEEN[0].postgres_url is None  # the benchmark is told: SQLite only


def test_a_url_that_does_not_parse_is_a_line_too_not_a_traceback() -> None:
    from bench import pg

    assert pg.unreachable("") == "not a PostgreSQL URL: ''"
    assert (pg.unreachable("not a url") or "").startswith("not a PostgreSQL URL")


def test_without_a_postgres_url_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _fake(monkeypatch, "bench_fake_good", _good)
    _, out = _run([], [("P9", good)])
    assert "PostgreSQL: no server given" in out
    assert SEEN[0].postgres_url is None


DOC = """# Benchmarks

Prose the team wrote.

{start}
an old table
{end}

More prose after the table.
"""


def test_write_doc_rewrites_only_between_the_markers(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(DOC.format(start=doc.START, end=doc.END), encoding="utf-8")
    good = _fake(monkeypatch, "bench_fake_good", _good)
    argv = ["--quick", "--write-doc", str(path)]
    assert _run(argv, [("P9", good)])[0] == 0
    text = path.read_text(encoding="utf-8")
    assert "an old table" not in text
    assert text.startswith("# Benchmarks\n\nProse the team wrote.\n\n" + doc.START)
    assert text.endswith(doc.END + "\n\nMore prose after the table.\n")
    body = text.split(doc.START)[1].split(doc.END)[0]
    assert f"Command: `python -m bench {' '.join(argv)}`" in body
    assert "Machine: " in body and " cores, " in body and "SQLite " in body and "Python " in body
    assert "**Quick run**" in body
    assert "| P9 ok | a good benchmark | 2 s |" in body
    assert "- P9 ok, a good benchmark: counted every row" in body
    _run(argv, [("P9", good)])  # twice: still one table
    assert path.read_text(encoding="utf-8").count(doc.START) == 1


def test_write_doc_appends_the_markers_to_a_document_without_them(tmp_path: Path) -> None:
    path = tmp_path / "B.md"
    path.write_text("# Benchmarks\n", encoding="utf-8")
    doc.write(path, "the table")
    assert path.read_text(encoding="utf-8") == f"# Benchmarks\n\n{doc.START}\nthe table\n{doc.END}\n"


def test_minyi_bench_runs_the_same_harness(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    wrong = _fake(monkeypatch, "bench_fake_wrong", _wrong)
    good = _fake(monkeypatch, "bench_fake_good", _good)
    monkeypatch.setattr(harness, "REGISTRY", [("P7", wrong), ("P9", good)])
    assert minyi_main(["bench", "--only", "P9"]) == 0
    assert "| P9 ok |" in capsys.readouterr().out
    assert minyi_main(["bench"]) == 1
    captured = capsys.readouterr()
    assert "FAILED: wrong output" in captured.out
    assert "benchmarks failed" in captured.err


def test_the_registry_names_every_goal_of_issue_16() -> None:
    keys = {key for key, _ in harness.REGISTRY}
    assert {"P1", "P2", "P3", "P4", "P5", "P6"} <= keys
    assert len({m for _, m in harness.REGISTRY}) == len(harness.REGISTRY) == 12


def test_a_benchmark_refuses_a_database_minyi_seed_did_not_fill(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import bench_dashboard, bench_search, seeded
    from bench.table import Options
    from minyi.demo import seed
    from store import migrate
    from store.db import make_engine, make_sessionmaker
    from tests.domain_support import make_report

    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    migrate.upgrade(empty)
    with pytest.raises(SystemExit, match="holds no reports; fill it first"):
        bench_dashboard.main(["--database-url", empty])
    monkeypatch.setenv(bench_search.SQLITE_ENV, empty)  # the search bench is pointed by a variable
    with pytest.raises(SystemExit, match="holds no reports; fill it first"), \
            bench_search.sqlite_database(10, Options(quick=True)):
        pass

    real = f"sqlite:///{tmp_path / 'office.sqlite3'}"
    migrate.upgrade(real)
    engine = make_engine(real)
    with make_sessionmaker(engine)() as s:
        make_report(s)
        s.commit()
    engine.dispose()
    with pytest.raises(SystemExit, match="holds 1 reports that `minyi seed` did not write"):
        bench_dashboard.main(["--database-url", real])
    assert "cannot be read" in (seeded.problem(f"sqlite:///{tmp_path / 'nothing' / 'x.db'}") or "")

    demo = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    migrate.upgrade(demo)
    engine = make_engine(demo)
    seed(engine, 30, index=False)
    engine.dispose()
    assert seeded.problem(demo) is None
