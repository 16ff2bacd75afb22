"""Counting figures count a unit's own reports: one received by 报送 is not counted again."""

from __future__ import annotations

from sqlalchemy.orm import Session

from store.models import AdoptionLevel, Role, Unit, UnitKind, User
from store.outputs import destinations, stats, upward
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


def test_it_counts_a_report_sent_up_once_and_not_for_an_unrelated_receiver(
        session: Session, admin: User, network: Network) -> None:
    city = Unit(name="某市政协", kind=UnitKind.CPPCC)
    session.add(city)
    session.flush()
    network.county.parent_id = city.id
    session.commit()
    county_sg = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)
    city_sg = staff(session, "city-sg", Role.SECRETARY_GENERAL, city)
    east_sg = staff(session, "east-sg", Role.SECRETARY_GENERAL, network.other_county)
    report = make_report(session, unit=network.county)
    adopt(session, report, admin, AdoptionLevel.COUNTY)
    session.commit()
    for name, unit in (("某市政协", city), ("东山县政协", network.other_county)):
        upward.send(session, report, destinations.create(session, name, AdoptionLevel.CITY, unit.id),
                    user=county_sg)
    session.commit()

    city_counts = stats.overview(session, city_sg)
    east_counts = stats.overview(session, east_sg)

    assert city_counts.total == 1
    assert [(r.name, r.submitted) for r in city_counts.per_unit] == [("城关县政协", 1)]
    assert east_counts.total == 0 and east_counts.per_unit == []
    assert stats.overview(session, county_sg).total == 1
    # East still sees the report it received; it only does not count it as its own.
    assert [r.id for r in upward.incoming(session, east_sg)] != []
