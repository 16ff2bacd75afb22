"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import migrate
from store.db import make_engine
from store.models import Base, Report, Reporter, ReportStatus, Role, User


def test_it_upgrades_an_empty_database_to_the_models(db_url: str) -> None:
    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                          "include_name": migrate.include_name})
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


def test_a_migrated_database_accepts_every_status_and_role(db_url: str) -> None:
    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            reporter_id = conn.execute(sa.insert(Reporter.__table__).values(
                channel="web", external_id="x", chat_id="x", kind="citizen", language="zh",
                created_at=sa.func.now())).inserted_primary_key[0]
            for n, status in enumerate(ReportStatus):
                conn.execute(sa.insert(Report.__table__).values(
                    tracking_no=f"2026-{n:06d}", category="c", title="t", situation="s",
                    suggestion="s", urgency="normal", anonymous=False, answers={}, form="report",
                    reporter_id=reporter_id, status=status.value, version=1,
                    created_at=sa.func.now(), updated_at=sa.func.now()))
            for role in Role:
                conn.execute(sa.insert(User.__table__).values(
                    username=role.value, password_hash="x", role=role.value, active=True,
                    created_at=sa.func.now()))
        with engine.connect() as conn:
            stored = set(conn.scalars(sa.text("SELECT status FROM reports")))
            roles = set(conn.scalars(sa.text("SELECT role FROM users")))
        assert stored == {s.value for s in ReportStatus}
        assert roles == {r.value for r in Role}
        # ... and the constraints are there to refuse what is not a value.
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.insert(User.__table__).values(
                username="bad", password_hash="x", role="mayor", active=True,
                created_at=sa.func.now()))
    finally:
        engine.dispose()
