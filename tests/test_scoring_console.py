"""积分规则, 考评序列 and 积分排名 in the console: as the admin sets them up and as others read them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import openpyxl
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from store.models import Adoption, AssessmentSeries, Role, ScoreRuleSet, SeriesMember, User
from store.network import points as points_mod
from store.outputs import scorerules
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login

RULES = {key: "0" for key, _ in scorerules.RULES} | {"adopted.county": "3", "submitted": "1",
                                                      "submitted_per": "1"}


def _arrange(session: Session, network: Network, admin: User) -> None:
    for unit, title in ((network.county, "=HYPERLINK(\"http://x\",\"点我\")人民路路灯"),
                        (network.other_county, "东山镇自来水浑浊")):
        point = points_mod.create_point(session, f"{unit.name}采集点", address="人民路1号")
        point.unit_id = unit.id
        session.commit()
        report = make_report(session, point, title=title,
                             now=datetime(2026, 11, 3, 2, tzinfo=UTC))
        if unit is network.county:
            adopt(session, report, admin)
            session.execute(sa.update(Adoption).where(Adoption.report_id == report.id)
                            .values(adopted_on=date(2026, 11, 5)))
    session.commit()


def test_it_lets_the_admin_set_rules_and_series_and_everyone_read_the_ranking(
        app: Flask, session: Session, admin: User, network: Network) -> None:
    _arrange(session, network, admin)
    web = app.test_client()
    login(web, admin.username)
    # A rule set that would divide by zero is refused beside its field; nothing is kept.
    resp = web.post("/admin/scoring", data={"csrf_token": csrf(web, "/admin/scoring"),
                                            "effective_from": "2026-01-01",
                                            **(RULES | {"submitted_per": "0"})})
    assert resp.status_code == 422 and "除以零" in resp.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ScoreRuleSet)) == 0
    resp = web.post("/admin/scoring", data={"csrf_token": csrf(web, "/admin/scoring"),
                                            "effective_from": "2026-01-01", **RULES},
                    follow_redirects=True)
    assert "自 2026-01-01 起生效" in resp.get_data(as_text=True)
    # A series, and both counties placed in it for 2026.
    resp = web.post("/admin/series?year=2026", data={"csrf_token": csrf(web, "/admin/series"),
                                                     "name": "区县政协"}, follow_redirects=True)
    assert resp.status_code == 200
    session.rollback()  # end the test's read snapshot
    series = session.scalar(sa.select(AssessmentSeries))
    assert series is not None
    resp = web.post(f"/admin/series/{series.id}", data={
        "csrf_token": csrf(web, "/admin/series"), "year": "2026", "name": "区县政协",
        "unit_id": [str(network.county.id), str(network.other_county.id)]}, follow_redirects=True)
    assert "2026年度的 2 个单位" in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(SeriesMember)) == 2

    page = web.get("/scores?kind=month&value=2026-11").get_data(as_text=True)
    assert "2026年11月" in page and "<b>4.00</b>" in page and "<b>1.00</b>" in page
    detail = web.get(f"/scores/{series.id}/units/{network.county.id}?period=2026-11")
    text = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "人民路路灯" in text and "3.00" in text

    xlsx = web.get(f"/scores/{series.id}/ranking.xlsx?period=2026-11")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("名次", "单位", "总分")
    assert rows[1][:3] == (1, "城关县政协", "4.00") and rows[2][:3] == (2, "东山县政协", "1.00")
    text = web.get(f"/scores/{series.id}/ranking.csv?period=2026-11").data.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1][:3] == ["1", "城关县政协", "4.00"]
    # A bad period says so and shows last month instead.
    resp = web.get("/scores?kind=range&start=2026-12-01&end=2026-11-01")
    assert resp.status_code == 422 and "早于开始日期" in resp.get_data(as_text=True)


def test_it_hides_another_units_breakdown_and_keeps_departments_out(
        app: Flask, session: Session, admin: User, network: Network) -> None:
    _arrange(session, network, admin)
    series = AssessmentSeries(name="区县政协")
    session.add(series)
    session.flush()
    session.add_all([SeriesMember(series_id=series.id, unit_id=u.id, year=2026)
                     for u in (network.county, network.other_county)])
    session.commit()
    unit_admin = staff(session, "county-admin", Role.ADMIN, network.county)
    liaison = staff(session, "east-liaison", Role.UNIT_LIAISON, network.other_county)
    dept = staff(session, "roads", Role.DEPARTMENT, network.roads)
    own, other = (f"/scores/{series.id}/units/{u.id}?period=2026-11"
                  for u in (network.county, network.other_county))
    web = app.test_client()
    login(web, unit_admin.username)
    assert web.get(own).status_code == 200
    assert web.get(other).status_code == 404  # outside their unit: as if it did not exist
    ranking = web.get("/scores?period=2026-11").get_data(as_text=True)
    assert "东山县政协" in ranking and f"/units/{network.other_county.id}" not in ranking
    # Rules and series are the whole network's: an admin of one unit may not set them.
    assert web.post("/admin/scoring", data={"csrf_token": csrf(web, "/admin/scoring"),
                                            "effective_from": "2026-01-01", **RULES}
                    ).status_code == 403
    web = app.test_client()
    login(web, liaison.username)
    assert web.get(other).status_code == 200 and web.get(own).status_code == 404
    assert web.get("/admin/scoring").status_code == 403
    web = app.test_client()
    login(web, dept.username)
    for path in ("/scores", own, f"/scores/{series.id}/ranking.csv?period=2026-11"):
        assert web.get(path).status_code == 403
