"""Migration 0020: chats already bound as members become roster entries; reports get a source."""

from __future__ import annotations

import sqlalchemy as sa

from store import migrate
from store.db import make_engine

REPORTER = ("INSERT INTO reporters (channel, external_id, chat_id, kind, language, created_at, "
            "topics_opt_in, member_name, member_role, unit_id) VALUES ('telegram', '{ext}', '{ext}', "
            "'{kind}', 'zh', '2026-01-05 08:00:00', false, {name}, {role}, {unit})")
REPORT = ("INSERT INTO reports (tracking_no, category, title, situation, suggestion, urgency, "
          "anonymous, answers, form, reporter_id, status, review_level, version, created_at, "
          "updated_at) VALUES ('{no}', 'livelihood', '路灯', '12 盏', '建议', 'normal', false, "
          "'{{}}', 'report', {reporter}, 'submitted', 0, 1, '2026-03-01 08:00:00', "
          "'2026-03-01 08:00:00')")


def test_it_builds_the_roster_from_bound_chats_and_backfills_sources(db_url: str) -> None:
    migrate.upgrade(db_url, "0017")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO units (name, kind, created_at) "
                                 "VALUES ('城关县政协', 'cppcc', '2026-01-01 00:00:00')")
            # 1: a member, 2: an informant, 3: a citizen.
            conn.exec_driver_sql(REPORTER.format(ext="11", kind="member", name="'王委员'",
                                                 role="'member'", unit=1))
            conn.exec_driver_sql(REPORTER.format(ext="12", kind="member", name="'李信息员'",
                                                 role="'informant'", unit="NULL"))
            conn.exec_driver_sql(REPORTER.format(ext="13", kind="citizen", name="NULL",
                                                 role="NULL", unit="NULL"))
            conn.exec_driver_sql(
                "INSERT INTO binding_codes (code, name, role, unit_id, expires_at, used_at, "
                "reporter_id, created_at) VALUES ('ABCDEFGH', '王委员', 'member', 1, "
                "'2026-01-09 00:00:00', '2026-01-05 08:00:00', 1, '2026-01-02 00:00:00')")
            for i, reporter in enumerate((1, 1, 2, 3), start=1):
                conn.exec_driver_sql(REPORT.format(no=f"2026-00000{i}", reporter=reporter))
    finally:
        engine.dispose()

    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            members = conn.execute(sa.text(
                "SELECT id, name, role, unit_id, yearly_target, active FROM members ORDER BY id")).all()
            assert [tuple(m[1:4]) + (m[4], bool(m[5])) for m in members] == [
                ("王委员", "member", 1, 2, True), ("李信息员", "informant", None, 2, True)]
            wang, li = members[0][0], members[1][0]
            assert conn.execute(sa.text("SELECT member_id FROM reporters ORDER BY id")).scalars().all() \
                == [wang, li, None]
            assert conn.execute(sa.text("SELECT member_id FROM binding_codes")).scalar() == wang
            assert conn.execute(sa.text(
                "SELECT source, member_id, source_ref FROM reports ORDER BY id")).all() == [
                ("member", wang, None), ("member", wang, None), ("informant", li, None),
                ("citizen", None, None)]
            # A source outside the list is refused by the column's check, as create_all makes it.
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("UPDATE reports SET source = 'rumour' WHERE id = 1")
                refused = False
            except sa.exc.IntegrityError:
                refused = True
            assert refused
    finally:
        engine.dispose()
