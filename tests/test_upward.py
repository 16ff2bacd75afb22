"""报送 and adoption as facts: sending, outcomes, refusals, races, the reporter's messages."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import access
from store.models import (
    AdoptionLevel,
    Instruction,
    OutboxMessage,
    Report,
    ReportStatus,
    Role,
    Unit,
    UpwardRecord,
    UpwardStatus,
    User,
)
from store.outputs import adoption, destinations, upward
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.search import Filters, search
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


def _adopted(session: Session, admin: User, unit: Unit | None = None,
             level: AdoptionLevel = AdoptionLevel.COUNTY) -> Report:
    report = make_report(session, unit=unit)
    adopt(session, report, admin, level)
    session.commit()
    return report


def _messages(session: Session, report: Report) -> list[str]:
    return list(session.scalars(sa.select(OutboxMessage.text)
                                .where(OutboxMessage.report_id == report.id)
                                .order_by(OutboxMessage.id)))


def test_it_starts_with_default_destinations_the_office_can_edit(session: Session) -> None:
    names = {d.name: d.level for d in destinations.listed(session)}
    assert names["省政协办公厅"] is AdoptionLevel.PROVINCE
    assert names["全国政协办公厅"] is AdoptionLevel.NATIONAL
    assert names["市委办公室"] is AdoptionLevel.CITY
    dest = destinations.find(session, "省政协办公厅")
    destinations.update(session, dest, name="省政协办公厅信息处", level="province", unit_id=None,
                        active=True)
    assert destinations.find(session, str(dest.id)).name == "省政协办公厅信息处"
    with pytest.raises(destinations.DestinationError, match="已有名为「市委办公室」"):
        destinations.create(session, "市委办公室", "city")
    with pytest.raises(destinations.DestinationError, match="没有名为「省委」"):
        destinations.find(session, "省委")


def test_it_keeps_every_adoption_with_its_date_and_derives_the_highest(
        session: Session, admin: User) -> None:
    report = _adopted(session, admin, level=AdoptionLevel.COUNTY)
    province = destinations.find(session, "省政协办公厅")
    record = upward.send(session, report, province, user=admin)
    upward.record_outcome(session, record, upward.Outcome(
        "adopted", publication="《政协信息》", on=adoption.today()), user=admin)
    session.commit()

    history = adoption.history(session, report)
    assert [(a.level, a.body, a.publication) for a in history] == [
        (AdoptionLevel.COUNTY, None, None),
        (AdoptionLevel.PROVINCE, "省政协办公厅", "《政协信息》")]
    assert all(a.adopted_on == adoption.today() for a in history)
    assert adoption.highest(session, report) is AdoptionLevel.PROVINCE
    # The report keeps the highest rank for the dashboard; a lower adoption later leaves it.
    assert report.adopted_rank == adoption.rank(AdoptionLevel.PROVINCE)
    adoption.record(session, report, AdoptionLevel.CITY)
    session.commit()
    assert session.scalar(sa.select(Report.adopted_rank).where(Report.id == report.id)) == 2
    assert adoption.highest(session, report) is AdoptionLevel.PROVINCE
    # The reporter hears it in the words 提高采用级别 uses.
    assert "已被省政协采用" in _messages(session, report)[-1]


def test_it_still_counts_a_report_adopted_after_it_was_transferred_and_closed(
        session: Session, admin: User, network: Network) -> None:
    report = _adopted(session, admin)
    lifecycle.apply(session, report, Action.CLOSE, user=admin)
    other = make_report(session, title="另一条未采用的信息")
    session.commit()
    assert report.status is ReportStatus.CLOSED

    found = search(session, admin, Filters(status=("adopted",))).hits
    assert [h.report.id for h in found] == [report.id]
    assert search(session, admin, Filters(adopted="county")).total == 1
    assert search(session, admin, Filters(adopted="city")).total == 0
    assert other.id not in {h.report.id for h in search(session, admin, Filters(upward=True)).hits}


def test_it_finds_reports_sent_upward_and_adopted_at_a_level_or_above(
        session: Session, admin: User) -> None:
    sent = _adopted(session, admin)
    kept = _adopted(session, admin)
    record = upward.send(session, sent, destinations.find(session, "全国政协办公厅"), user=admin)
    upward.record_outcome(session, record, upward.Outcome("adopted"), user=admin)
    session.commit()
    assert [h.report.id for h in search(session, admin, Filters(upward=True)).hits] == [sent.id]
    assert [h.report.id for h in search(session, admin, Filters(adopted="national")).hits] == [sent.id]
    assert {h.report.id for h in search(session, admin, Filters(adopted="county")).hits} == \
        {sent.id, kept.id}
    assert Filters.from_args({"adopted": "galaxy"})[1] == ["adopted"]


def test_it_refuses_what_cannot_be_sent_or_answered(session: Session, admin: User) -> None:
    pending = make_report(session)
    session.commit()
    province = destinations.find(session, "省政协办公厅")
    with pytest.raises(upward.UpwardError, match="尚未采用"):
        upward.send(session, pending, province, user=admin)

    report = _adopted(session, admin)
    record = upward.send(session, report, province, user=admin)
    with pytest.raises(upward.UpwardError, match="已报送「省政协办公厅」，尚无结果"):
        upward.send(session, report, province, user=admin)
    with pytest.raises(upward.UpwardError, match="请填写作出批示的领导"):
        upward.record_outcome(session, record, upward.Outcome("instructed"), user=admin)
    with pytest.raises(upward.UpwardError, match="不能晚于今天"):
        upward.record_outcome(session, record, upward.Outcome(
            "adopted", on=adoption.today() + timedelta(days=5)), user=admin)
    with pytest.raises(upward.UpwardError, match="不能早于报送日期"):
        upward.record_outcome(session, record, upward.Outcome(
            "adopted", on=record.sent_on - timedelta(days=1)), user=admin)
    with pytest.raises(upward.UpwardError, match="结果只能是"):
        upward.record_outcome(session, record, upward.Outcome("sent"), user=admin)
    upward.record_outcome(session, record, upward.Outcome("declined", note="已有同类信息"), user=admin)
    with pytest.raises(upward.UpwardError, match="已有结果"):
        upward.record_outcome(session, record, upward.Outcome("adopted"), user=admin)
    session.commit()
    # Declined: nothing adopted, nothing told; and the destination may be tried again.
    assert adoption.highest(session, report) is AdoptionLevel.COUNTY
    assert not any("省政协" in m for m in _messages(session, report))
    again = upward.send(session, report, province, user=admin)
    assert again.id != record.id and again.status is UpwardStatus.SENT


def test_it_refuses_another_units_report_as_if_it_did_not_exist(
        session: Session, admin: User, network: Network) -> None:
    report = _adopted(session, admin, unit=network.county)
    outsider = staff(session, "east-clerk", Role.SECRETARY_GENERAL, network.other_county)
    viewer = staff(session, "county-viewer", Role.VIEWER, network.county)
    province = destinations.find(session, "省政协办公厅")
    for who in (outsider, viewer):
        with pytest.raises(upward.NotFound):
            upward.send(session, report, province, user=who)
    record = upward.send(session, report, province, user=admin)
    with pytest.raises(upward.NotFound):
        upward.record_outcome(session, record, upward.Outcome("adopted"), user=outsider)
    assert upward.visible_record(session, outsider, record.id) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(UpwardRecord)) == 1


def test_a_leaders_instruction_is_an_instruction_and_an_adoption(
        session: Session, admin: User) -> None:
    report = _adopted(session, admin)
    record = upward.send(session, report, destinations.find(session, "省政协办公厅"), user=admin)
    upward.record_outcome(session, record, upward.Outcome(
        "instructed", level="province", leader="张省长", note="请省住建厅研究。"), user=admin)
    session.commit()
    instruction = session.scalars(sa.select(Instruction)).one()
    assert (instruction.leader_name, instruction.level, instruction.text) == (
        "张省长", AdoptionLevel.PROVINCE, "请省住建厅研究。")
    assert adoption.highest(session, report) is AdoptionLevel.PROVINCE
    told = _messages(session, report)[-1]
    # The reporter learns the leader's level, not their name.
    assert "省级领导的批示" in told and "张省长" not in told


def test_a_unit_of_the_network_receives_only_what_was_sent_and_answers_it(
        session: Session, admin: User, network: Network) -> None:
    sender = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)
    receiver = staff(session, "east-sg", Role.SECRETARY_GENERAL, network.other_county)
    east_clerk = staff(session, "east-clerk", Role.CLERK, network.other_county)
    report = _adopted(session, admin, unit=network.county)
    unrelated = _adopted(session, admin, unit=network.county)
    east = destinations.create(session, "东山县政协", AdoptionLevel.COUNTY, network.other_county.id)
    record = upward.send(session, report, east, user=sender)
    session.commit()

    assert [r.id for r in upward.incoming(session, receiver)] == [record.id]
    assert record.sending_unit_id == network.county.id and record.version.number == 1
    assert upward.visible_record(session, receiver, record.id) is record
    # The report sent, from then on, but nothing else of the sender's: not the other report,
    # not who filed it, not the report's own decisions.
    assert [h.report.id for h in search(session, receiver, Filters()).hits] == [report.id]
    assert not access.can_see(session, receiver, unrelated)
    assert not access.can_handle(session, receiver, report)
    assert access.reveal_identity(session, receiver, report, "identity") is None
    # The sender cannot answer for the receiving unit; its clerk (not 审定) cannot either.
    assert not upward.can_answer(session, sender, record)
    assert not upward.can_answer(session, east_clerk, record)
    upward.record_outcome(session, record, upward.Outcome("adopted"), user=receiver)
    session.commit()
    assert record.status is UpwardStatus.ADOPTED and record.outcome_by_id == receiver.id
    assert [a.body for a in adoption.history(session, report)] == [None, "东山县政协"]


def test_a_units_chain_is_what_its_staff_are_offered(session: Session, network: Network) -> None:
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    province = destinations.find(session, "省政协办公厅")
    city = destinations.find(session, "市委办公室")
    assert {d.name for d in destinations.offered(session, clerk)} >= {"省政协办公厅", "市委办公室"}
    destinations.set_chain(session, network.county, [city.id, province.id])
    assert destinations.offered(session, clerk) == [city, province]
    own = destinations.create(session, "城关县政协", AdoptionLevel.COUNTY, network.county.id)
    with pytest.raises(destinations.DestinationError, match="不能向自己报送"):
        destinations.set_chain(session, network.county, [own.id])


def test_the_migration_of_levels_keeps_each_adopted_report(session: Session, admin: User) -> None:
    """The stored level becomes an adoption; see tests/test_upward_migration.py for the copy itself."""
    report = _adopted(session, admin, level=AdoptionLevel.CITY)
    lifecycle.apply(session, report, Action.RAISE, user=admin,
                    values={"adoption_level": AdoptionLevel.PROVINCE})
    session.commit()
    assert [a.level for a in adoption.history(session, report)] == [AdoptionLevel.CITY,
                                                                   AdoptionLevel.PROVINCE]
    assert all(a.event_id is not None for a in adoption.history(session, report))


def test_two_clerks_sending_at_once_make_one_record(
        session: Session, Session_: sessionmaker[Session], admin: User,  # noqa: N803
        db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip("SQLite serialises writers; the race is PostgreSQL's")
    report = _adopted(session, admin)
    dest_id = destinations.find(session, "省政协办公厅").id
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def clerk() -> None:
        with Session_() as s, s.begin():
            who, target = s.get_one(User, admin.id), s.get_one(Report, report.id)
            dest = s.get_one(upward.Destination, dest_id)
            barrier.wait()
            try:
                upward.send(s, target, dest, user=who)
                outcomes.append("sent")
            except upward.UpwardError:
                outcomes.append("refused")

    threads = [threading.Thread(target=clerk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["sent"]
    assert session.scalar(sa.select(sa.func.count()).select_from(UpwardRecord)) == 1


def test_two_answers_at_once_close_the_record_once(
        session: Session, Session_: sessionmaker[Session], admin: User,  # noqa: N803
        db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip("SQLite serialises writers; the race is PostgreSQL's")
    report = _adopted(session, admin)
    record = upward.send(session, report, destinations.find(session, "省政协办公厅"), user=admin)
    session.commit()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def answer(i: int) -> None:
        with Session_() as s, s.begin():
            who, mine = s.get_one(User, admin.id), s.get_one(UpwardRecord, record.id)
            barrier.wait()
            try:
                upward.record_outcome(s, mine, upward.Outcome(
                    "adopted", publication=f"第{i}期", on=adoption.today()), user=who)
                outcomes.append("done")
            except upward.UpwardError:
                outcomes.append("refused")

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["done"] + ["refused"] * 5
    assert len(adoption.history(session, report)) == 2  # the office's and one upward
    assert sum("省政协" in m for m in _messages(session, report)) == 1
