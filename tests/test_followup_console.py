"""The 批示落实 page: a clerk hands an instruction over, the department reports back, outsiders get nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import (
    AdoptionLevel,
    CollectionPoint,
    Instruction,
    OutboxMessage,
    ReportEvent,
    Role,
    Transfer,
    User,
    utcnow,
)
from store.review import followup, instructions
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login

WORDS = "请住建局牵头，一个月内拿出路灯维修方案。"
RESULT = "已更换损坏路灯12盏，建立每月巡查制度。"


@pytest.fixture
def people(session: Session, network: Network) -> dict[str, User]:
    return {
        "clerk": staff(session, "cheng", Role.CLERK, network.county),
        "roads": staff(session, "lu", Role.DEPARTMENT, network.roads),
        "water": staff(session, "shui", Role.DEPARTMENT, network.water),
        "outsider": staff(session, "dong", Role.CLERK, network.other_county),
        "viewer": staff(session, "kan", Role.VIEWER, network.county),
    }


@pytest.fixture
def instruction(session: Session, point: CollectionPoint, network: Network, admin: User,
                people: dict[str, User]) -> Instruction:
    report = make_report(session, unit=network.county)
    adopt(session, report, admin)
    row = instructions.record(session, report, people["clerk"], leader_name="王明",
                              leader_title="县长", level=AdoptionLevel.COUNTY, text=WORDS,
                              instructed_on=utcnow().date())
    session.commit()
    return row


def _post(client: FlaskClient, path: str, follow: bool = True, **data: str) -> tuple[int, str]:
    body = {"csrf_token": csrf(client, "/notices"), **data}
    resp = client.post(path, data=body, follow_redirects=follow)
    return resp.status_code, resp.get_data(as_text=True)


def _rows(session: Session) -> list[Transfer]:
    session.rollback()
    return list(session.scalars(sa.select(Transfer).order_by(Transfer.id)))


def test_a_clerk_hands_over_and_the_department_reports_back(
    client: FlaskClient, session: Session, instruction: Instruction, network: Network,
) -> None:
    due = (followup.today() + timedelta(days=7)).isoformat()
    login(client, "cheng")
    page = client.get("/instructions").get_data(as_text=True)
    assert "县长 王明" in page and "待交办" in page and WORDS in page

    status, page = _post(client, f"/instructions/{instruction.id}/assign",
                         department_id=str(network.roads.id), due=due, note="请抓紧")
    assert status == 200 and "已交办" in page and "办理中" in page and "县住建局" in page
    [row] = _rows(session)
    assert (row.kind, row.instruction_id, row.department_id) == ("instruction", instruction.id,
                                                                 network.roads.id)
    client.get("/logout")

    login(client, "lu")
    page = client.get("/instructions").get_data(as_text=True)
    assert WORDS in page and "报送落实情况" in page
    status, page = _post(client, f"/instructions/work/{row.id}/report", text=RESULT)
    assert status == 200 and "落实情况已报送" in page
    [row] = _rows(session)
    assert (row.status, row.reply) == ("replied", RESULT)
    told = session.scalars(sa.select(OutboxMessage.text).where(
        OutboxMessage.reporter_id.is_not(None)).order_by(OutboxMessage.id.desc())).first()
    assert told is not None and "已按批示要求办理" in told and RESULT not in told
    # The report page shows what became of the instruction.
    page = client.get(f"/reports/{instruction.report_id}").get_data(as_text=True)
    assert "落实情况" in page and RESULT in page


def test_bad_input_comes_back_beside_the_instruction_with_what_was_typed(
    client: FlaskClient, session: Session, instruction: Instruction, network: Network,
) -> None:
    network.roads.retired_at = utcnow()
    session.commit()
    login(client, "cheng")
    due = (followup.today() + timedelta(days=7)).isoformat()

    status, page = _post(client, f"/instructions/{instruction.id}/assign",
                         department_id=str(network.roads.id), due=due, note="我的交办说明")
    assert status == 422 and "已撤销" in page and "我的交办说明" in page and due in page
    status, page = _post(client, f"/instructions/{instruction.id}/assign",
                         department_id=str(network.water.id), due="明天")
    assert status == 422 and "请填写办理期限" in page
    status, page = _post(client, f"/instructions/{instruction.id}/assign", due=due)
    assert status == 422 and "请选择承办部门" in page
    assert _rows(session) == []


def test_a_department_sees_only_its_own_and_answers_only_its_own(
    client: FlaskClient, session: Session, instruction: Instruction, network: Network,
    people: dict[str, User],
) -> None:
    row = followup.assign(session, instruction, people["clerk"], department_id=network.roads.id,
                          due=followup.today() + timedelta(days=3))
    session.commit()
    login(client, "shui")

    page = client.get("/instructions").get_data(as_text=True)
    assert WORDS not in page and "暂无" in page
    status, _ = _post(client, f"/instructions/work/{row.id}/report", text="冒充")
    assert status == 404
    assert client.get(f"/reports/{instruction.report_id}").status_code == 404
    # A department may not hand anything over.
    status, _ = _post(client, f"/instructions/{instruction.id}/assign",
                      department_id=str(network.water.id),
                      due=followup.today().isoformat())
    assert status == 403
    assert [r.status for r in _rows(session)] == ["open"]


@pytest.mark.parametrize("who", ["dong", "kan"])
def test_outsiders_and_forged_ids_get_nothing(
    client: FlaskClient, session: Session, instruction: Instruction, network: Network,
    people: dict[str, User], who: str,
) -> None:
    row = followup.assign(session, instruction, people["clerk"], department_id=network.roads.id,
                          due=followup.today() + timedelta(days=3))
    session.commit()
    login(client, who)
    due = followup.today().isoformat()

    status, page = _post(client, f"/instructions/{instruction.id}/assign",
                         department_id=str(network.roads.id), due=due)
    # Another county's clerk: no such instruction; a viewer: not their role.
    assert status == (404 if who == "dong" else 403)
    status, _ = _post(client, f"/instructions/work/{row.id}/report", text="冒充")
    assert status == 403
    if who == "dong":
        assert WORDS not in client.get("/instructions").get_data(as_text=True)
        for forged in (instruction.id + 1000, 0):
            status, _ = _post(client, f"/instructions/{forged}/assign",
                              department_id=str(network.roads.id), due=due)
            assert status == 404
    else:
        assert client.get("/instructions").status_code == 403
    assert [(r.department_id, r.status) for r in _rows(session)] == [(network.roads.id, "open")]
    assert session.scalar(sa.select(sa.func.count()).select_from(ReportEvent).where(
        ReportEvent.action == "instruction_done")) == 0


def test_it_needs_a_csrf_token_and_a_login(
    client: FlaskClient, session: Session, instruction: Instruction, network: Network,
) -> None:
    resp = client.post(f"/instructions/{instruction.id}/assign",
                       data={"department_id": str(network.roads.id), "due": "2030-01-01"})
    assert resp.status_code in (302, 400)
    login(client, "cheng")
    resp = client.post(f"/instructions/{instruction.id}/assign",
                       data={"department_id": str(network.roads.id), "due": "2030-01-01"})
    assert resp.status_code == 400
    assert _rows(session) == []


def test_the_board_links_each_leader_and_unit_to_its_list(
    client: FlaskClient, session: Session, instruction: Instruction, network: Network,
    people: dict[str, User],
) -> None:
    followup.assign(session, instruction, people["clerk"], department_id=network.roads.id,
                    due=followup.today() + timedelta(days=3))
    session.commit()
    login(client, "cheng")

    page = client.get("/instructions").get_data(as_text=True)
    links = re.findall(r'href="(/instructions\?[^"]+)"', page)
    assert any("leader=" in link for link in links)
    assert f"/instructions?unit={network.roads.id}" in links
    by_unit = client.get(f"/instructions?unit={network.water.id}").get_data(as_text=True)
    assert WORDS not in by_unit
    by_leader = client.get("/instructions?leader=县长 王明").get_data(as_text=True)
    assert WORDS in by_leader
