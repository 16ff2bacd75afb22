"""函送参考 in the console: chosen on a declined report's page, answered on the department's page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import CollectionPoint, OutboxMessage, Report, Role, Transfer, User, utcnow
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import reference
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt, sign_off_to_final
from tests.web_support import csrf, login

REPLY = "感谢来信，已纳入明年道路照明改造计划统筹考虑。"


@pytest.fixture
def people(session: Session, network: Network) -> dict[str, User]:
    return {
        "clerk": staff(session, "cheng", Role.CLERK, network.county),
        "roads": staff(session, "lu", Role.DEPARTMENT, network.roads),
        "water": staff(session, "shui", Role.DEPARTMENT, network.water),
        "outsider": staff(session, "dong", Role.CLERK, network.other_county),
    }


@pytest.fixture
def declined(session: Session, point: CollectionPoint, network: Network, admin: User,
             people: dict[str, User]) -> Report:
    report = make_report(session, unit=network.county)
    sign_off_to_final(session, report, admin)
    lifecycle.apply(session, report, Action.DECLINE, user=admin, note="已在政府部门研究处理中")
    session.commit()
    return report


def _refer(client: FlaskClient, session: Session, report: Report, **data: str) -> tuple[int, str]:
    session.rollback()
    version = session.get_one(Report, report.id).version
    body = {"version": str(version), "csrf_token": csrf(client, "/notices"), **data}
    resp = client.post(f"/reports/{report.id}/refer", data=body, follow_redirects=True)
    return resp.status_code, resp.get_data(as_text=True)


def _rows(session: Session) -> list[Transfer]:
    session.rollback()
    return list(session.scalars(sa.select(Transfer).order_by(Transfer.id)))


def test_a_clerk_refers_from_the_report_page_and_the_department_answers(
    client: FlaskClient, session: Session, declined: Report, network: Network
) -> None:
    login(client, "cheng")
    page = client.get(f"/reports/{declined.id}").get_data(as_text=True)
    assert 'id="choose-refer"' in page
    form = client.get(f"/reports/{declined.id}?action=refer").get_data(as_text=True)
    assert 'id="refer"' in form and "县住建局" in form

    status, page = _refer(client, session, declined, department_id=str(network.roads.id),
                          note="供参考")
    assert status == 200 and "已函送县住建局参考" in page and 'id="references"' in page
    [row] = _rows(session)
    assert (row.kind, row.department_id, row.note) == ("reference", network.roads.id, "供参考")
    client.get("/logout")

    login(client, "lu")
    page = client.get("/references").get_data(as_text=True)
    assert declined.title in page and "提交回复" in page
    resp = client.post(f"/references/{row.id}/reply",
                       data={"text": REPLY, "csrf_token": csrf(client, "/notices")},
                       follow_redirects=True)
    assert resp.status_code == 200 and "回复已提交" in resp.get_data(as_text=True)
    [row] = _rows(session)
    assert (row.status, row.reply) == ("replied", REPLY)
    told = session.scalars(sa.select(OutboxMessage.text).where(
        OutboxMessage.reporter_id.is_not(None)).order_by(OutboxMessage.id.desc())).first()
    assert told is not None and REPLY in told


def test_it_keeps_what_was_typed_and_says_why(
    client: FlaskClient, session: Session, declined: Report, network: Network
) -> None:
    network.roads.retired_at = utcnow()
    session.commit()
    login(client, "cheng")

    status, page = _refer(client, session, declined, department_id=str(network.roads.id),
                          note="我的函送说明")
    assert status == 422 and "已撤销" in page and "我的函送说明" in page
    status, page = _refer(client, session, declined, note="我的函送说明")
    assert status == 422 and "请选择函送的部门" in page and "我的函送说明" in page
    assert _rows(session) == []


def test_an_adopted_report_is_not_referred(
    client: FlaskClient, session: Session, point: CollectionPoint, network: Network, admin: User,
    people: dict[str, User],
) -> None:
    report = make_report(session, title="已采用的信息", unit=network.county)
    adopt(session, report, admin)
    session.commit()
    login(client, "cheng")

    assert 'id="choose-refer"' not in client.get(f"/reports/{report.id}").get_data(as_text=True)
    status, page = _refer(client, session, report, department_id=str(network.roads.id))
    assert status == 200 and "请用“转办”交有关部门办理" in page
    assert _rows(session) == []


def test_attackers_get_nothing(
    client: FlaskClient, session: Session, declined: Report, network: Network,
    people: dict[str, User],
) -> None:
    row = reference.send(session, declined, people["clerk"], department_id=network.roads.id)
    session.commit()

    login(client, "dong")  # another county's clerk
    status, _ = _refer(client, session, declined, department_id=str(network.water.id))
    assert status == 404
    assert declined.title not in client.get("/references").get_data(as_text=True)
    resp = client.post(f"/references/{row.id}/reply",
                       data={"text": "冒充", "csrf_token": csrf(client, "/notices")})
    assert resp.status_code == 403
    client.get("/logout")

    login(client, "shui")  # the other department
    assert declined.title not in client.get("/references").get_data(as_text=True)
    token = csrf(client, "/notices")
    for forged in (row.id, row.id + 1000):
        resp = client.post(f"/references/{forged}/reply", data={"text": "冒充", "csrf_token": token})
        assert resp.status_code == 404
    status, _ = _refer(client, session, declined, department_id=str(network.water.id))
    assert status == 403
    assert [(r.status, r.reply) for r in _rows(session)] == [("open", None)]
