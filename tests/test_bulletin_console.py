"""通报 in the console: build a period, download and open its files, the day, opting out."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import docx
import openpyxl
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from store.models import Bulletin, OfficeSetting, Role, User
from store.network import points as points_mod
from store.outputs import scoring
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.web_support import csrf, login


def _november(session: Session, network: Network) -> None:
    point = points_mod.create_point(session, "城关镇便民服务中心", address="人民路1号")
    point.unit_id = network.county.id
    session.commit()
    make_report(session, point, title="=HYPERLINK(\"http://x\")路灯不亮😀",
                now=datetime(2026, 11, 8, 2, tzinfo=UTC))
    series = scoring.create_series(session, "区县政协")
    scoring.place(session, series, 2026, [network.county.id, network.other_county.id])
    session.commit()


def test_it_builds_a_bulletin_now_and_offers_its_files(
        app: Flask, session: Session, clerk: User, network: Network) -> None:
    _november(session, network)
    web = app.test_client()
    login(web, clerk.username)
    resp = web.post("/bulletins/build", data={"csrf_token": csrf(web, "/bulletins"),
                                              "period": "2026-02-30..2026-01-01"})
    assert resp.status_code == 422 and "看不懂的统计期间" in resp.get_data(as_text=True)
    resp = web.post("/bulletins/build", data={"csrf_token": csrf(web, "/bulletins"),
                                              "period": "2026-11"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "已生成2026年11月通报" in page and "未发送" in page
    session.rollback()
    row = session.scalar(sa.select(Bulletin))
    assert row is not None and row.period == "2026-11" and row.built_by_id == clerk.id
    xlsx = web.get(f"/bulletins/{row.id}.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data))["各单位情况"].iter_rows(values_only=True))
    assert rows[1][:3] == ("城关县政协", 1, 0)
    word = docx.Document(io.BytesIO(web.get(f"/bulletins/{row.id}.docx").data))
    assert word.paragraphs[0].text == "2026年11月社情民意信息工作情况通报"
    assert [c.text for c in word.tables[1].rows[1].cells][:2] == ["1", "城关县政协"]
    # Built already: said so, not built twice.
    page = web.post("/bulletins/build", data={"csrf_token": csrf(web, "/bulletins"),
                                              "period": "2026-11"}, follow_redirects=True
                    ).get_data(as_text=True)
    assert "此前已生成" in page
    assert web.get("/bulletins/999.xlsx").status_code == 404
    # Only administrators set the day.
    assert web.post("/bulletins/schedule", data={"csrf_token": csrf(web, "/bulletins"),
                                                 "day": "5"}).status_code == 403


def test_it_lets_the_admin_set_the_day_and_a_liaison_opt_out(
        app: Flask, session: Session, admin: User, network: Network) -> None:
    web = app.test_client()
    login(web, admin.username)
    resp = web.post("/bulletins/schedule", data={"csrf_token": csrf(web, "/bulletins"),
                                                 "day": "31"})
    assert resp.status_code == 422 and "1～28" in resp.get_data(as_text=True)
    page = web.post("/bulletins/schedule", data={"csrf_token": csrf(web, "/bulletins"),
                                                 "day": "5"}, follow_redirects=True
                    ).get_data(as_text=True)
    assert "每月 5 日自动生成上月通报" in page
    session.rollback()
    assert session.get_one(OfficeSetting, "bulletin").value == {"day": 5}

    unit_admin = staff(session, "county-admin", Role.ADMIN, network.county)
    liaison = staff(session, "county-liaison", Role.UNIT_LIAISON, network.county)
    web = app.test_client()
    login(web, unit_admin.username)
    assert web.post("/bulletins/schedule", data={"csrf_token": csrf(web, "/bulletins"),
                                                 "day": "9"}).status_code == 403
    web = app.test_client()
    login(web, liaison.username)
    assert web.get("/bulletins").status_code == 403
    assert "每期通报生成后" in web.get("/account").get_data(as_text=True)
    page = web.post("/account/bulletin", data={"csrf_token": csrf(web, "/account")},
                    follow_redirects=True).get_data(as_text=True)
    assert "以后的通报不再发给您" in page
    session.rollback()
    session.refresh(liaison)
    assert liaison.bulletin_opt_out is True
