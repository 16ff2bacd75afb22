"""批示落实: a leader's instruction handed to a department by a date, reminded, reported back to both sides."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.models import (
    AdoptionLevel,
    CollectionPoint,
    Instruction,
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
from store.review import followup, instructions, transfers
from store.review.followup import FollowUpError
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt

LOCAL = ZoneInfo("Asia/Shanghai")
WORDS = "请住建局牵头，一个月内拿出路灯维修方案。"
RESULT = "已更换损坏路灯12盏，建立每月巡查制度，情况已书面报告。"


def at(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock on `day`, office time, as the scheduler's clock reads it."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL).astimezone(UTC)


@pytest.fixture
def county_clerk(session: Session, network: Network) -> User:
    return staff(session, "cheng", Role.CLERK, network.county)


@pytest.fixture
def instruction(session: Session, point: CollectionPoint, network: Network, admin: User,
                county_clerk: User) -> Instruction:
    report = make_report(session, unit=network.county)
    adopt(session, report, admin)
    row = instructions.record(session, report, county_clerk, leader_name="王明",
                              leader_title="县长", level=AdoptionLevel.COUNTY, text=WORDS,
                              instructed_on=utcnow().date())
    session.commit()
    return row


def _notices(session: Session, user: User, kind: str) -> list[StaffNotice]:
    session.rollback()
    return list(session.scalars(sa.select(StaffNotice).where(
        StaffNotice.user_id == user.id, StaffNotice.kind == kind).order_by(StaffNotice.id)))


def _told(session: Session, report_id: int) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.report_id == report_id, OutboxMessage.reporter_id.is_not(None))
        .order_by(OutboxMessage.id)))


def test_it_hands_an_instruction_to_a_department_by_a_date(
    session: Session, instruction: Instruction, county_clerk: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    due = followup.today() + timedelta(days=10)
    assert followup.board(session, county_clerk).items[0].status == "open"

    row = followup.assign(session, instruction, county_clerk, department_id=network.roads.id,
                          due=due, note="请主要负责同志牵头")
    session.commit()

    session.rollback()
    stored = session.get_one(Transfer, row.id)
    assert (stored.kind, stored.instruction_id, stored.department_id, stored.status) == (
        "instruction", instruction.id, network.roads.id, "open")
    assert followup.due_on(stored) == due and stored.escalate_at is None
    assert stored.note == "请主要负责同志牵头" and stored.created_by_id == county_clerk.id
    [notice] = _notices(session, roads, "instruction")
    assert "县长" in notice.text and due.isoformat() in notice.text
    assert _notices(session, water, "instruction") == []
    # The department may now see the report; it is still adopted, not transferred.
    report = session.get_one(Report, instruction.report_id)
    assert report.status is ReportStatus.ADOPTED
    [item] = followup.board(session, roads).items
    assert (item.instruction.id, item.status, item.status_name) == (instruction.id, "handling",
                                                                     "办理中")
    assert followup.board(session, water).items == []
    # A 批示落实 is not a 转办: the transfer lists stay as they were.
    assert transfers.for_user(session, roads) == []


@pytest.mark.parametrize(("change", "words"), [
    ("retired", "已撤销"), ("not_a_department", "不是承办部门"), ("no_such_unit", "不存在"),
    ("past", "办理期限"), ("too_far", "办理期限"), ("long_note", "交办说明最多"),
])
def test_it_refuses_a_bad_assignment_and_writes_nothing(
    session: Session, instruction: Instruction, county_clerk: User, network: Network,
    change: str, words: str,
) -> None:
    unit_id, due, note = network.roads.id, followup.today() + timedelta(days=5), None
    if change == "retired":
        network.roads.retired_at = utcnow()
        session.commit()
    elif change == "not_a_department":
        unit_id = network.township.id
    elif change == "no_such_unit":
        unit_id = 99999
    elif change == "past":
        due = followup.today() - timedelta(days=1)
    elif change == "too_far":
        due = followup.today() + timedelta(days=followup.MAX_DAYS + 1)
    else:
        note = "长" * (followup.TEXT_LIMIT + 1)

    with pytest.raises(FollowUpError) as exc:
        followup.assign(session, instruction, county_clerk, department_id=unit_id, due=due,
                        note=note)

    assert words in str(exc.value)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0


def test_it_assigns_an_instruction_once_and_only_for_those_who_see_it(
    session: Session, instruction: Instruction, county_clerk: User, network: Network
) -> None:
    outsider = staff(session, "dong", Role.CLERK, network.other_county)
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    due = followup.today() + timedelta(days=5)
    for who in (outsider, roads):
        with pytest.raises(FollowUpError):
            followup.assign(session, instruction, who, department_id=network.roads.id, due=due)
    followup.assign(session, instruction, county_clerk, department_id=network.roads.id, due=due)
    session.commit()

    with pytest.raises(FollowUpError) as exc:
        followup.assign(session, instruction, county_clerk, department_id=network.water.id,
                        due=due)

    assert "已经交办" in str(exc.value)
    session.rollback()
    assert session.scalars(sa.select(Transfer.department_id)).all() == [network.roads.id]


def test_it_reminds_on_the_due_date_once_to_the_department_and_the_office(
    session: Session, instruction: Instruction, county_clerk: User, network: Network,
    director: User,
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    due = followup.today() + timedelta(days=3)
    row = followup.assign(session, instruction, county_clerk, department_id=network.roads.id,
                          due=due)
    session.commit()

    assert followup.remind(session, at(due - timedelta(days=1))) == 0
    assert followup.remind(session, at(due, 8)) == 1
    session.commit()
    # The scheduler ticks again the same day, the next day, after a restart: nothing more.
    for later in (at(due, 15), at(due + timedelta(days=1)), at(due + timedelta(days=9))):
        assert followup.remind(session, later) == 0
        session.commit()

    [to_department] = _notices(session, roads, "instruction_due")
    [to_office] = _notices(session, county_clerk, "instruction_due")
    assert to_department.text == to_office.text
    assert "今天" in to_department.text and due.isoformat() in to_department.text
    assert "县住建局" in to_department.text
    assert _notices(session, director, "instruction_due") == []
    assert session.get_one(Transfer, row.id).reminded_for == due
    # Overdue from the day after: marked on the board.
    assert not transfers.is_overdue(row, at(due, 23))
    assert transfers.is_overdue(row, at(due + timedelta(days=1), 0))
    [item] = followup.board(session, county_clerk, now=at(due + timedelta(days=1))).items
    assert item.overdue


def test_reporting_back_tells_the_leaders_office_and_the_reporter(
    session: Session, instruction: Instruction, county_clerk: User, network: Network,
    director: User, admin: User,
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    county_director = staff(session, "zhu", Role.DIRECTOR, network.county)
    other_director = staff(session, "dongzhu", Role.DIRECTOR, network.other_county)
    report = session.get_one(Report, instruction.report_id)
    report.reporter.language = "en"
    row = followup.assign(session, instruction, county_clerk, department_id=network.roads.id,
                          due=followup.today() + timedelta(days=5))
    session.commit()
    told_before = len(_told(session, report.id))

    event = followup.report_back(session, row, roads, f"  {RESULT}  ")
    session.commit()

    session.rollback()
    stored = session.get_one(Transfer, row.id)
    assert (stored.status, stored.reply, stored.replied_by_id) == ("replied", RESULT, roads.id)
    assert stored.replied_at is not None
    assert followup.status_of(stored) == "done"
    # The record: the report's history keeps the result, by whom and when.
    recorded = session.get_one(ReportEvent, event.id)
    assert (recorded.action, recorded.note, recorded.user_id) == ("instruction_done", RESULT,
                                                                  roads.id)
    assert session.get_one(Report, report.id).status is ReportStatus.ADOPTED
    # The office is alerted, to pass the result to the leader's office.
    for who in (county_clerk, county_director, director, admin):
        [alert] = _notices(session, who, "instruction_done")
        assert "县长办公室" in alert.text and "县住建局" in alert.text
    assert _notices(session, other_director, "instruction_done") == []
    assert _notices(session, roads, "instruction_done") == []
    # The reporter hears it was done, in their language, without the leader's name or words.
    messages = _told(session, report.id)
    assert len(messages) == told_before + 1
    text = messages[-1].text
    assert "县长" in text and "县住建局" in text and report.tracking_no in text
    assert "has acted on the written instruction" in text
    for internal in ("王明", WORDS, RESULT):
        assert internal not in text


def test_a_zh_reporter_reads_chinese(
    session: Session, instruction: Instruction, county_clerk: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    row = followup.assign(session, instruction, county_clerk, department_id=network.roads.id,
                          due=followup.today() + timedelta(days=5))
    followup.report_back(session, row, roads, RESULT)
    session.commit()

    text = _told(session, instruction.report_id)[-1].text
    assert text.startswith("您反映的信息") and "已按批示要求办理" in text


def test_only_the_acting_department_reports_back_and_only_once(
    session: Session, instruction: Instruction, county_clerk: User, network: Network
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    row = followup.assign(session, instruction, county_clerk, department_id=network.roads.id,
                          due=followup.today() + timedelta(days=5))
    session.commit()

    for who, text, words in ((water, RESULT, "无权"), (county_clerk, RESULT, "无权"),
                             (roads, "   ", "请填写"), (roads, "长" * 2001, "最多")):
        with pytest.raises(FollowUpError) as exc:
            followup.report_back(session, row, who, text)
        assert words in str(exc.value)
        session.rollback()
    assert session.get_one(Transfer, row.id).status == "open"
    assert transfers.answerable(session, water, row.id, "instruction") is None
    assert transfers.answerable(session, roads, row.id, "reference") is None

    followup.report_back(session, row, roads, RESULT)
    session.commit()
    with pytest.raises(FollowUpError) as exc:
        followup.report_back(session, session.get_one(Transfer, row.id), roads, "再报一次")
    assert "已经报送" in str(exc.value)


def test_the_board_counts_open_instructions_per_leader_and_per_unit(
    session: Session, point: CollectionPoint, network: Network, admin: User, county_clerk: User
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    outsider = staff(session, "dong", Role.CLERK, network.other_county)
    made = []
    for n, (name, title) in enumerate([("王明", "县长"), ("王明", "县长"), ("李华", "副县长")]):
        report = make_report(session, title=f"路灯问题{n}", unit=network.county)
        adopt(session, report, admin)
        made.append(instructions.record(session, report, county_clerk, leader_name=name,
                                        leader_title=title, level="county", text=WORDS,
                                        instructed_on=utcnow().date()))
    session.commit()
    today = followup.today()
    late = followup.assign(session, made[0], county_clerk, department_id=network.roads.id,
                           due=today)
    done = followup.assign(session, made[2], county_clerk, department_id=network.water.id,
                           due=today + timedelta(days=4))
    followup.report_back(session, done, admin, RESULT)
    session.commit()
    tomorrow = at(today + timedelta(days=1))

    board = followup.board(session, county_clerk, now=tomorrow)

    assert [f.instruction.id for f in board.items] == [made[0].id, made[1].id]
    assert [f.overdue for f in board.items] == [True, False]
    assert board.by_leader == [("县长 王明", 2, 1)]
    assert [(u.name if u else None, n, o) for u, n, o in board.by_unit] == [
        (None, 1, 0), ("县住建局", 1, 1)]
    everything = followup.board(session, county_clerk, include_done=True, now=tomorrow)
    assert [f.status for f in everything.items] == ["handling", "open", "done"]
    assert [f.instruction.id for f in followup.board(
        session, county_clerk, leader="副县长 李华", include_done=True).items] == [made[2].id]
    assert [f.instruction.id for f in followup.board(
        session, county_clerk, unit_id=network.roads.id).items] == [made[0].id]
    assert [f.instruction.id for f in followup.board(session, roads).items] == [late.instruction_id]
    assert followup.board(session, outsider).items == []
    assert followup.board(session, outsider).by_leader == []


def _race(factory: sessionmaker[Session], n: int, work) -> list[object]:  # noqa: ANN001
    """Run `work(session)` in `n` threads at once, each in its own committed unit of work."""
    barrier = threading.Barrier(n)
    results: list[object] = []
    lock = threading.Lock()

    def one() -> None:
        with factory() as s:
            barrier.wait()
            try:
                with s.begin():
                    outcome: object = work(s)
            except FollowUpError as exc:
                outcome = exc
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def test_concurrent_reminder_runs_remind_a_date_once(
    Session_: sessionmaker[Session], session: Session, instruction: Instruction,  # noqa: N803
    county_clerk: User, network: Network,
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    due = followup.today() + timedelta(days=2)
    followup.assign(session, instruction, county_clerk, department_id=network.roads.id, due=due)
    session.commit()

    counts = _race(Session_, 6, lambda s: followup.remind(s, at(due)))

    assert sorted(counts) == [0, 0, 0, 0, 0, 1]  # type: ignore[type-var]
    assert len(_notices(session, roads, "instruction_due")) == 1


def test_concurrent_assignments_make_one_row(
    Session_: sessionmaker[Session], session: Session, instruction: Instruction,  # noqa: N803
    county_clerk: User, network: Network,
) -> None:
    due = followup.today() + timedelta(days=2)
    instruction_id, clerk_id = instruction.id, county_clerk.id

    def assign(s: Session) -> int:
        return followup.assign(s, s.get_one(Instruction, instruction_id), s.get_one(User, clerk_id),
                               department_id=network.roads.id, due=due).id

    outcomes = _race(Session_, 6, assign)

    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert all(isinstance(o, (int, FollowUpError)) for o in outcomes)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1
