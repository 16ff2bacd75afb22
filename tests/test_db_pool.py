"""PostgreSQL connections: no round trip before each unit of work, and a dead one is replaced."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.db import make_engine


@pytest.fixture(autouse=True)
def _postgres_only(db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip("SQLite has no connection to lose")


def test_it_does_not_ping_before_each_unit_of_work(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert engine.pool._pre_ping is False
    finally:
        engine.dispose()


def test_a_connection_closed_under_the_pool_is_replaced_at_checkout(db_url: str) -> None:
    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.connection.dbapi_connection
            assert first is not None
            first.close()  # the driver knows: closed
        with engine.connect() as conn:
            assert conn.scalar(sa.text("select 1")) == 1
            assert conn.connection.dbapi_connection is not first
    finally:
        engine.dispose()
