"""报送 as a clerk does it (the console, the command line) and as an attacker tries it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store import migrate
from store.models import AdoptionLevel, OutboxMessage, Report, Role, UpwardRecord, UpwardStatus, User
from store.outputs import adoption, destinations
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.test_cli import env as cli_env  # noqa: F401  (the clean CLI environment)
from tests.web_support import csrf, login


def _adopted(session: Session, admin: User, network: Network, title: str = "人民路路灯长期不亮") -> Report:
    report = make_report(session, title=title, external_id=f"tg-{title}")
    report.unit_id = network.county.id
    adopt(session, report, admin)
    session.commit()
    return report


def test_a_clerk_reports_up_from_the_report_page_and_records_the_outcome(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    sg = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)
    report = _adopted(session, admin, network)
    province = destinations.find(session, "省政协办公厅")
    login(client, sg.username)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="report-up"' in page and "县（区）政协采用" in page

    token = csrf(client, f"/reports/{report.id}")
    resp = client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": token, "destination_id": province.id}, follow_redirects=True)
    assert "已报送「省政协办公厅」（第 1 版）" in resp.get_data(as_text=True)
    session.rollback()
    record = session.scalars(sa.select(UpwardRecord)).one()
    assert (record.sent_by_id, record.status) == (sg.id, UpwardStatus.SENT)

    again = client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": token, "destination_id": province.id}, follow_redirects=True)
    assert "尚无结果" in again.get_data(as_text=True)

    bad = client.post(f"/upward/records/{record.id}/outcome", data={
        "csrf_token": token, "status": "adopted", "on": "2026-13-40", "publication": "《政协信息》"})
    assert bad.status_code == 422
    assert "日期格式应为" in bad.get_data(as_text=True) and "《政协信息》" in bad.get_data(as_text=True)

    done = client.post(f"/upward/records/{record.id}/outcome", data={
        "csrf_token": token, "status": "adopted", "publication": "《政协信息》"}, follow_redirects=True)
    assert "已登记结果：采用" in done.get_data(as_text=True)
    session.rollback()
    assert record.status is UpwardStatus.ADOPTED
    assert adoption.highest(session, report) is AdoptionLevel.PROVINCE
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "省政协采用" in page and "《政协信息》" in page


def test_the_receiving_unit_sees_the_item_in_its_inbox_and_answers_it(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    sender = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)
    receiver = staff(session, "east-sg", Role.SECRETARY_GENERAL, network.other_county)
    report = _adopted(session, admin, network)
    east = destinations.create(session, "东山县政协", AdoptionLevel.CITY, network.other_county.id)
    session.commit()
    login(client, sender.username)
    client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": csrf(client, "/reports"), "destination_id": east.id})
    client.get("/logout")
    session.rollback()
    record = session.scalars(sa.select(UpwardRecord)).one()

    login(client, receiver.username)
    inbox = client.get("/reports").get_data(as_text=True)
    assert 'id="incoming"' in inbox and "人民路路灯长期不亮" in inbox and "城关县政协" in inbox
    # The report is theirs to read from now on, with who sent which version.
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="received"' in page and "城关县政协" in page and "第 1 版" in page
    page = client.get(f"/upward/records/{record.id}").get_data(as_text=True)
    assert 'id="answer"' in page and report.situation in page
    client.post(f"/upward/records/{record.id}/outcome", data={
        "csrf_token": csrf(client, "/reports"), "status": "adopted"})
    session.rollback()
    assert record.status is UpwardStatus.ADOPTED and record.outcome_by_id == receiver.id
    told = session.scalars(sa.select(OutboxMessage.text).where(OutboxMessage.report_id == report.id)
                           .order_by(OutboxMessage.id.desc())).first()
    assert told is not None and "已被市政协采用" in told


def test_attackers_get_exact_refusals(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    report = _adopted(session, admin, network)
    province = destinations.find(session, "省政协办公厅")
    outsider = staff(session, "east-sg", Role.SECRETARY_GENERAL, network.other_county)
    viewer = staff(session, "county-viewer", Role.VIEWER, network.county)
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    login(client, admin.username)
    client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": csrf(client, "/reports"), "destination_id": province.id})
    client.get("/logout")
    session.rollback()
    record = session.scalars(sa.select(UpwardRecord)).one()

    login(client, outsider.username)
    token = csrf(client, "/reports")
    assert client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": token, "destination_id": province.id}).status_code == 404
    assert client.get(f"/upward/records/{record.id}").status_code == 404
    assert client.post(f"/upward/records/{record.id}/outcome", data={
        "csrf_token": token, "status": "adopted"}).status_code == 404
    assert client.get("/upward/records/999999").status_code == 404
    client.get("/logout")

    login(client, viewer.username)
    token = csrf(client, "/reports")
    assert client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": token, "destination_id": province.id}).status_code == 403
    assert client.post(f"/upward/records/{record.id}/outcome", data={
        "csrf_token": token, "status": "adopted"}).status_code == 403
    assert client.get("/upward/destinations").status_code == 403
    client.get("/logout")

    login(client, clerk.username)
    token = csrf(client, "/reports")
    assert client.post("/upward/destinations", data={
        "csrf_token": token, "name": "伪造去向", "level": "national"}).status_code == 403
    assert client.post("/upward/chains", data={
        "csrf_token": token, "unit_id": network.county.id, "chain": "1"}).status_code == 403
    # A destination id the clerk is not offered (or that does not exist) is refused, not used.
    resp = client.post(f"/reports/{report.id}/upward", data={
        "csrf_token": token, "destination_id": "999999"}, follow_redirects=True)
    assert "请从列表中选择报送去向" in resp.get_data(as_text=True)
    session.rollback()
    assert record.status is UpwardStatus.SENT
    assert session.scalar(sa.select(sa.func.count()).select_from(UpwardRecord)) == 1


def test_an_admin_edits_destinations_and_a_units_chain(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    login(client, admin.username)
    token = csrf(client, "/upward/destinations")
    resp = client.post("/upward/destinations", data={
        "csrf_token": token, "name": "市政协研究室", "level": "city"}, follow_redirects=True)
    assert "已添加报送去向「市政协研究室」" in resp.get_data(as_text=True)
    resp = client.post("/upward/destinations", data={
        "csrf_token": token, "name": "", "level": "city"}, follow_redirects=True)
    assert "请填写报送去向的名称" in resp.get_data(as_text=True)
    session.rollback()
    new = destinations.find(session, "市政协研究室")
    province = destinations.find(session, "省政协办公厅")
    resp = client.post("/upward/chains", data={
        "csrf_token": token, "unit_id": network.county.id, "chain": f"{new.id}，{province.id}"},
        follow_redirects=True)
    assert "市政协研究室 → 省政协办公厅" in resp.get_data(as_text=True)
    session.rollback()
    assert [d.id for d in destinations.chain(session, network.county.id)] == [new.id, province.id]
    resp = client.post("/upward/chains", data={
        "csrf_token": token, "unit_id": network.county.id, "chain": "a,b"}, follow_redirects=True)
    assert "请只填写报送去向的编号" in resp.get_data(as_text=True)


def test_the_command_line_reports_up_and_records_an_instruction(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from store.db import make_engine, make_sessionmaker
    from store.models import Unit, UnitKind

    migrate.upgrade(cli_env)
    engine = make_engine(cli_env)
    with make_sessionmaker(engine)() as s:
        from store.network import users

        admin = users.create_user(s, "root", "correct horse battery", Role.ADMIN)
        unit = Unit(name="城关县政协", kind=UnitKind.CPPCC)
        s.add(unit)
        s.flush()
        report = make_report(s, title="人民路路灯长期不亮")
        pending = make_report(s, title="尚未审核的信息", external_id="tg-2")
        adopt(s, report, admin)
        s.commit()
        no, pending_no = report.tracking_no, pending.tracking_no

    assert main(["report-up", no, "--to", "省政协办公厅"]) == 0
    assert "sent to 省政协办公厅 (version 1)" in capsys.readouterr().out
    assert main(["report-up", no, "--to", "省政协办公厅"]) == 1
    assert "尚无结果" in capsys.readouterr().err
    assert main(["report-up", pending_no, "--to", "省政协办公厅"]) == 1
    assert "尚未采用" in capsys.readouterr().err
    assert main(["report-up", no, "--to", "火星办公室"]) == 1
    assert "没有名为「火星办公室」" in capsys.readouterr().err
    assert main(["report-up", no, "--outcome", "instructed", "--date", "2026-02-30"]) == 1
    assert "--date" in capsys.readouterr().err
    assert main(["report-up", no, "--outcome", "instructed"]) == 1
    assert "请填写作出批示的领导" in capsys.readouterr().err
    assert main(["report-up", no, "--outcome", "instructed", "--destination", "省政协办公厅",
                 "--leader", "张省长", "--level", "province"]) == 0
    assert "instructed at province" in capsys.readouterr().out
    assert main(["report-up", no, "--outcome", "adopted"]) == 1
    assert "没有等待结果的报送" in capsys.readouterr().err

    with make_sessionmaker(engine)() as s:
        report = s.scalars(sa.select(Report).where(Report.tracking_no == no)).one()
        assert adoption.highest(s, report) is AdoptionLevel.PROVINCE
        record = s.scalars(sa.select(UpwardRecord)).one()
        assert (record.leader, record.sent_by_id, record.outcome_by_id) == ("张省长", None, None)
    engine.dispose()
