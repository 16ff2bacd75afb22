"""What one search asks the database (issue 16, P3): a clerk's search pays a fixed cost on
every request, so its access rules and its page's snippets are read once, not per use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import Report, Role, User
from store.reports import notes
from store.search import Filters, like_search, search
from tests.conftest import Network, staff
from tests.domain_support import make_report


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL `session`'s engine runs inside the block, one line each."""
    seen: list[str] = []
    engine = session.get_bind()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def test_it_reads_a_clerks_unit_tree_once_per_search(session: Session, network: Network) -> None:
    mine = make_report(session, unit=network.township, title="城关加装电梯")
    make_report(session, unit=network.other_county, title="东山加装电梯")
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    session.rollback()
    for f in (Filters(q="电梯"), Filters(q="电梯", category="livelihood"),
              Filters(q="电梯", sort="relevance")):
        with statements(session) as seen:
            res = search(session, clerk, f)
        assert [h.report.id for h in res.hits] == [mine.id] and res.total == 1
        trees = [s for s in seen if "RECURSIVE" in s.upper()]
        assert len(trees) == 1, trees


def test_a_reach_says_what_the_rules_say_one_by_one(
        session: Session, network: Network, admin: User) -> None:
    people = [admin, staff(session, "county-clerk", Role.CLERK, network.county),
              staff(session, "town-clerk", Role.CLERK, network.township),
              staff(session, "roads", Role.DEPARTMENT, network.roads),
              staff(session, "viewer", Role.VIEWER, network.county)]
    gone = staff(session, "gone", Role.CLERK, network.county)
    gone.active = False
    session.commit()
    for unit in (network.township, network.county, network.other_county, None):
        make_report(session, unit=unit)
    for user in [*people, gone]:
        reached = access.reach(session, user)
        scope, units = reached.scope(), reached.report_units()

        def kept(where: sa.ColumnElement[bool]) -> set[int]:
            return set(session.scalars(sa.select(Report.id).where(where)))

        assert kept(scope) == kept(access.report_scope(session, user)), user.username
        alone = access.report_units(session, user)
        if alone is None:
            assert units is None, user.username
        else:
            assert units is not None and units[0] == alone[0], user.username
            assert (units[1] is None) == (alone[1] is None), user.username


def test_it_reads_the_notes_of_a_page_in_one_query(session: Session, network: Network) -> None:
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    noted = [make_report(session, unit=network.county, title=f"第{n}号", situation="路灯不亮。")
             for n in range(3)]
    titled = make_report(session, unit=network.county, title="王科长来电", situation="路灯不亮。")
    for n, report in enumerate(noted):
        notes.add(session, report, clerk, "已转交。")
        notes.add(session, report, clerk, f"已电话联系住建局王科长 {n}")
        notes.add(session, report, clerk, "王科长已回复。")
    session.commit()

    with statements(session) as seen:
        res = search(session, clerk, Filters(q="王科长"))
    assert res.total == 4
    snippets = {h.report.id: str(h.snippet) for h in res.hits}
    for n, report in enumerate(noted):  # the first note that holds the word, oldest first
        assert snippets[report.id] == f"内部备注：已电话联系住建局<mark>王科长</mark> {n}"
    assert snippets[titled.id] == "路灯不亮。"  # the title matched: the text's start
    assert len([s for s in seen if "report_notes" in s]) == 1, seen
    # LIKE's page shows the same snippets (it shares the page's reading).
    assert {h.report.id: str(h.snippet) for h in like_search(session, clerk, Filters(q="王科长")).hits} \
        == snippets


def test_a_clerks_pages_and_a_page_past_the_end_count_every_match(
        session: Session, network: Network) -> None:
    made = [make_report(session, unit=network.county, title=f"加装电梯第{n}批") for n in range(5)]
    make_report(session, unit=network.other_county, title="东山加装电梯")
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    newest = [r.id for r in reversed(made)]
    pages = [search(session, clerk, Filters(q="电梯", per_page=2, page=n)) for n in (1, 2, 3, 4)]
    assert [[h.report.id for h in p.hits] for p in pages] == \
        [newest[:2], newest[2:4], newest[4:], []]
    assert [p.total for p in pages] == [5, 5, 5, 5]
    assert search(session, clerk, Filters(q="停车", page=2)).total == 0
