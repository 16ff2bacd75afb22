"""批示落实 after assignment: 改派 to another department and 督办 once the deadline passed, as rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from store.models import (
    AdoptionLevel,
    CollectionPoint,
    FollowUpStep,
    Instruction,
    Role,
    StaffNotice,
    Transfer,
    User,
    utcnow,
)
from store.review import followup, followup_steps, instructions
from store.review.followup import FollowUpError
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.test_followup import WORDS, _race, at
from tests.web_support import csrf, login

REASON = "住建局称路灯归城管局管理，改由城管局落实。"


def _notices(session: Session, user: User, kind: str) -> list[StaffNotice]:
    session.rollback()
    return list(session.scalars(sa.select(StaffNotice).where(
        StaffNotice.user_id == user.id, StaffNotice.kind == kind).order_by(StaffNotice.id)))


def _steps(session: Session) -> list[FollowUpStep]:
    session.rollback()
    return list(session.scalars(sa.select(FollowUpStep).order_by(FollowUpStep.id)))


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


@pytest.fixture
def assigned(session: Session, instruction: Instruction, county_clerk: User,
             network: Network) -> Transfer:
    row = followup.assign(session, instruction, county_clerk, department_id=network.roads.id,
                          due=followup.today() + timedelta(days=3))
    session.commit()
    return row


def test_it_reassigns_an_open_instruction_and_keeps_the_step(
    session: Session, assigned: Transfer, county_clerk: User, network: Network,
) -> None:
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    water = staff(session, "shui", Role.DEPARTMENT, network.water)
    old_due = followup.due_on(assigned)
    assert old_due is not None
    # Reminded for the old date: the new department's date is reminded afresh.
    followup.remind(session, at(old_due))
    session.commit()
    new_due = followup.today() + timedelta(days=10)

    followup_steps.reassign(session, assigned, county_clerk, department_id=network.water.id,
                            due=new_due, note=f"  {REASON} ")
    session.commit()

    session.rollback()
    row = session.get_one(Transfer, assigned.id)
    assert (row.department_id, followup.due_on(row), row.reminded_for, row.status) == (
        network.water.id, new_due, None, "open")
    [step] = _steps(session)
    assert (step.action, step.from_department_id, step.to_department_id, step.note, step.user_id) \
        == ("reassigned", network.roads.id, network.water.id, REASON, county_clerk.id)
    # Both departments hear of it; the new one now sees and answers it, the old one no longer.
    assert "改由县水利局落实" in _notices(session, water, "instruction")[-1].text
    assert "改由县水利局落实" in _notices(session, roads, "instruction")[-1].text
    assert followup.board(session, water).items[0].row.id == row.id  # type: ignore[union-attr]
    assert followup.board(session, roads).items == []
    assert followup.remind(session, at(new_due)) == 1


@pytest.mark.parametrize(("case", "words"), [
    ("same", "已由县住建局落实"), ("not_a_department", "不是承办部门"), ("no_reason", "改派的原因"),
    ("late_date", "天之内"), ("done", "不能再改派"), ("outsider", "无权改派"),
])
def test_it_refuses_a_bad_reassignment_and_writes_nothing(
    session: Session, assigned: Transfer, county_clerk: User, network: Network, case: str,
    words: str,
) -> None:
    who, department, due, note = county_clerk, network.water.id, None, REASON
    if case == "same":
        department = network.roads.id
    elif case == "not_a_department":
        department = network.township.id
    elif case == "no_reason":
        note = "  "
    elif case == "late_date":
        due = followup.today() + timedelta(days=followup.MAX_DAYS + 1)
    elif case == "done":
        followup.report_back(session, assigned, staff(session, "lu", Role.DEPARTMENT, network.roads),
                             "已修复。")
        session.commit()
    elif case == "outsider":
        who = staff(session, "dong", Role.SECRETARY_GENERAL, network.other_county)
    with pytest.raises(FollowUpError, match=words):
        followup_steps.reassign(session, assigned, who, department_id=department, due=due,
                                note=note)
    session.rollback()
    assert session.get_one(Transfer, assigned.id).department_id == network.roads.id
    assert _steps(session) == []


def test_it_escalates_an_overdue_instruction_once_to_the_leadership(
    session: Session, assigned: Transfer, county_clerk: User, network: Network, admin: User,
) -> None:
    county_sg = staff(session, "mishu", Role.SECRETARY_GENERAL, network.county)
    county_director = staff(session, "zhu", Role.DIRECTOR, network.county)
    other_director = staff(session, "dongzhu", Role.DIRECTOR, network.other_county)
    roads = staff(session, "lu", Role.DEPARTMENT, network.roads)
    due = followup.due_on(assigned)
    assert due is not None

    assert followup_steps.escalate(session, at(due, 22)) == 0  # the day is not over yet
    assert followup_steps.escalate(session, at(due + timedelta(days=1))) == 1
    session.commit()
    for later in (at(due + timedelta(days=1), 15), at(due + timedelta(days=5))):
        assert followup_steps.escalate(session, later) == 0
        session.commit()

    for who in (county_sg, county_director, admin, county_clerk):
        [alert] = _notices(session, who, "instruction_escalated")
        assert "督办" in alert.text and "县住建局" in alert.text and due.isoformat() in alert.text
        assert "县长办公室" in alert.text
    assert _notices(session, other_director, "instruction_escalated") == []
    assert _notices(session, roads, "instruction_escalated") == []
    [step] = _steps(session)
    assert (step.action, step.from_department_id, step.user_id) == ("escalated", network.roads.id,
                                                                    None)
    assert session.get_one(Transfer, assigned.id).escalated_at is not None
    # Reassigned by a new date, it may be escalated again when that one passes.
    new_due = due + timedelta(days=7)
    followup_steps.reassign(session, session.get_one(Transfer, assigned.id), county_clerk,
                            department_id=network.water.id, due=new_due, note=REASON,
                            now=at(due + timedelta(days=1)))
    session.commit()
    assert followup_steps.escalate(session, at(new_due + timedelta(days=1))) == 1
    session.commit()
    assert [s.action for s in _steps(session)] == ["escalated", "reassigned", "escalated"]


def test_an_answered_instruction_is_not_escalated(
    session: Session, assigned: Transfer, network: Network,
) -> None:
    due = followup.due_on(assigned)
    assert due is not None
    followup.report_back(session, assigned, staff(session, "lu", Role.DEPARTMENT, network.roads),
                         "已修复。")
    session.commit()
    assert followup_steps.escalate(session, at(due + timedelta(days=3))) == 0


def test_two_clerks_reassigning_at_once_move_it_once(
    Session_: sessionmaker[Session], session: Session, assigned: Transfer,  # noqa: N803
    county_clerk: User, network: Network,
) -> None:
    row_id, clerk_id = assigned.id, county_clerk.id
    targets = iter([network.water.id] * 3 + [network.water.id] * 3)

    def move(s: Session) -> int:
        return followup_steps.reassign(s, s.get_one(Transfer, row_id), s.get_one(User, clerk_id),
                                       department_id=next(targets), note=REASON).id

    outcomes = _race(Session_, 6, move)

    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert all(isinstance(o, (int, FollowUpError)) for o in outcomes)
    assert len(_steps(session)) == 1


def test_the_board_reassigns_and_shows_each_step(
    client: FlaskClient, session: Session, assigned: Transfer, county_clerk: User,
    network: Network,
) -> None:
    instruction_id = assigned.instruction_id
    outsider = staff(session, "dong", Role.SECRETARY_GENERAL, network.other_county)
    login(client, county_clerk.username)
    page = client.get("/instructions").get_data(as_text=True)
    assert f'action="/instructions/work/{assigned.id}/reassign"' in page

    bad = client.post(f"/instructions/work/{assigned.id}/reassign", data={
        "csrf_token": csrf(client, "/instructions"), "department_id": str(network.water.id),
        "due": "2026-99-01", "note": REASON})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "办理期限应为日期" in text and REASON in text and "<details class=\"reassign\" open" in text
    assert _steps(session) == []

    done = client.post(f"/instructions/work/{assigned.id}/reassign", data={
        "csrf_token": csrf(client, "/instructions"), "department_id": str(network.water.id),
        "note": REASON}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "已改派县水利局落实" in text
    assert f'id="steps-{instruction_id}"' in text and "县住建局 → 县水利局" in text
    client.get("/logout")

    login(client, outsider.username)
    assert client.post(f"/instructions/work/{assigned.id}/reassign", data={
        "csrf_token": csrf(client, "/instructions"), "department_id": str(network.roads.id),
        "note": REASON}).status_code == 404
    assert client.post("/instructions/work/999999/reassign", data={
        "csrf_token": csrf(client, "/instructions"), "department_id": str(network.roads.id),
        "note": REASON}).status_code == 404
    session.rollback()
    assert session.get_one(Transfer, assigned.id).department_id == network.water.id
