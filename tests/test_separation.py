"""Separation of duties (issue 14 point 4): the 代录 clerk does not sign off 初审, and nobody
signs off two levels of one report, unless the office has a single reviewer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import AdoptionLevel, Report, ReportEvent, ReportStatus, Role, User
from store.reports import lifecycle
from store.reports.lifecycle import Action, DutyConflict
from store.review import chain as review
from store.review import separation
from tests.conftest import staff
from tests.domain_support import make_report
from tests.web_support import csrf, login


def _typed_in_by(session: Session, user: User) -> Report:
    report = make_report(session)
    report.entered_by_id = user.id  # as counter intake (store.reports.intake) files it
    session.commit()
    return report


def _offers(session: Session, report: Report, user: User) -> list[str]:
    return [a.value for a in lifecycle.allowed_actions(session, report, user)]


def _signed(session: Session, report: Report) -> list[tuple[str, int | None, str | None]]:
    return [(e.action, e.user_id, e.level) for e in session.scalars(
        sa.select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id))]


def test_it_keeps_the_clerk_who_typed_a_report_in_from_its_first_review(
    session: Session, clerk: User
) -> None:
    report = _typed_in_by(session, clerk)
    other = staff(session, "colin", Role.CLERK)

    assert "sign_off" not in _offers(session, report, clerk)
    assert "decline" in _offers(session, report, clerk)  # stopping it is not signing it off
    with pytest.raises(DutyConflict) as refused:
        lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk)
    assert "代录" in str(refused.value) and "counter" in str(refused.value)
    assert lifecycle.withheld(session, report, clerk) == \
        "这条信息是您代录的，不能由您初审；请由其他初审人员签批。"
    session.rollback()

    lifecycle.apply(session, report, Action.SIGN_OFF, user=other)
    session.commit()
    assert _signed(session, report)[-1] == ("sign_off", other.id, "first")


def test_nobody_signs_off_two_levels_of_one_report_not_even_an_admin(
    session: Session, admin: User, secretary: User
) -> None:
    report = make_report(session)
    lifecycle.apply(session, report, Action.SIGN_OFF, user=admin)
    session.commit()

    assert "sign_off" not in _offers(session, report, admin)
    assert lifecycle.withheld(session, report, admin) == \
        "您已在“初审”一级签批过这条信息，同一条信息不能由一人签批两级。"
    with pytest.raises(DutyConflict, match="two levels"):
        lifecycle.apply(session, report, Action.SIGN_OFF, user=admin)
    session.rollback()
    director = staff(session, "dora", Role.DIRECTOR)
    lifecycle.apply(session, report, Action.SIGN_OFF, user=director)
    session.commit()

    # At approval the admin who signed 初审 may not adopt either; the secretary-general may.
    assert "adopt" not in _offers(session, report, admin)
    with pytest.raises(DutyConflict):
        lifecycle.apply(session, report, Action.ADOPT, user=admin,
                        values={"adoption_level": AdoptionLevel.COUNTY})
    session.rollback()
    lifecycle.apply(session, report, Action.ADOPT, user=secretary,
                    values={"adoption_level": AdoptionLevel.COUNTY})
    session.commit()
    assert [s for s in _signed(session, report) if s[0] != "submit"] == [
        ("sign_off", admin.id, "first"), ("sign_off", director.id, "second"),
        ("adopt", secretary.id, "final")]


def test_signing_the_same_level_again_after_a_return_is_allowed(
    session: Session, clerk: User
) -> None:
    report = make_report(session)
    lifecycle.apply(session, report, Action.RETURN, user=clerk, note="请补充地点")
    lifecycle.apply(session, report, Action.RESUBMIT, reporter=report.reporter, note="在东门")
    lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk)
    session.commit()
    assert report.status is ReportStatus.REVIEWING


def test_an_office_with_a_single_reviewer_lifts_both_rules(session: Session, admin: User) -> None:
    review.set_chain(session, "two")
    report = _typed_in_by(session, admin)
    assert "sign_off" not in _offers(session, report, admin)

    separation.set_single_reviewer(session, True)
    session.commit()
    assert lifecycle.withheld(session, report, admin) is None
    lifecycle.apply(session, report, Action.SIGN_OFF, user=admin)
    lifecycle.apply(session, report, Action.ADOPT, user=admin,
                    values={"adoption_level": AdoptionLevel.COUNTY})
    session.commit()
    assert report.status is ReportStatus.ADOPTED
    assert [s for s in _signed(session, report) if s[0] != "submit"] == [
        ("sign_off", admin.id, "first"), ("adopt", admin.id, "final")]


def test_the_console_says_why_and_refuses_a_stale_button(
    client: FlaskClient, session: Session, clerk: User
) -> None:
    report = _typed_in_by(session, clerk)
    login(client, "carol")

    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="withheld"' in page and "这条信息是您代录的" in page
    assert 'value="sign_off"' not in page

    resp = client.post(f"/reports/{report.id}/act", data={
        "action": "sign_off", "version": str(report.version),
        "csrf_token": csrf(client, f"/reports/{report.id}")})
    assert resp.status_code == 403 and "这条信息是您代录的" in resp.get_data(as_text=True)
    session.rollback()
    assert [s[0] for s in _signed(session, report)] == ["submit"]


def test_the_admin_turns_single_reviewer_on_in_the_chain_settings(
    client: FlaskClient, session: Session, admin: User
) -> None:
    login(client, "alice")
    assert "一人审核" in client.get("/admin/chain").get_data(as_text=True)
    resp = client.post("/admin/separation", data={"single_reviewer": "1",
                                                  "csrf_token": csrf(client, "/admin/chain")},
                       follow_redirects=True)
    assert resp.status_code == 200 and "已设为一人审核" in resp.get_data(as_text=True)
    session.rollback()
    assert separation.single_reviewer(session)
