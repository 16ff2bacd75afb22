"""Issue numbers under concurrent sign-offs: never skipped, never doubled (issue 12, speed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, make_sessionmaker
from store.models import JournalIssue, User
from store.outputs.journal import issues, listing, publishing, series
from store.outputs.journal.issues import JournalError
from tests.domain_support import make_report
from tests.review_support import adopt

WORKERS = 20


def _drafts(session: Session, admin: User, n: int) -> list[int]:
    journal = series.find(session, "社情民意")
    ids = []
    for _ in range(n):
        report = make_report(session)
        adopt(session, report, admin)
        ids.append(issues.compose(session, journal, [report], admin).id)
    session.commit()
    return ids


@pytest.fixture
def wide(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on an engine with a connection for every worker."""
    engine = make_engine(db_url, pool_size=WORKERS + 2)
    yield make_sessionmaker(engine)
    engine.dispose()


def _race(Session_: sessionmaker[Session], admin_id: int, issue_ids: list[int]) -> list[BaseException]:  # noqa: N803
    """Sign each issue off in its own thread and transaction, all released at once."""
    start = threading.Barrier(len(issue_ids))
    errors: list[BaseException] = []

    def sign(issue_id: int) -> None:
        try:
            with Session_() as s, s.begin():
                admin = s.get(User, admin_id)
                issue = listing.issue(s, issue_id)
                start.wait(timeout=30)
                publishing.sign_off(s, issue, admin)
        except BaseException as exc:  # noqa: BLE001  (collected, asserted on below)
            errors.append(exc)

    threads = [threading.Thread(target=sign, args=(i,)) for i in issue_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_it_numbers_twenty_issues_signed_off_at_once_without_gaps_or_doubles(
        db_backend: str, session: Session, wide: sessionmaker[Session], admin: User) -> None:
    if db_backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    ids = _drafts(session, admin, WORKERS)
    errors = _race(wide, admin.id, ids)
    assert errors == []
    session.expire_all()
    rows = session.execute(sa.select(JournalIssue.number, JournalIssue.total_number)
                           .where(JournalIssue.id.in_(ids))).all()
    assert sorted(n for n, _ in rows) == list(range(1, WORKERS + 1))
    assert sorted(t for _, t in rows) == list(range(1, WORKERS + 1))


def test_two_sign_offs_of_one_issue_draw_one_number(
        db_backend: str, session: Session, wide: sessionmaker[Session], admin: User) -> None:
    if db_backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    [issue_id] = _drafts(session, admin, 1)
    errors = _race(wide, admin.id, [issue_id] * 5)
    assert len(errors) == 4 and all(isinstance(e, JournalError) for e in errors)
    session.expire_all()
    assert session.get(JournalIssue, issue_id).number == 1  # type: ignore[union-attr]
    [later] = _drafts(session, admin, 1)
    publishing.sign_off(session, listing.issue(session, later), admin)
    assert listing.issue(session, later).number == 2


def test_a_sign_off_that_rolls_back_gives_its_number_back(
        session: Session, Session_: sessionmaker[Session], admin: User) -> None:  # noqa: N803
    first, second = _drafts(session, admin, 2)
    with Session_() as s:
        publishing.sign_off(s, listing.issue(s, first), s.get(User, admin.id))
        assert listing.issue(s, first).number == 1
        s.rollback()
    with Session_() as s, s.begin():
        publishing.sign_off(s, listing.issue(s, second), s.get(User, admin.id))
    session.expire_all()
    assert listing.issue(session, second).number == 1
    assert listing.issue(session, first).number is None
