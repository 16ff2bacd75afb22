"""Migration 0010: a migrated database takes WeChat reporters and conversations, and goes back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext

from store import migrate
from store.db import make_engine
from store.models import Conversation, Reporter


def test_a_migrated_database_accepts_the_wechat_channel(db_url: str) -> None:
    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            reporter_id = conn.execute(sa.insert(Reporter.__table__).values(
                channel="wechat", external_id="oA", chat_id="oA", kind="citizen", language="zh",
                created_at=sa.func.now())).inserted_primary_key[0]
            conn.execute(sa.insert(Conversation.__table__).values(
                channel="wechat", external_id="oA", reporter_id=reporter_id, form="report",
                mode="idle", answers={}, context={}, turn=0, updated_at=sa.func.now()))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.insert(Reporter.__table__).values(
                channel="fax", external_id="x", chat_id="x", kind="citizen", language="zh",
                created_at=sa.func.now()))
    finally:
        engine.dispose()


def test_it_upgrades_a_database_with_reports_in_it(db_url: str) -> None:
    """Reporters are referenced by reports: the channel CHECK must change without copying tables."""
    migrate.upgrade(db_url, "0009")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO reporters (channel, external_id, chat_id, kind, language, created_at, "
                "topics_opt_in) VALUES ('telegram', '42', '42', 'citizen', 'zh', CURRENT_TIMESTAMP, "
                "false)")
            conn.exec_driver_sql(
                "INSERT INTO reports (tracking_no, category, title, situation, suggestion, urgency, "
                "anonymous, answers, form, reporter_id, status, review_level, version, created_at, "
                "updated_at) VALUES ('2026-000001', 'livelihood', '老旧小区加装电梯', '12 个小区', '建议', "
                "'normal', false, '{}', 'report', 1, 'submitted', 0, 1, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            conn.exec_driver_sql(
                "INSERT INTO outbox (reporter_id, channel, chat_id, text, status, attempts, "
                "next_attempt_at, created_at) VALUES (1, 'telegram', '42', '已采用', 'pending', 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    finally:
        engine.dispose()

    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(Reporter.__table__).values(
                channel="wechat", external_id="oA", chat_id="oA", kind="citizen", language="zh",
                created_at=sa.func.now()))
            assert conn.exec_driver_sql("SELECT count(*) FROM reports").scalar_one() == 1
            assert conn.exec_driver_sql("SELECT channel FROM outbox").scalar_one() == "telegram"
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO outbox (reporter_id, channel, chat_id, text, status, attempts, "
                "next_attempt_at, created_at) VALUES (1, 'fax', '42', 'x', 'pending', 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    finally:
        engine.dispose()


def test_it_downgrades_to_0009_and_up_again(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            command.downgrade(migrate._config(conn), "0009")
            conn.commit()
        assert migrate.current(engine) == "0009"
        assert "wechat_inbox" not in sa.inspect(engine).get_table_names()
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            # Plain SQL: today's model has columns (and Python-side defaults) 0009 lacks.
            conn.exec_driver_sql(
                "INSERT INTO reporters (channel, external_id, chat_id, kind, language, created_at) "
                "VALUES ('wechat', 'x', 'x', 'citizen', 'zh', CURRENT_TIMESTAMP)")
    finally:
        engine.dispose()

    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == migrate.head()
        assert {"channel_state", "wechat_tokens", "wechat_inbox"} <= set(
            sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
