"""Counts for the 通报: by status, adoption level, 批示, per unit and point, and speed."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import AdoptionLevel, ReportEvent, ReportStatus, Role, User, utcnow
from store.network import points
from store.outputs import stats
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import instructions
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


def test_it_counts_what_came_in_and_what_became_of_it(session: Session, network: Network,
                                                      admin: User) -> None:
    town, other = points.create_point(session, "城关镇"), points.create_point(session, "东山镇")
    town.unit_id, other.unit_id = network.township.id, network.other_county.id
    reports = [make_report(session, point=town) for _ in range(3)] + [
        make_report(session, point=other)]
    adopt(session, reports[0], admin)
    adopt(session, reports[3], admin, AdoptionLevel.CITY)
    instructions.record(session, reports[0], admin, leader_name="王明", leader_title="县长",
                        level="county", text="请研究。", instructed_on=date(2026, 3, 2))
    lifecycle.apply(session, reports[1], Action.DECLINE, user=admin, note="重复")
    # Decisions came 2, 4 and 6 hours after submission.
    for report, hours in zip((reports[0], reports[1], reports[3]), (2, 4, 6), strict=True):
        session.execute(sa.update(ReportEvent).where(
            ReportEvent.report_id == report.id, ReportEvent.action != "submit")
            .values(created_at=report.created_at + timedelta(hours=hours)))
    session.commit()

    o = stats.overview(session, admin)

    assert o.total == 4
    assert o.by_status[ReportStatus.ADOPTED] == 2 and o.by_status[ReportStatus.NOT_ADOPTED] == 1
    assert o.by_status[ReportStatus.SUBMITTED] == 1
    assert o.adopted_by_level[AdoptionLevel.COUNTY] == 1
    assert o.adopted_by_level[AdoptionLevel.CITY] == 1 and o.adopted == 2
    assert o.instructions_by_level[AdoptionLevel.COUNTY] == 1 and o.instructions == 1
    assert [(r.name, r.submitted, r.adopted, r.instructed) for r in o.per_unit] == [
        ("城关镇政协联络组", 3, 1, 1), ("东山县政协", 1, 1, 0)]
    assert [(r.name, r.submitted) for r in o.per_point] == [("城关镇", 3), ("东山镇", 1)]
    assert (o.median_hours_to_decision, o.decided) == (4.0, 3)

    # A county liaison's bulletin holds the county's reports only.
    liaison = staff(session, "liaison", Role.UNIT_LIAISON, network.county)
    mine = stats.overview(session, liaison)
    assert (mine.total, mine.adopted, [r.name for r in mine.per_unit]) == (
        3, 1, ["城关镇政协联络组"])


def test_it_counts_a_period_and_an_empty_office(session: Session, admin: User) -> None:
    assert stats.overview(session, admin).median_hours_to_decision is None
    old = make_report(session, created_at=utcnow() - timedelta(days=40))
    make_report(session)
    session.commit()

    recent = stats.overview(session, admin, since=utcnow() - timedelta(days=30))
    before = stats.overview(session, admin, until=utcnow() - timedelta(days=30))

    assert recent.total == 1 and before.total == 1
    assert [r.name for r in before.per_point] == ["（无采集点）"]
    assert old.id is not None
