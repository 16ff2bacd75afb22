"""报送 inside the network, onward: county → city → province, each unit adopting and sending on."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store import access
from store.models import (
    AdoptionLevel,
    Report,
    ReportEvent,
    Role,
    Unit,
    UnitKind,
    UpwardRecord,
    UpwardStatus,
    User,
)
from store.outputs import adoption, destinations, upward
from store.search import Filters, search
from tests.conftest import staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login


def _units(session: Session) -> dict[str, Unit]:
    # Siblings, none below another: only 报送 lets one see the others' reports.
    made = {key: Unit(name=name, kind=UnitKind.CPPCC) for key, name in (
        ("county", "城关县政协"), ("city", "江城市政协"), ("province", "江南省政协"),
        ("other", "东山县政协"))}
    session.add_all(made.values())
    session.commit()
    return made


def _chain(session: Session, made: dict[str, Unit]) -> dict[str, int]:
    city = destinations.create(session, "江城市政协办公室", AdoptionLevel.CITY, made["city"].id)
    province = destinations.create(session, "江南省政协办公厅", AdoptionLevel.PROVINCE,
                                   made["province"].id)
    national = destinations.find(session, "全国政协办公厅")
    destinations.set_chain(session, made["county"], [city.id])
    destinations.set_chain(session, made["city"], [province.id])
    destinations.set_chain(session, made["province"], [national.id])
    session.commit()
    return {"city": city.id, "province": province.id, "national": national.id}


def _send(client: FlaskClient, report: Report, destination_id: int) -> str:
    return client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": csrf(client, "/reports"), "destination_id": destination_id},
        follow_redirects=True).get_data(as_text=True)


def _adopt_received(client: FlaskClient, session: Session, report: Report, unit: Unit) -> None:
    session.rollback()
    record = session.scalars(sa.select(UpwardRecord).join(UpwardRecord.destination)
                             .where(UpwardRecord.report_id == report.id)
                             .where(sa.text("upward_destinations.unit_id = :u")).params(u=unit.id)).one()
    done = client.post(f"/upward/records/{record.id}/outcome", data={
        "csrf_token": csrf(client, "/reports"), "status": "adopted", "publication": "《政协信息》"},
        follow_redirects=True)
    assert "已登记结果：采用" in done.get_data(as_text=True)


def test_it_passes_a_report_up_the_network_each_unit_adopting_and_sending_on(
        client: FlaskClient, session: Session, admin: User) -> None:
    made = _units(session)
    dest = _chain(session, made)
    people = {key: staff(session, f"{key}-sg", Role.SECRETARY_GENERAL, unit)
              for key, unit in made.items()}
    report = make_report(session, unit=made["county"], title="村道塌方无人修")
    adopt(session, report, admin)
    session.commit()

    login(client, people["county"].username)
    assert "已报送「江城市政协办公室」（第 1 版）" in _send(client, report, dest["city"])
    client.get("/logout")

    # The city sees the report (in its inbox and on its page) with who sent which version.
    login(client, people["city"].username)
    assert "村道塌方无人修" in client.get("/reports").get_data(as_text=True)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="received"' in page and "城关县政协" in page and "第 1 版" in page
    # Sending on before adopting it is refused in words; nothing is written.
    assert "请先登记采用结果" in _send(client, report, dest["province"])
    _adopt_received(client, session, report, made["city"])
    assert "已报送「江南省政协办公厅」" in _send(client, report, dest["province"])
    client.get("/logout")

    login(client, people["province"].username)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="received"' in page and "江城市政协" in page
    _adopt_received(client, session, report, made["province"])
    assert "已报送「全国政协办公厅」" in _send(client, report, dest["national"])
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    today = adoption.today().isoformat()
    for level in ("县（区）政协采用", "市政协采用", "省政协采用"):
        assert level in page
    assert page.count(today) >= 3
    client.get("/logout")

    session.rollback()
    history = adoption.history(session, report)
    assert [(a.level, a.body, a.adopted_on) for a in history] == [
        (AdoptionLevel.COUNTY, None, adoption.today()),
        (AdoptionLevel.CITY, "江城市政协办公室", adoption.today()),
        (AdoptionLevel.PROVINCE, "江南省政协办公厅", adoption.today())]
    records = upward.for_report(session, report)
    assert [(r.sending_unit_id, r.destination_id, r.status) for r in records] == [
        (made["county"].id, dest["city"], UpwardStatus.ADOPTED),
        (made["city"].id, dest["province"], UpwardStatus.ADOPTED),
        (made["province"].id, dest["national"], UpwardStatus.SENT)]
    assert adoption.highest(session, report) is AdoptionLevel.PROVINCE

    # The county may not enter what the outside body answered the province, nor the city.
    county_sees = upward.visible_record(session, people["county"], records[2].id)
    assert county_sees is not None
    assert not upward.can_answer(session, people["county"], records[2])
    assert not upward.can_answer(session, people["city"], records[2])
    assert upward.can_answer(session, people["province"], records[2])

    # An unrelated unit: as if the report did not exist.
    login(client, people["other"].username)
    assert client.get(f"/reports/{report.id}").status_code == 404
    for r in records:
        assert client.get(f"/upward/records/{r.id}").status_code == 404
    assert "村道塌方无人修" not in client.get("/reports").get_data(as_text=True)


def test_a_receiving_unit_reads_and_sends_on_but_does_not_run_the_report(
        client: FlaskClient, session: Session, admin: User) -> None:
    made = _units(session)
    dest = _chain(session, made)
    sender = staff(session, "county-sg", Role.SECRETARY_GENERAL, made["county"])
    receiver = staff(session, "city-sg", Role.SECRETARY_GENERAL, made["city"])
    city_viewer = staff(session, "city-viewer", Role.VIEWER, made["city"])
    report = make_report(session, unit=made["county"], title="村道塌方无人修")
    adopt(session, report, admin)
    session.commit()
    upward.send(session, report, destinations.get(session, dest["city"]), user=sender)  # type: ignore[arg-type]
    session.commit()
    events = session.scalar(sa.select(sa.func.count()).select_from(ReportEvent)
                            .where(ReportEvent.report_id == report.id))

    assert access.can_see(session, receiver, report) and not access.can_handle(session, receiver, report)
    assert search(session, receiver, Filters()).total == 1
    assert access.reveal_identity(session, receiver, report, "identity") is None
    assert not access.can_see(session, city_viewer, report)  # office staff receive, not viewers

    login(client, receiver.username)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="notes"' not in page and "查看反映人信息" not in page
    token = csrf(client, "/reports")
    assert client.post(f"/reports/{report.id}/identity", data={"csrf_token": token}).status_code == 403
    client.post(f"/reports/{report.id}/act", data={
        "csrf_token": token, "action": "close", "note": "越权", "version": str(report.version)})
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ReportEvent)
                          .where(ReportEvent.report_id == report.id)) == events
