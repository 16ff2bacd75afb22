"""Migration 0012: each stored adoption level becomes an adoption fact, and the column goes."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import command

from store import migrate
from store.db import make_engine

REPORT = ("INSERT INTO reports (tracking_no, category, title, situation, suggestion, urgency, "
          "anonymous, answers, form, reporter_id, status, review_level, version, created_at, "
          "updated_at, decided_at, adoption_level) VALUES ('{no}', 'livelihood', '路灯', '12 盏', "
          "'建议', 'normal', false, '{{}}', 'report', 1, '{status}', 0, 3, '2026-03-01 08:00:00', "
          "'2026-03-09 08:00:00', {decided}, {level})")
EVENT = ("INSERT INTO report_events (report_id, action, from_status, to_status, user_id, created_at) "
         "VALUES ({report}, '{action}', 'reviewing', 'adopted', 1, '{at}')")


def test_it_copies_each_stored_level_into_an_adoption_and_drops_the_column(db_url: str) -> None:
    migrate.upgrade(db_url, "0010")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO users (username, password_hash, role, active, created_at) "
                "VALUES ('alice', 'x', 'admin', true, CURRENT_TIMESTAMP)")
            conn.exec_driver_sql(
                "INSERT INTO reporters (channel, external_id, chat_id, kind, language, created_at, "
                "topics_opt_in) VALUES ('telegram', '42', '42', 'citizen', 'zh', CURRENT_TIMESTAMP, "
                "false)")
            # 1: adopted by the city and closed; 2: raised to the province later; 3: pending;
            # 4: adopted with no event left (an old import): dated by its decision.
            conn.exec_driver_sql(REPORT.format(no="2026-000001", status="closed",
                                               decided="'2026-03-02 08:00:00'", level="'city'"))
            conn.exec_driver_sql(REPORT.format(no="2026-000002", status="transferred",
                                               decided="'2026-03-02 08:00:00'", level="'province'"))
            conn.exec_driver_sql(REPORT.format(no="2026-000003", status="submitted",
                                               decided="NULL", level="NULL"))
            conn.exec_driver_sql(REPORT.format(no="2026-000004", status="adopted",
                                               decided="'2026-02-20 08:00:00'", level="'county'"))
            conn.exec_driver_sql(EVENT.format(report=1, action="adopt", at="2026-03-02 08:00:00"))
            conn.exec_driver_sql(EVENT.format(report=2, action="adopt", at="2026-03-02 08:00:00"))
            conn.exec_driver_sql(EVENT.format(report=2, action="raise", at="2026-03-05 08:00:00"))
    finally:
        engine.dispose()

    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            rows = conn.execute(sa.text(
                "SELECT report_id, level, adopted_on, event_id, recorded_by_id FROM adoptions "
                "ORDER BY report_id")).all()
            assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
                (1, "city", 1, 1), (2, "province", 3, 1), (4, "county", None, None)]
            assert [str(r[2]) for r in rows] == [str(date(2026, 3, 2)), str(date(2026, 3, 5)),
                                                 str(date(2026, 2, 20))]
            columns = {c["name"] for c in sa.inspect(conn).get_columns("reports")}
            assert "adoption_level" not in columns
            # Migration 0033: each report keeps the rank of its highest adoption (city 1 ...).
            assert conn.exec_driver_sql("SELECT id, adopted_rank FROM reports ORDER BY id").all() == [
                (1, 1), (2, 2), (3, None), (4, 0)]
            assert conn.exec_driver_sql("SELECT count(*) FROM reports").scalar_one() == 4
            names = {n for (n,) in conn.exec_driver_sql("SELECT name FROM upward_destinations")}
            assert {"省政协办公厅", "全国政协办公厅", "市委办公室"} <= names
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()


def test_it_goes_back_to_0010_with_the_highest_level_and_up_again(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO reporters (channel, external_id, chat_id, kind, language, created_at, "
                "topics_opt_in) VALUES ('telegram', '42', '42', 'citizen', 'zh', CURRENT_TIMESTAMP, "
                "false)")
            conn.exec_driver_sql(REPORT.replace(", adoption_level)", ")").replace(", {level})", ")")
                                 .format(no="2026-000001", status="closed", decided="NULL"))
            for level in ("county", "national", "city"):
                conn.exec_driver_sql(
                    "INSERT INTO adoptions (report_id, level, adopted_on, created_at) "
                    f"VALUES (1, '{level}', '2026-03-02', CURRENT_TIMESTAMP)")
        with engine.connect() as conn:
            command.downgrade(migrate._config(conn), "0010")
            conn.commit()
        assert migrate.current(engine) == "0010"
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT adoption_level FROM reports").scalar_one() == "national"
            assert "adoptions" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()

    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT level FROM adoptions")).scalar_one() == "national"
            assert "adoption_level" not in {c["name"] for c in sa.inspect(conn).get_columns("reports")}
    finally:
        engine.dispose()
