"""The web-scale benchmark runs at quick size and checks itself (no speed is asserted).

It needs PostgreSQL (MINYI_TEST_POSTGRES_URL or MINYI_BENCH_POSTGRES_URL) and
starts `minyi web` twice, so it is an end-to-end test.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from bench import bench_web_scale, pg
from bench.table import Options, Wrong
from store.models import Base

pytestmark = pytest.mark.e2e


@pytest.fixture
def pg_url() -> str:
    url = pg.configured()
    if url is None:
        pytest.skip("PostgreSQL is not configured (MINYI_TEST_POSTGRES_URL)")
    reason = pg.unreachable(url)
    if reason is not None:
        pytest.skip(reason)
    return url


def test_it_files_reports_with_one_and_three_workers_and_finds_each_receipt_stored(pg_url: str) -> None:
    out = io.StringIO()
    [row] = bench_web_scale.rows(Options(quick=True, postgres_url=pg_url, out=out))
    assert row.baseline and row.figure, row
    assert "each exactly one stored report" in row.note and "load generator" in row.note
    assert "1 worker(s)" in out.getvalue() and "3 worker(s)" in out.getvalue()


def test_its_check_refuses_a_receipt_without_a_stored_report(pg_url: str) -> None:
    with pg.fresh(pg_url) as url:
        engine = sa.create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        run = bench_web_scale.Run(1, 1, 1.0, 0.0, 0.0, 0.0, 14, ["2026-000001"])
        with pytest.raises(Wrong, match="1 receipts without a report"):
            bench_web_scale.check(url, [run])
        bench_web_scale.check(url, [])  # nothing given, nothing stored
