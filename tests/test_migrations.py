"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import migrate
from store.db import make_engine
from store.models import Base


def test_it_upgrades_an_empty_database_to_the_models(db_url: str) -> None:
    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
        assert migrate.current(engine) == migrate.head()
        tables = set(sa.inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_it_upgrades_twice_without_harm(db_url: str) -> None:
    migrate.upgrade(db_url)
    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_it_enforces_enum_checks_like_create_all(db_url: str) -> None:
    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        checks = {c["name"] for c in sa.inspect(engine).get_check_constraints("reports")}
        assert "ck_reports_reportstatus" in checks
    finally:
        engine.dispose()
