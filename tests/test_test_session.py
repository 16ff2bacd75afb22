"""The tests' own session: after it committed, it reads what the app committed since.

A test arranges rows and commits, the code under test changes them in sessions
of its own, and the test reads them back. The app's sessions keep their objects
on commit (`store.db.make_sessionmaker`), and so does the test's; a `rollback()`
that has no transaction to end would expire nothing, and the read could be
answered from memory. The test's session expires all on every rollback.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from store.models import CollectionPoint, Report
from tests.domain_support import make_report


def test_a_row_the_app_changed_after_the_tests_commit_is_read_fresh(
    session: Session, Session_: sessionmaker[Session], point: CollectionPoint,
) -> None:
    report = make_report(session, point)
    session.commit()
    assert [e.action for e in report.events] == ["submit"]  # loaded, and held below
    with Session_() as app:
        app.get_one(Report, report.id).title = "改过的标题"
        app.commit()
    session.rollback()  # no transaction since the commit: this alone expires nothing
    again = session.get_one(Report, report.id)
    assert again is report  # the same object, still in memory
    assert again.title == "改过的标题"
