"""转办: sending an adopted report to a department, its reply, and chasing it when overdue.

Deadlines count working days (China's calendar by default); the dates below
are chosen in March 2026, which has no public holiday, so only weekends count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import (
    Channel,
    CollectionPoint,
    OutboxMessage,
    Report,
    ReportStatus,
    Role,
    StaffNotice,
    Transfer,
    User,
)
from store.network import addresses
from store.reports import lifecycle
from store.reports.lifecycle import Action, TransitionError
from store.review import transfers
from store.workdays import OFFICE_TZ, end_of
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


@pytest.fixture
def county_point(session: Session, point: CollectionPoint, network: Network) -> CollectionPoint:
    point.unit_id = network.county.id
    session.commit()
    return point


@pytest.fixture
def adopted(session: Session, county_point: CollectionPoint, admin: User, network: Network) -> Report:
    report = make_report(session, county_point, unit=network.county)
    adopt(session, report, admin)
    session.commit()
    return report


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A moment of the office's day, as stored (UTC)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OFFICE_TZ).astimezone(UTC)


MONDAY = date(2026, 3, 2)


def _notices(session: Session, user: User, kind: str | None = None) -> list[StaffNotice]:
    session.rollback()
    query = sa.select(StaffNotice).where(StaffNotice.user_id == user.id)
    if kind:
        query = query.where(StaffNotice.kind == kind)
    return list(session.scalars(query.order_by(StaffNotice.id)))


def _feedback(session: Session, report: Report) -> list[str]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage.text).where(
        OutboxMessage.report_id == report.id, OutboxMessage.reporter_id.is_not(None))
        .order_by(OutboxMessage.id)))


def test_it_transfers_to_a_department_and_tells_both_sides(
    session: Session, adopted: Report, admin: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    addresses.link(session, roads, Channel.TELEGRAM, "777")
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    session.commit()

    row = transfers.transfer(session, adopted, admin, department=network.roads, due_days=15,
                             escalate_days=7, note="请核实路灯损坏情况", now=at(MONDAY, 10))
    session.commit()

    assert adopted.status is ReportStatus.TRANSFERRED
    # Fifteen working days after Monday 2 March: three weeks of five, then Monday 23 March.
    assert row.due_at == end_of(date(2026, 3, 23))
    # Seven more: the end of Wednesday 1 April.
    assert row.escalate_at == end_of(date(2026, 4, 1))
    assert row.status == "open" and row.note == "请核实路灯损坏情况"
    [notice] = _notices(session, roads, "transfer")
    assert adopted.tracking_no in notice.text and "办理期限 2026-03-23" in notice.text
    assert _notices(session, water) == []
    # The linked department member hears of it on Telegram too.
    assert session.scalar(sa.select(OutboxMessage.chat_id).where(
        OutboxMessage.user_id == roads.id)) == "777"
    told = _feedback(session, adopted)[-1]
    assert "县住建局" in told and "应在 2026-03-23 前答复" in told


def test_it_refuses_a_unit_that_is_no_department_and_absurd_deadlines(
    session: Session, adopted: Report, admin: User, network: Network
) -> None:
    with pytest.raises(TransitionError) as exc:
        transfers.transfer(session, adopted, admin, department=network.township, due_days=15,
                           escalate_days=7)
    assert exc.value.code == "error.not_a_department"
    with pytest.raises(TransitionError) as exc:
        transfers.transfer(session, adopted, admin, department=network.roads, due_days=0,
                           escalate_days=7)
    assert exc.value.code == "error.bad_days"
    session.rollback()
    assert session.get(Report, adopted.id).status is ReportStatus.ADOPTED  # type: ignore[union-attr]
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0


def test_the_department_reply_reaches_the_reporter(
    session: Session, adopted: Report, admin: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    row = transfers.transfer(session, adopted, admin, department=network.roads, due_days=15,
                             escalate_days=7)
    session.commit()

    transfers.reply(session, row, roads, "已更换损坏路灯12盏，并建立每月巡查制度。")
    session.commit()

    session.rollback()
    report = session.get(Report, adopted.id)
    assert report is not None and report.status is ReportStatus.HANDLED
    row = session.get(Transfer, row.id)  # type: ignore[assignment]
    assert row.status == "replied" and row.replied_by_id == roads.id
    assert "已更换损坏路灯12盏" in (row.reply or "")
    reply_msg = session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.report_id == report.id).order_by(OutboxMessage.id.desc())).first()
    assert reply_msg is not None and reply_msg.chat_id == report.reporter.chat_id
    assert "办理回复" in reply_msg.text and "已更换损坏路灯12盏" in reply_msg.text
    # Whoever transferred it learns of the reply in the console.
    assert [n.kind for n in _notices(session, admin, "transfer_replied")] == ["transfer_replied"]


def test_another_department_may_neither_reply_nor_see_the_transfer(
    session: Session, adopted: Report, admin: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    row = transfers.transfer(session, adopted, admin, department=network.roads, due_days=15,
                             escalate_days=7)
    session.commit()

    with pytest.raises(TransitionError) as exc:
        transfers.reply(session, row, water, "不是我们的事")
    assert exc.value.code == "error.forbidden"
    assert transfers.for_user(session, water) == []
    assert [t.id for t in transfers.for_user(session, roads)] == [row.id]
    assert [t.id for t in transfers.for_user(session, admin, open_only=True)] == [row.id]
    transfers.reply(session, row, roads, "已处理完毕，共更换路灯12盏。")
    session.commit()
    with pytest.raises(TransitionError) as exc:
        transfers.reply(session, row, roads, "再回复一次")
    assert exc.value.code == "error.transfer_answered"
    assert transfers.for_user(session, admin, open_only=True) == []


def test_a_transfer_goes_overdue_is_reminded_daily_and_escalated_once(
    session: Session, adopted: Report, admin: User, network: Network, director: User,
    secretary: User, clerk: User,
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    row = transfers.transfer(session, adopted, admin, department=network.roads, due_days=15,
                             escalate_days=7, now=at(MONDAY, 10))
    session.commit()
    due_day = date(2026, 3, 23)

    assert transfers.chase(session, at(due_day, 9)) == {"reminded": 0, "escalated": 0}
    assert not transfers.is_overdue(row, at(due_day, 23, 59))

    day1 = at(date(2026, 3, 24))
    assert transfers.is_overdue(row, day1)
    assert transfers.chase(session, day1) == {"reminded": 1, "escalated": 0}
    session.commit()
    # A second run the same day (a restart) does not remind again.
    assert transfers.chase(session, day1 + timedelta(minutes=30)) == {"reminded": 0, "escalated": 0}
    session.commit()
    [overdue] = _notices(session, roads, "overdue")
    assert "已超过办理期限（2026-03-23）" in overdue.text and adopted.tracking_no in overdue.text

    assert transfers.chase(session, at(date(2026, 3, 25)))["reminded"] == 1
    session.commit()
    # Not on a Saturday: the department is not at work.
    assert transfers.chase(session, at(date(2026, 3, 28))) == {"reminded": 0, "escalated": 0}

    # Escalated once the seven working days past the deadline are over (Wednesday 1 April).
    assert transfers.chase(session, at(date(2026, 4, 1), 18)) == {"reminded": 1, "escalated": 0}
    session.commit()
    thursday = at(date(2026, 4, 2))
    assert transfers.chase(session, thursday) == {"reminded": 1, "escalated": 1}
    session.commit()
    friday = at(date(2026, 4, 3))
    assert transfers.chase(session, friday) == {"reminded": 1, "escalated": 0}
    session.commit()

    assert len(_notices(session, roads, "overdue")) == 5
    for leader in (director, secretary, admin):
        [escalation] = _notices(session, leader, "escalated")
        assert "县住建局" in escalation.text and "严重逾期" in escalation.text
    assert _notices(session, clerk, "escalated") == []
    row = session.get(Transfer, row.id)  # type: ignore[assignment]
    assert row.escalated_at == thursday and row.last_reminded_at == friday

    # Once answered, it is no longer chased.
    transfers.reply(session, row, roads, "已处理完毕，共更换路灯12盏。")
    session.commit()
    later = at(date(2026, 4, 8))
    assert transfers.chase(session, later) == {"reminded": 0, "escalated": 0}
    assert not transfers.is_overdue(row, later)


def test_leaders_of_another_county_hear_nothing_of_its_escalations(
    session: Session, adopted: Report, admin: User, network: Network
) -> None:
    outsider = staff(session, "dong", Role.DIRECTOR, network.other_county)
    insider = staff(session, "cheng", Role.DIRECTOR, network.county)
    row = transfers.transfer(session, adopted, admin, department=network.roads, due_days=1,
                             escalate_days=1, now=at(MONDAY))
    session.commit()
    assert row.escalate_at == end_of(date(2026, 3, 4))
    transfers.chase(session, at(date(2026, 3, 5)))
    session.commit()
    assert _notices(session, outsider) == []
    assert [n.kind for n in _notices(session, insider)] == ["escalated"]


def test_a_handled_report_can_be_transferred_again_and_closed(
    session: Session, adopted: Report, admin: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    first = transfers.transfer(session, adopted, admin, department=network.roads, due_days=15,
                               escalate_days=7)
    transfers.reply(session, first, roads, "路灯归水利局管理的河堤段，请转水利局。")
    second = transfers.transfer(session, adopted, admin, department=network.water, due_days=10,
                                escalate_days=5)
    session.commit()
    assert [t.id for t in transfers.for_report(session, adopted)] == [first.id, second.id]
    assert transfers.for_user(session, roads) == [first]
    assert adopted.status is ReportStatus.TRANSFERRED

    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    transfers.reply(session, second, water, "河堤段路灯8盏已全部修复。")
    lifecycle.apply(session, adopted, Action.CLOSE, user=admin)
    session.commit()
    assert adopted.status is ReportStatus.CLOSED
    assert "请您对办理情况作出评价" in _feedback(session, adopted)[-1]
