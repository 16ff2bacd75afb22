"""函送参考: a report not adopted, sent to a department for reference; its reply kept and passed on."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import access
from store.models import (
    CollectionPoint,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    StaffNotice,
    Transfer,
    User,
    utcnow,
)
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import reference
from store.review.reference import ReferenceError
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt, sign_off_to_final

REPLY = "感谢来信，已纳入明年道路照明改造计划统筹考虑。"


@pytest.fixture
def declined(session: Session, point: CollectionPoint, network: Network, admin: User) -> Report:
    report = make_report(session, unit=network.county)
    sign_off_to_final(session, report, admin)
    lifecycle.apply(session, report, Action.DECLINE, user=admin, note="已在政府部门研究处理中")
    session.commit()
    return report


@pytest.fixture
def county_clerk(session: Session, network: Network) -> User:
    return staff(session, "cheng", Role.CLERK, network.county)


def _told(session: Session, report_id: int) -> list[str]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage.text).where(
        OutboxMessage.report_id == report_id, OutboxMessage.reporter_id.is_not(None))
        .order_by(OutboxMessage.id)))


def _notices(session: Session, user: User, kind: str) -> list[StaffNotice]:
    session.rollback()
    return list(session.scalars(sa.select(StaffNotice).where(
        StaffNotice.user_id == user.id, StaffNotice.kind == kind)))


def test_it_sends_a_declined_report_for_reference_and_tells_the_reporter(
    session: Session, declined: Report, county_clerk: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    assert not access.can_see(session, roads, declined)

    row = reference.send(session, declined, county_clerk, department_id=network.roads.id,
                         note="供研究路灯维护时参考", expected_version=declined.version)
    session.commit()

    session.rollback()
    stored = session.get_one(Transfer, row.id)
    assert (stored.kind, stored.department_id, stored.status, stored.due_at, stored.note) == (
        "reference", network.roads.id, "open", None, "供研究路灯维护时参考")
    report = session.get_one(Report, declined.id)
    assert report.status is ReportStatus.NOT_ADOPTED
    event = session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id == report.id)
                            .order_by(ReportEvent.id.desc())).first()
    assert event is not None and (event.action, event.user_id) == ("refer", county_clerk.id)
    assert "函送县住建局参考" in _told(session, report.id)[-1]
    [notice] = _notices(session, roads, "reference")
    assert report.tracking_no in notice.text
    # The department sees the report now, in its list; the other department does not.
    assert access.can_see(session, roads, report)
    assert not access.can_see(session, water, report)
    assert [r.id for r in reference.for_user(session, roads)] == [row.id]
    assert reference.for_user(session, water) == []
    # Without a deadline it is never overdue nor chased as a 转办.
    assert not reference.transfers.is_overdue(stored)


def test_the_departments_reply_is_kept_and_passed_on(
    session: Session, declined: Report, county_clerk: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    row = reference.send(session, declined, county_clerk, department_id=network.roads.id)
    session.commit()

    reference.reply(session, row, roads, REPLY)
    session.commit()

    session.rollback()
    stored = session.get_one(Transfer, row.id)
    assert (stored.status, stored.reply, stored.replied_by_id) == ("replied", REPLY, roads.id)
    assert session.get_one(Report, declined.id).status is ReportStatus.NOT_ADOPTED
    text = _told(session, declined.id)[-1]
    assert "县住建局" in text and REPLY in text and declined.tracking_no in text
    [alert] = _notices(session, county_clerk, "reference_replied")
    assert "县住建局" in alert.text
    assert reference.for_user(session, roads, open_only=True) == []
    with pytest.raises(ReferenceError) as exc:
        reference.reply(session, session.get_one(Transfer, row.id), roads, "再回复")
    assert "已经回复过" in str(exc.value)
    # Answered, it may be sent to the same department again (a new letter).
    session.rollback()
    again = reference.send(session, session.get_one(Report, declined.id), county_clerk,
                           department_id=network.roads.id)
    assert again.id != row.id


@pytest.mark.parametrize(("case", "words"), [
    ("adopted", "转办"), ("pending", "不予采用"), ("retired", "已撤销"),
    ("not_a_department", "不是有关部门"), ("twice", "不必重复函送"), ("outsider", "没有权限"),
    ("department_user", "没有权限"), ("long_note", "最多"),
])
def test_it_refuses_and_writes_nothing(
    session: Session, point: CollectionPoint, declined: Report, county_clerk: User,
    network: Network, admin: User, case: str, words: str,
) -> None:
    report, who, unit_id, note = declined, county_clerk, network.roads.id, None
    if case == "adopted":
        report = make_report(session, title="另一条", unit=network.county)
        adopt(session, report, admin)
        session.commit()
    elif case == "pending":
        report = make_report(session, title="另一条", unit=network.county)
    elif case == "retired":
        network.roads.retired_at = utcnow()
        session.commit()
    elif case == "not_a_department":
        unit_id = network.township.id
    elif case == "twice":
        reference.send(session, declined, county_clerk, department_id=network.roads.id)
        session.commit()
    elif case == "outsider":
        who = staff(session, "dong", Role.CLERK, network.other_county)
    elif case == "department_user":
        who = staff(session, "lu", Role.DEPARTMENT, network.roads)
    else:
        note = "长" * (reference.TEXT_LIMIT + 1)
    rows = session.scalar(sa.select(sa.func.count()).select_from(Transfer))
    told = len(_told(session, report.id))

    with pytest.raises(ReferenceError) as exc:
        reference.send(session, report, who, department_id=unit_id, note=note)

    assert words in str(exc.value)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == rows
    assert len(_told(session, report.id)) == told


def test_a_page_older_than_the_report_is_refused(
    session: Session, declined: Report, county_clerk: User, network: Network
) -> None:
    seen = declined.version
    reference.send(session, declined, county_clerk, department_id=network.water.id)
    session.commit()

    with pytest.raises(ReferenceError) as exc:
        reference.send(session, declined, county_clerk, department_id=network.roads.id,
                       expected_version=seen)

    assert "已被其他人" in str(exc.value) or "刷新" in str(exc.value)
    session.rollback()
    assert session.scalars(sa.select(Transfer.department_id)).all() == [network.water.id]


def test_another_department_may_not_answer(
    session: Session, declined: Report, county_clerk: User, network: Network
) -> None:
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    row = reference.send(session, declined, county_clerk, department_id=network.roads.id)
    session.commit()

    with pytest.raises(ReferenceError):
        reference.reply(session, row, water, REPLY)
    with pytest.raises(ReferenceError):
        reference.reply(session, row, county_clerk, REPLY)
    session.rollback()
    assert session.get_one(Transfer, row.id).status == "open"


def test_two_sends_at_once_make_one_reference(
    Session_: sessionmaker[Session], session: Session, declined: Report,  # noqa: N803
    county_clerk: User, network: Network,
) -> None:
    report_id, clerk_id = declined.id, county_clerk.id
    barrier = threading.Barrier(5)
    outcomes: list[object] = []
    lock = threading.Lock()

    def one() -> None:
        with Session_() as s:
            barrier.wait()
            try:
                with s.begin():
                    outcome: object = reference.send(
                        s, s.get_one(Report, report_id), s.get_one(User, clerk_id),
                        department_id=network.roads.id).id
            except ReferenceError as exc:
                outcome = exc
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1
    assert len([t for t in _told(session, report_id) if "参考" in t]) == 1


def test_the_reporters_news_says_it_was_passed_on_and_then_the_reply(
    session: Session, declined: Report, county_clerk: User, network: Network
) -> None:
    from store.conversation import news

    def said(lang: str = "zh") -> str:
        session.rollback()
        [item] = news.of_reports(session, [session.get_one(Report, declined.id)])
        return item.text(lang)

    assert said() == "暂不采用。原因：已在政府部门研究处理中"
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    row = reference.send(session, declined, county_clerk, department_id=network.roads.id,
                         note="内部说明：供研究路灯维护时参考")
    session.commit()
    assert said() == "暂不采用，已函送县住建局参考"
    assert said("en") == "Not adopted; passed to 县住建局 for reference"
    reference.reply(session, row, roads, REPLY)
    session.commit()
    assert said() == f"暂不采用，函送县住建局参考后，该部门回复：{REPLY}"
    # What the chat shows on the reporter's return (我的反映 / the opening news) is the same line.
    items, _ = news.recent(session, declined.reporter_id)
    assert "内部说明" not in items[0].text("zh") and REPLY in items[0].text("zh")
