"""The console's 办理时限: the settings page, the 逾期 tab of the inbox, the transfer form's limits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store import workdays
from store.models import CollectionPoint, Report, Transfer, User
from store.review import deadlines
from store.workdays import OFFICE_TZ, end_of
from tests.conftest import Network
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login

FORM = {f"days_{s.key}": str(s.days) for s in deadlines.STEPS} | \
    {f"hours_{s.key}": str(s.hours) for s in deadlines.STEPS if s.hours is not None} | \
    {"calendar": "china", "days_off": "", "days_on": ""}


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=OFFICE_TZ).astimezone(UTC)


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """The settings page's idea of today (it warns about the years ahead of it)."""
    monkeypatch.setattr("web.admin_deadlines.utcnow", lambda: at(day))


def test_it_keeps_the_page_to_admins(client: FlaskClient, clerk: User, session: Session) -> None:
    login(client, "carol")
    assert client.get("/admin/deadlines").status_code == 403
    resp = client.post("/admin/deadlines", data={**FORM, "days_first": "9",
                                                 "csrf_token": csrf(client, "/reports")})
    assert resp.status_code == 403
    session.rollback()
    assert deadlines.rules(session).days_for("first") == 3


def test_it_says_which_coming_year_the_holiday_table_lacks(
    client: FlaskClient, admin: User, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    last = workdays.known_range()[1]
    login(client, "alice")
    _today(monkeypatch, date(last, 11, 20))
    page = client.get("/admin/deadlines").get_data(as_text=True)
    assert 'id="unknown-years"' in page
    assert f"还没有 {last + 1} 年的" in page and "暂按周末计算" in page
    _today(monkeypatch, date(last, 6, 1))
    assert 'id="unknown-years"' not in client.get("/admin/deadlines").get_data(as_text=True)
    # An office on weekends only is not warned: it asked for no holiday table.
    _today(monkeypatch, date(last, 11, 20))
    deadlines.save(session, calendar="weekends", days={}, hours={})
    session.commit()
    assert 'id="unknown-years"' not in client.get("/admin/deadlines").get_data(as_text=True)


def test_it_saves_the_limits_and_the_offices_own_days(
    client: FlaskClient, admin: User, session: Session
) -> None:
    login(client, "alice")
    page = client.get("/admin/deadlines").get_data(as_text=True)
    assert "初审" in page and "部门办理回复" in page and 'name="hours_first"' in page
    assert 'name="hours_supplement"' not in page  # the reporter's time is never in hours
    resp = client.post("/admin/deadlines", follow_redirects=True, data={
        **FORM, "days_first": "4", "hours_transfer": "48", "calendar": "weekends",
        "days_off": "2027-02-08\n2027-02-09，2027-02-10", "csrf_token": csrf(client, "/admin/deadlines")})
    assert resp.status_code == 200 and "已保存办理时限" in resp.get_data(as_text=True)
    session.rollback()
    rules = deadlines.rules(session)
    assert (rules.calendar_key, rules.days_for("first"), rules.hours_for("transfer")) == ("weekends", 4, 48)
    assert rules.days_off == {date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)}
    page = client.get("/admin/deadlines").get_data(as_text=True)
    assert 'value="4"' in page and "2027-02-08\n2027-02-09\n2027-02-10" in page


def test_bad_input_is_shown_beside_its_field_and_nothing_is_saved(
    client: FlaskClient, admin: User, session: Session
) -> None:
    login(client, "alice")
    resp = client.post("/admin/deadlines", data={
        **FORM, "days_first": "0", "hours_answer": "很快", "days_off": "2027-02-08\n2月9日",
        "csrf_token": csrf(client, "/admin/deadlines")})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="err-days_first"' in page and 'id="err-hours_answer"' in page
    assert "看不懂的日期：2月9日" in page
    assert 'value="很快"' in page and "2027-02-08\n2月9日" in page  # what was typed is kept
    resp = client.post("/admin/deadlines", data={
        **FORM, "days_remind": "8", "csrf_token": csrf(client, "/admin/deadlines")})
    assert resp.status_code == 422 and "提醒补充须早于补充期限" in resp.get_data(as_text=True)
    session.rollback()
    assert deadlines.rules(session) == deadlines.Rules()


def test_the_inbox_has_a_late_tab_with_badges(
    client: FlaskClient, admin: User, session: Session, point: CollectionPoint
) -> None:
    # Filed in March 2026 and still waiting: long past 初审 and the answer date.
    late = make_report(session, point, title="人民路路灯长期不亮", now=at(date(2026, 3, 2)))
    fresh = make_report(session, point, title="菜市场占道经营")  # just now: days to go
    login(client, "alice")
    page = client.get("/reports").get_data(as_text=True)
    assert re.search(r'id="tab-late">逾期 <b>1</b>', page)
    row = next(r for r in page.split("<tr") if late.title in r)
    assert "初审逾期" in row and "答复逾期" in row
    assert "逾期" not in next(r for r in page.split("<tr") if fresh.title in r)
    page = client.get("/reports?tab=late").get_data(as_text=True)
    assert "逾期信息" in page and late.title in page and fresh.title not in page
    detail = client.get(f"/reports/{late.id}").get_data(as_text=True)
    assert "本级期限：2026-03-05" in detail and "答复反映人期限：2026-03-16" in detail


def test_the_transfer_form_offers_the_offices_limits_in_days_or_hours(
    client: FlaskClient, admin: User, session: Session, network: Network, point: CollectionPoint
) -> None:
    normal = make_report(session, point, title="人民路路灯长期不亮")
    urgent = make_report(session, point, title="河堤出现裂缝", urgent=True)
    for r in (normal, urgent):
        adopt(session, r, admin)
    deadlines.save(session, calendar="china", days={"transfer": 12}, hours={"transfer": 36})
    session.commit()
    login(client, "alice")
    page = client.get(f"/reports/{normal.id}?action=transfer").get_data(as_text=True)
    assert 'name="due_days"' in page and 'value="12"' in page and "办理期限（工作日）" in page
    page = client.get(f"/reports/{urgent.id}?action=transfer").get_data(as_text=True)
    assert 'name="due_hours"' in page and 'value="36"' in page and 'name="due_days"' not in page

    session.rollback()
    resp = client.post(f"/reports/{urgent.id}/transfer", follow_redirects=True, data={
        "version": str(session.get(Report, urgent.id).version),  # type: ignore[union-attr]
        "department_id": str(network.roads.id), "due_hours": "0", "escalate_hours": "24",
        "csrf_token": csrf(client, f"/reports/{urgent.id}")})
    assert resp.status_code == 422 and "1～720 小时" in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0

    resp = client.post(f"/reports/{normal.id}/transfer", follow_redirects=True, data={
        "version": str(session.get(Report, normal.id).version),  # type: ignore[union-attr]
        "department_id": str(network.roads.id), "due_days": "", "escalate_days": "",
        "csrf_token": csrf(client, f"/reports/{normal.id}")})
    session.rollback()
    row = session.scalars(sa.select(Transfer)).one()
    # Left empty: the office's limit, twelve working days from when it was sent.
    assert row.due_at == end_of(workdays.nth_working_day(
        workdays.local_day(row.created_at), 12, deadlines.rules(session).calendar))
    assert f"期限 {deadlines.shown(row.due_at)}" in resp.get_data(as_text=True)
