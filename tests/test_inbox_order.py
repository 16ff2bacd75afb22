"""The inbox order: urgent pending reports first, then everything newest first, across pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from store.models import Report, User
from store.reports import queries as reports
from tests.domain_support import make_report
from tests.review_support import adopt


def test_urgent_pending_come_first_and_pages_neither_repeat_nor_skip(session: Session,
                                                                   admin: User) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made: list[Report] = []
    for i in range(23):
        made.append(make_report(session, urgent=i in (2, 9, 15, 20),
                                created_at=start + timedelta(hours=i)))
    adopt(session, made[20], admin)  # urgent, but decided: it takes its place by date
    session.commit()
    urgent_pending = [made[15].id, made[9].id, made[2].id]
    rest = [r.id for r in reversed(made) if r.id not in urgent_pending]
    seen: list[int] = []
    for page in range(1, 6):
        rows, total = reports.page(session, admin, page=page, per_page=5)
        assert total == 23
        seen += [r.id for r in rows]
    assert seen == urgent_pending + rest
    assert reports.page(session, admin, page=6, per_page=5)[0] == []


def test_the_inbox_marks_reports_whose_transfer_is_overdue(client, session: Session,  # noqa: ANN001
                                                           admin: User, network) -> None:  # noqa: ANN001
    from store.review import transfers
    from tests.web_support import login

    late = make_report(session, title="转办逾期的那条")
    fine = make_report(session, title="按期办理的那条")
    for r in (late, fine):
        adopt(session, r, admin)
        transfers.transfer(session, r, admin, department=network.roads, due_days=5, escalate_days=3)
    session.flush()
    transfers.for_report(session, late)[0].due_at = datetime.now(UTC) - timedelta(hours=1)
    session.commit()
    login(client, "alice")
    html = client.get("/reports").get_data(as_text=True)
    rows = {title: row for row in html.split("<tr")[1:] for title in ("转办逾期的那条", "按期办理的那条")
            if title in row}
    assert "badge overdue" in rows["转办逾期的那条"]
    assert "badge overdue" not in rows["按期办理的那条"]


def test_my_queue_is_urgent_first_then_oldest_first_across_pages(session: Session,
                                                                 clerk: User) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [make_report(session, urgent=i in (4, 7), created_at=start + timedelta(hours=i))
            for i in range(9)]
    session.commit()
    seen: list[int] = []
    for page in range(1, 4):
        rows, total = reports.my_queue(session, clerk, page=page, per_page=4)
        assert total == 9
        seen += [r.id for r in rows]
    assert seen == [made[4].id, made[7].id] + [r.id for r in made if r not in (made[4], made[7])]
    assert reports.queue_count(session, clerk) == 9


def test_a_units_own_and_received_reports_merge_newest_first_across_pages(
        session: Session, admin: User, network) -> None:  # noqa: ANN001
    from store.models import Role
    from store.outputs import destinations, upward
    from tests.conftest import staff

    start = datetime(2026, 1, 1, tzinfo=UTC)
    dest = destinations.create(session, "城关县政协", "county", unit_id=network.county.id)
    senders = {network.other_county.id: staff(session, "other-sg", Role.SECRETARY_GENERAL,
                                              network.other_county),
               network.township.id: staff(session, "town-sg", Role.SECRETARY_GENERAL,
                                          network.township)}
    made: list[Report] = []
    for i in range(14):
        # Own (the county's, its township's) and received (from the other county, and one from
        # the township: both own and received, listed once), interleaved in time.
        unit = (network.county, network.township, network.other_county)[i % 3]
        made.append(make_report(session, unit=unit, created_at=start + timedelta(hours=i)))
    session.commit()
    for r in made:
        if r.unit_id != network.county.id and r.id % 2 == 0 or r.unit_id == network.other_county.id:
            adopt(session, r, admin)
            session.commit()
            upward.send(session, r, dest, user=senders[r.unit_id])
            session.commit()
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    seen: list[int] = []
    for page in range(1, 5):
        rows, total = reports.page(session, clerk, page=page, per_page=4)
        assert total == 14
        seen += [r.id for r in rows]
    assert seen == [r.id for r in reversed(made)]
