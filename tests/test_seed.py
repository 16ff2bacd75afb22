"""`minyi seed`: a realistic network and reports that hold together as the app wrote them."""

from __future__ import annotations

import re
from collections import Counter as Tally
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli import main
from minyi.demo import SeedError, SeedStats, seed
from store import forms, migrate, sealing
from store.db import make_engine, make_sessionmaker
from store.models import (
    Base,
    CollectionPoint,
    Counter,
    Report,
    Reporter,
    ReporterKind,
    ReportEvent,
    ReportNote,
    ReportStatus,
    ReportVersion,
    Transfer,
    Unit,
    UnitKind,
    Urgency,
    User,
)
from store.outputs import adoption
from store.reports import lifecycle
from tests.test_cli import env as cli_env  # noqa: F401  (the clean CLI environment)

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def seeded(Session_: sessionmaker[Session]) -> SeedStats:  # noqa: N803
    return seed(Session_, 2000, seed=7, index=False, now=NOW)


def _count(session: Session, model: type[Base], *where: sa.ColumnElement[bool]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def test_it_writes_a_network_of_units_points_staff_and_reporters(
    seeded: SeedStats, session: Session
) -> None:
    assert 80 <= seeded.units == _count(session, Unit) <= 120
    assert _count(session, Unit, Unit.kind == UnitKind.DEPARTMENT) >= 5
    assert seeded.points == _count(session, CollectionPoint) >= 1000
    orphans = _count(session, CollectionPoint, CollectionPoint.parent_id.is_(None),
                     CollectionPoint.kind != "county")
    assert orphans == 0
    assert _count(session, CollectionPoint, CollectionPoint.unit_id.is_(None)) == 0
    assert seeded.reporters == _count(session, Reporter)
    members = list(session.scalars(sa.select(Reporter).where(Reporter.kind == ReporterKind.MEMBER)))
    assert len(members) == seeded.members
    assert 0.03 <= len(members) / seeded.reporters <= 0.08
    assert all(m.unit_id is not None and m.member_name for m in members)
    assert session.scalar(sa.select(User.role).where(User.username == "seed-admin")) == "admin"


def test_its_reports_grow_in_id_with_their_time_and_number_per_year(
    seeded: SeedStats, session: Session
) -> None:
    rows = session.execute(sa.select(Report.id, Report.created_at, Report.tracking_no)
                           .order_by(Report.id)).all()
    assert len(rows) == seeded.reports == 2000
    times = [r.created_at for r in rows]
    assert times == sorted(times)
    assert (NOW - times[0]).days > 365 * 2 and times[-1] < NOW

    numbers = [r.tracking_no for r in rows]
    assert len(set(numbers)) == len(numbers)
    by_year: dict[str, list[int]] = {}
    for r in rows:
        year, seq = re.fullmatch(r"(\d{4})-(\d{6})", r.tracking_no).groups()  # type: ignore[union-attr]
        assert int(year) == r.created_at.year
        by_year.setdefault(year, []).append(int(seq))
    counters = dict(session.execute(sa.select(Counter.name, Counter.value)).all())
    for year, seqs in by_year.items():
        assert seqs == list(range(1, len(seqs) + 1))
        assert counters[f"report:{year}"] == len(seqs)


def test_its_text_is_varied_and_the_rare_phrase_is_where_it_says(
    seeded: SeedStats, session: Session
) -> None:
    reports = list(session.scalars(sa.select(Report)))
    situations = Tally(r.situation for r in reports)
    assert sum(n - 1 for n in situations.values()) < 0.05 * len(reports)
    assert len({r.title for r in reports}) > 0.3 * len(reports)
    assert all(8 <= len(r.title) <= 30 and 120 <= len(r.situation) <= 420 for r in reports)
    assert all(60 <= len(r.analysis or "") <= 160 and 60 <= len(r.suggestion) <= 160
               for r in reports)
    for word in ("电梯", "养老院", "电动自行车", "5G基站", "12345热线"):
        assert sum(word in r.situation + r.title + r.suggestion for r in reports) >= 5, word

    rare = seeded.words["rare"]
    assert seeded.rare_phrase == rare
    assert _count(session, Report, Report.situation.like(f"%{rare}%")) == seeded.rare_count == 10
    assert _count(session, ReportNote, ReportNote.text.like(f"%{rare}%")) == 0

    categories = {c.value for c in forms.load("report").step("category").choices}
    assert {r.category for r in reports} == categories
    assert 0.05 <= sum(r.urgency is Urgency.URGENT for r in reports) / len(reports) <= 0.15


def test_every_report_belongs_to_its_points_unit_or_its_members(
    seeded: SeedStats, session: Session
) -> None:
    mismatched = session.scalar(
        sa.select(sa.func.count()).select_from(Report)
        .join(CollectionPoint, CollectionPoint.id == Report.point_id)
        .where(Report.unit_id != CollectionPoint.unit_id))
    assert mismatched == 0
    pointless = session.execute(sa.select(Report.unit_id, Reporter.kind, Reporter.unit_id)
                                .join(Reporter, Reporter.id == Report.reporter_id)
                                .where(Report.point_id.is_(None))).all()
    assert pointless
    assert all(kind == ReporterKind.MEMBER and unit == member_unit
               for unit, kind, member_unit in pointless)
    by_members = _count(session, Report, Report.reporter_id.in_(
        sa.select(Reporter.id).where(Reporter.kind == ReporterKind.MEMBER)))
    assert 0.08 <= by_members / seeded.reports <= 0.25


def test_statuses_follow_age_with_the_rows_their_moves_leave(
    seeded: SeedStats, session: Session
) -> None:
    reports = list(session.scalars(sa.select(Report)))
    statuses = Tally(r.status for r in reports)
    assert len(statuses) >= 8
    decided = statuses[ReportStatus.ADOPTED] + statuses[ReportStatus.NOT_ADOPTED] \
        + statuses[ReportStatus.CLOSED]
    assert decided > 0.6 * len(reports)
    levels = adoption.highest_levels(session, [r.id for r in reports])
    for r in reports:
        if r.status in lifecycle.PENDING and r.status is not ReportStatus.REOPENED:
            assert (NOW - r.created_at).days < 90, r.tracking_no
        if r.status is ReportStatus.REVIEWING:
            assert r.review_level in (1, 2)
        if r.status is ReportStatus.MERGED:
            assert r.merged_into_id is not None and r.merged_into_id < r.id
        if r.status in (ReportStatus.ADOPTED, ReportStatus.TRANSFERRED, ReportStatus.HANDLED):
            assert r.id in levels and r.decided_at is not None
        # The report keeps its highest adoption's rank, as `adoption.record` does.
        assert r.adopted_rank == (adoption.rank(levels[r.id]) if r.id in levels else None)

    # Every report was submitted, and its last event leads to its status.
    assert _count(session, ReportEvent, ReportEvent.action == "submit") == len(reports)
    assert _count(session, ReportEvent) == seeded.events
    last = dict(session.execute(
        sa.select(ReportEvent.report_id, ReportEvent.to_status)
        .where(ReportEvent.id.in_(sa.select(sa.func.max(ReportEvent.id))
                                  .group_by(ReportEvent.report_id)))).all())
    assert all(last[r.id] == r.status.value for r in reports)
    versions = _count(session, ReportVersion, ReportVersion.number == 1)
    assert versions == len(reports)

    open_transfers = session.execute(sa.select(Transfer.report_id, Transfer.due_at)
                                     .where(Transfer.status == "open")).all()
    assert {rid for rid, _ in open_transfers} == \
        {r.id for r in reports if r.status is ReportStatus.TRANSFERRED}
    assert sum(due < NOW for _, due in open_transfers) == seeded.overdue > 0
    assert _count(session, Transfer) == seeded.transfers
    assert _count(session, ReportNote) == seeded.notes > 0
    assert seeded.with_topic == _count(session, Report, Report.topic_id.is_not(None)) > 0


def test_a_seeded_report_moves_on_through_the_lifecycle(
    seeded: SeedStats, session: Session
) -> None:
    admin = session.scalar(sa.select(User).where(User.username == "seed-admin"))
    report = session.scalar(sa.select(Report).where(Report.status == ReportStatus.SUBMITTED)
                            .order_by(Report.id.desc()).limit(1))
    assert admin is not None and report is not None

    lifecycle.apply(session, report, lifecycle.Action.SIGN_OFF, user=admin)
    session.commit()

    assert report.status is ReportStatus.REVIEWING and report.review_level == 1


def test_ids_chosen_in_bulk_leave_the_sequences_ahead(
    seeded: SeedStats, session: Session, db_backend: str
) -> None:
    if db_backend != "postgresql":
        pytest.skip("SQLite takes the next rowid itself")
    for table in ("reports", "reporters"):
        top = session.scalar(sa.text(f"SELECT max(id) FROM {table}"))
        following = session.scalar(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"))
        assert following == top + 1


def test_it_refuses_a_database_that_has_reports(Session_: sessionmaker[Session]) -> None:  # noqa: N803
    seed(Session_, 30, index=False)

    with pytest.raises(SeedError, match="already holds 30 reports"):
        seed(Session_, 30, index=False)


def test_the_same_seed_gives_the_same_reports(tmp_path: Path) -> None:
    titles = []
    for name in ("a", "b"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.sqlite3")
        Base.metadata.create_all(engine)
        seed(engine, 200, seed=3, index=False, now=NOW)
        with make_sessionmaker(engine)() as s:
            titles.append(list(s.scalars(sa.select(Report.situation).order_by(Report.id))))
        engine.dispose()
    assert titles[0] == titles[1]


def test_it_builds_the_search_index_that_finds_the_planted_phrase(db_url: str) -> None:
    search = pytest.importorskip("store.search")
    engine = make_engine(db_url)  # the index's tables come with the schema once store.search is in
    Base.metadata.create_all(engine)
    Session_ = make_sessionmaker(engine)  # noqa: N806
    try:
        stats = seed(Session_, 300, now=NOW)
        with Session_() as s:
            admin = s.scalar(sa.select(User).where(User.username == "seed-admin"))
            found = search.search(s, admin, search.Filters(q=stats.rare_phrase))
    finally:
        engine.dispose()

    assert stats.indexed == 300
    assert found.total == stats.rare_count == 3


# -- the command -----------------------------------------------------------------


def test_the_command_refuses_a_database_that_has_reports(
    cli_env: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    migrate.upgrade(cli_env)
    engine = make_engine(cli_env)
    seed(engine, 20, index=False)
    engine.dispose()

    assert main(["seed", "--reports", "100"]) == 1

    assert "already holds 20 reports" in capsys.readouterr().err
    engine = make_engine(cli_env)
    with make_sessionmaker(engine)() as s:
        assert _count(s, Report) == 20
    engine.dispose()


def test_the_command_sets_up_and_fills_an_empty_database(
    cli_env: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    pytest.importorskip("store.search")

    assert main(["seed", "--reports", "120", "--seed", "5", "--database-url", cli_env]) == 0

    captured = capsys.readouterr()
    assert "120 reports written" in captured.out
    assert "120/120" in captured.err
    engine = make_engine(cli_env)
    assert migrate.current(engine) == migrate.head()
    with make_sessionmaker(engine)() as s:
        assert _count(s, Report) == 120
    engine.dispose()


def test_the_command_without_a_data_key_says_how_to_get_one_and_writes_nothing(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.delenv("MINYI_DATA_KEY", raising=False)
    sealing.install(None)  # as on a machine where `minyi init` never ran

    assert main(["seed", "--reports", "50", "--database-url", cli_env]) == 1

    err = capsys.readouterr().err
    assert "minyi keys new" in err and "Traceback" not in err
    engine = make_engine(cli_env)
    assert migrate.current(engine) is None  # refused before the database was touched
    engine.dispose()


def test_on_postgresql_the_seeded_tables_are_vacuumed_so_counts_can_skip_the_rows(
    Session_: sessionmaker[Session], session: Session, db_backend: str  # noqa: N803
) -> None:
    if db_backend != "postgresql":
        pytest.skip("SQLite has no visibility map")
    seed(Session_, 300, seed=3, now=NOW)
    # A vacuum marks pages all-visible, which lets an index-only count skip the table (the
    # inbox's counts, a search's total). How many it marks depends on the server's oldest
    # open snapshot, so the test asks only that it ran.
    vacuumed = {name: done for name, done in session.execute(sa.text(
        "SELECT relname, last_vacuum IS NOT NULL FROM pg_stat_user_tables "
        "WHERE relid IN (to_regclass('reports'), to_regclass('report_search'), "
        "to_regclass('report_events'))"))}
    assert vacuumed == {"reports": True, "report_search": True, "report_events": True}
