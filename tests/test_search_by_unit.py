"""A unit's staff search within their units (issue 16): on PostgreSQL the index itself keeps
to those units, so it must follow every report's unit and still find what was sent up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import CollectionPoint, ReportStatus, Role, User
from store.network.pointedit import adopt_reports
from store.outputs import destinations, upward
from store.reports import queries
from store.search import Filters, count, index, like_search, matching, search, text
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


def found(session: Session, user: User, q: str) -> set[int]:
    session.rollback()
    res = search(session, user, Filters(q=q, per_page=100))
    like = like_search(session, user, Filters(q=q, per_page=100))
    hits = {h.report.id for h in res.hits}
    assert (res.total, hits) == (like.total, {h.report.id for h in like.hits}), q
    return hits


def test_it_finds_a_units_reports_and_never_another_units(session: Session, network: Network) -> None:
    mine = make_report(session, unit=network.township, title="城关加装电梯")
    above = make_report(session, unit=network.county, title="县城加装电梯")
    theirs = make_report(session, unit=network.other_county, title="东山加装电梯")
    nowhere = make_report(session, title="无单位加装电梯")
    town = staff(session, "town-clerk", Role.CLERK, network.township)
    county = staff(session, "county-clerk", Role.CLERK, network.county)

    assert found(session, town, "电梯") == {mine.id}
    assert found(session, county, "加装电梯") == {mine.id, above.id}
    assert found(session, staff(session, "top", Role.ADMIN), "电梯") == \
        {mine.id, above.id, theirs.id, nowhere.id}


def test_a_report_given_a_unit_is_found_by_that_units_clerk(session: Session, network: Network) -> None:
    point = CollectionPoint(name="新设点")
    session.add(point)
    session.flush()
    report = make_report(session, point=point, title="新点位反映停车难")
    clerk = staff(session, "town-clerk", Role.CLERK, network.township)
    assert found(session, clerk, "停车难") == set()

    # A plain UPDATE of reports.unit_id, which the ORM's flush hook never sees.
    assert adopt_reports(session, [point.id], network.township.id) == 1
    session.commit()

    assert found(session, clerk, "停车难") == {report.id}
    if session.get_bind().dialect.name == "postgresql":
        unit = session.scalar(sa.text(f"SELECT unit_id FROM {index.PG_TABLE} WHERE report_id = :id"),
                              {"id": report.id})
        assert unit == network.township.id


def test_a_report_sent_up_is_found_by_the_unit_that_received_it(
        session: Session, network: Network, admin: User) -> None:
    report = make_report(session, unit=network.other_county, title="东山水库渗漏")
    adopt(session, report, admin)
    session.commit()
    dest = destinations.create(session, "城关县政协", "county", unit_id=network.county.id)
    sender = staff(session, "other-sg", Role.SECRETARY_GENERAL, network.other_county)
    upward.send(session, report, dest, user=sender)
    session.commit()
    receiver = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)

    assert found(session, receiver, "水库渗漏") == {report.id}
    assert found(session, staff(session, "town-clerk", Role.CLERK, network.township), "水库") == set()
    assert search(session, receiver, Filters(q="水库", sort="relevance")).total == 1


def test_upgrading_to_0032_gives_the_indexed_reports_their_units(db_url: str) -> None:
    from store import migrate
    from store.db import make_engine, make_sessionmaker

    migrate.upgrade(db_url, "0029")
    engine = make_engine(db_url)
    postgres = engine.dialect.name == "postgresql"
    with make_sessionmaker(engine)() as s, s.begin():
        # Plain SQL: the flush hook writes the index as the newest revision has it.
        s.execute(sa.text("INSERT INTO units (name, kind, created_at) "
                          "VALUES ('城关县政协', 'cppcc', CURRENT_TIMESTAMP)"))
        _file_one_in_unit_1(s)
        if postgres:
            s.execute(sa.text("INSERT INTO report_search (report_id, doc) VALUES (1, '电梯:1A')"))
    migrate.upgrade(db_url)
    with make_sessionmaker(engine)() as s:
        if postgres:
            assert s.scalar(sa.text("SELECT unit_id FROM report_search WHERE report_id = 1")) == 1
            assert s.scalar(sa.text("SELECT count(*) FROM pg_indexes "
                                    "WHERE indexname = 'ix_report_search_unit_doc' "
                                    "AND schemaname = current_schema()")) == 1
        else:
            index.rebuild(s)
        clerk = User(username="c", password_hash="x", role=Role.CLERK, active=True, unit_id=1)
        assert search(s, clerk, Filters(q="电梯")).total == 1
    engine.dispose()


def _file_one_in_unit_1(s: Session) -> None:
    """A citizen's report 「老旧小区加装电梯」 in unit 1, in plain SQL: the flush hook would write
    the index as the newest revision has it, not as the revision under test does."""
    s.execute(sa.text("INSERT INTO reporters (channel, external_id, chat_id, kind, language, "
                      "created_at, topics_opt_in) VALUES ('web', 'x', 'x', 'citizen', 'zh', "
                      "CURRENT_TIMESTAMP, false)"))
    s.execute(sa.text(
        "INSERT INTO reports (tracking_no, category, title, situation, suggestion, urgency, "
        "anonymous, answers, form, reporter_id, status, review_level, version, created_at, "
        "updated_at, unit_id) VALUES ('2026-000001', 'livelihood', '老旧小区加装电梯', "
        "'12 个小区', '建议', 'normal', false, '{}', 'report', 1, 'submitted', 0, 1, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))


def test_upgrading_to_0034_keeps_sqlites_index_and_gives_it_units(db_url: str) -> None:
    from store import migrate
    from store.db import make_engine, make_sessionmaker

    migrate.upgrade(db_url, "0033")
    engine = make_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    with make_sessionmaker(engine)() as s, s.begin():
        s.execute(sa.text("INSERT INTO units (name, kind, created_at) VALUES "
                          "('城关县政协', 'cppcc', CURRENT_TIMESTAMP), "
                          "('东山县政协', 'cppcc', CURRENT_TIMESTAMP)"))
        _file_one_in_unit_1(s)
        # As 0033's index held it (plain SQL: the flush hook writes the newest revision's).
        if sqlite:
            s.execute(sa.text("INSERT INTO report_fts (rowid, title, body, notes) "
                              "VALUES (1, '老旧 旧小 小区 区加 加装 装电 电梯 梯', '', '')"))
        else:
            s.execute(sa.text("INSERT INTO report_search (report_id, unit_id, doc) "
                              "VALUES (1, 1, '电梯:7A')"))
    migrate.upgrade(db_url)
    clerk = User(username="c", password_hash="x", role=Role.CLERK, active=True, unit_id=1)
    other = User(username="d", password_hash="x", role=Role.CLERK, active=True, unit_id=2)
    with make_sessionmaker(engine)() as s:
        if sqlite:
            assert s.scalar(sa.text("SELECT unit FROM report_fts WHERE rowid = 1")) == "u1"
        assert search(s, clerk, Filters(q="电梯")).total == 1
        assert search(s, other, Filters(q="电梯")).total == 0
        # The index follows a plain UPDATE of the report's unit.
        s.execute(sa.text("UPDATE reports SET unit_id = 2 WHERE id = 1"))
        assert search(s, clerk, Filters(q="电梯")).total == 0
        assert search(s, other, Filters(q="电梯")).total == 1
    engine.dispose()


def test_chinese_words_name_no_column_and_latin_ones_never_match_a_unit(
        session: Session, network: Network, admin: User) -> None:
    # SQLite: a staff query of Chinese words alone cannot meet the `unit` column's Latin
    # tokens, so its MATCH names no column (FTS5 then skips reading where each match lies).
    assert matching.fts5_words(text.parse("电梯 养老院"), True) == '("电梯" AND "养老 老院")'
    assert matching.fts5_words(text.parse("电梯"), False) == '{title body} : ("电梯")'
    assert matching.fts5_words(text.parse("电梯 u1"), True).startswith("{title body notes} : ")
    mine = make_report(session, unit=network.township, title="城关加装电梯")
    clerk = staff(session, "town-clerk", Role.CLERK, network.township)
    token = index.unit_token(network.township.id)
    for user in (clerk, admin):
        assert found(session, user, "电梯") == {mine.id}
        assert found(session, user, token) == set()  # a word never matches the unit token
        assert found(session, user, f"电梯 {token}") == set()
        assert found(session, user, token[0]) == set()


def test_a_report_both_filed_and_received_by_a_unit_is_counted_once(
        session: Session, network: Network, admin: User) -> None:
    # The scope's two clauses (the unit's reports, what was sent up to it) are counted
    # apart, each on its own index (`access.disjoint`): one that is in both counts once.
    own = make_report(session, unit=network.township, title="城关镇水库渗漏")
    sent = make_report(session, unit=network.other_county, title="东山水库渗漏")
    for report in (own, sent):
        adopt(session, report, admin)
    session.commit()
    dest = destinations.create(session, "城关县政协", "county", unit_id=network.county.id)
    upward.send(session, own, dest, user=staff(session, "town-sg", Role.SECRETARY_GENERAL,
                                                network.township))
    upward.send(session, sent, dest, user=staff(session, "other-sg", Role.SECRETARY_GENERAL,
                                                 network.other_county))
    session.commit()
    county = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)
    session.rollback()

    counts = queries.status_counts(session, county)
    assert sum(counts.values()) == 2 and counts[ReportStatus.ADOPTED] == 2
    filtered = Filters(status=("adopted",), category="livelihood", per_page=100)
    assert search(session, county, filtered).total == 2
    assert like_search(session, county, filtered).total == 2
    assert count(session, county, filtered) == 2


def test_upgrading_to_0036_gives_postgresqls_index_its_trigrams(db_url: str) -> None:
    from alembic import command

    from store import migrate
    from store.db import make_engine, make_sessionmaker

    migrate.upgrade(db_url, "0035")
    engine = make_engine(db_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite's FTS5 keeps positions in its index; 0036 leaves it alone")
    with make_sessionmaker(engine)() as s, s.begin():
        s.execute(sa.text("INSERT INTO units (name, kind, created_at) "
                          "VALUES ('城关县政协', 'cppcc', CURRENT_TIMESTAMP)"))
        _file_one_in_unit_1(s)
        # The title as 0035's index held it: bigrams only.
        s.execute(sa.text("INSERT INTO report_search (report_id, unit_id, doc) VALUES (1, 1, "
                          "'老旧:1A 旧小:2A 小区:3A 区加:4A 加装:5A 装电:6A 电梯:7A 梯:8A')"))
    migrate.upgrade(db_url)
    with make_sessionmaker(engine)() as s:
        def lexemes(column: str) -> set[str]:
            return set(s.scalars(sa.text(f"SELECT lexeme FROM report_search, unnest({column}) "
                                         "WHERE report_id = 1")))

        assert {"加装电", "装电梯"} <= lexemes("grams") and "电梯" not in lexemes("grams")
        assert "电梯" in lexemes("doc") and "加装电" not in lexemes("doc")
        assert s.scalar(sa.text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_report_search_unit_doc' "
            "AND schemaname = current_schema()")).endswith("USING gin (unit_id, doc, grams)")
        admin = User(username="a", password_hash="x", role=Role.ADMIN, active=True)
        clerk = User(username="c", password_hash="x", role=Role.CLERK, active=True, unit_id=1)
        for user in (admin, clerk):
            assert search(s, user, Filters(q="加装电梯")).total == 1
            assert search(s, user, Filters(q="区加装")).total == 1
            assert search(s, user, Filters(q="电梯 区加装", sort="relevance")).total == 1
    with engine.connect() as conn:
        command.downgrade(migrate._config(conn), "0035")
        conn.commit()
    with make_sessionmaker(engine)() as s:
        assert s.scalar(sa.text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_report_search_unit_doc' "
            "AND schemaname = current_schema()")).endswith("USING gin (unit_id, doc)")
        assert s.scalar(sa.text("SELECT doc @@ '电梯'::tsquery FROM report_search"))
    engine.dispose()


def test_upgrading_to_0037_gives_postgresqls_index_each_reports_long_runs(db_url: str) -> None:
    """0037 adds `report_runs`, where a word of four characters or more is checked whole,
    and fills it for the reports already filed; downgrading drops it."""
    from alembic import command

    from store import migrate
    from store.db import make_engine, make_sessionmaker

    migrate.upgrade(db_url, "0036")
    engine = make_engine(db_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite's FTS5 keeps positions in its index; 0037 leaves it alone")

    def runs_table(s: Session) -> str | None:
        return s.scalar(sa.text(f"SELECT to_regclass('{index.PG_RUNS}')::text"))

    with make_sessionmaker(engine)() as s, s.begin():
        assert runs_table(s) is None
        s.execute(sa.text("INSERT INTO units (name, kind, created_at) "
                          "VALUES ('城关县政协', 'cppcc', CURRENT_TIMESTAMP)"))
        _file_one_in_unit_1(s)
    migrate.upgrade(db_url)
    with make_sessionmaker(engine)() as s:
        assert s.execute(sa.text(f"SELECT runs, note_runs FROM {index.PG_RUNS}")).all() == [
            ("老旧小区加装电梯", "")]
        admin = User(username="a", password_hash="x", role=Role.ADMIN, active=True)
        clerk = User(username="c", password_hash="x", role=Role.CLERK, active=True, unit_id=1)
        for user in (admin, clerk):
            assert search(s, user, Filters(q="小区加装电梯")).total == 1
            assert search(s, user, Filters(q="小区电梯")).total == 0
    with engine.connect() as conn:
        command.downgrade(migrate._config(conn), "0036")
        conn.commit()
    with make_sessionmaker(engine)() as s:
        assert runs_table(s) is None
    engine.dispose()
