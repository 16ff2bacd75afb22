"""Decisions on the report page: one at a time, a confirmation before the ones that cannot be undone,
no level chosen for the user."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import (
    AdoptionLevel,
    CollectionPoint,
    Instruction,
    OutboxMessage,
    Report,
    ReportStatus,
    Role,
    User,
)
from store.outputs import adoption
from store.review import chain as review
from store.review import templates
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt, sign_off_to_final
from tests.web_support import csrf, login

OFFICE = {"alice": Role.ADMIN, "carol": Role.CLERK, "david": Role.DIRECTOR,
          "sophia": Role.SECRETARY_GENERAL}


def _fresh(session: Session, report: Report) -> Report:
    session.rollback()
    session.expire_all()
    return session.get_one(Report, report.id)


def _outbox(session: Session, report: Report) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage)
                                .where(OutboxMessage.report_id == report.id)))


def _post(client: FlaskClient, path: str, report: Report, session: Session,
          follow: bool = True, **data: str) -> tuple[int, str]:
    body = {"version": str(_fresh(session, report).version),
            "csrf_token": csrf(client, f"/reports/{report.id}"), **data}
    resp = client.post(path, data=body, follow_redirects=follow)
    return resp.status_code, resp.get_data(as_text=True)


def _hidden(page: str) -> dict[str, str]:
    """The fields a confirmation page posts again."""
    form = page[page.index('class="confirm-form"'):]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*" role="alert">([^<]*)', page))


def _decision_forms(page: str) -> list[str]:
    """The ids of the decision buttons on a page."""
    return re.findall(r'<button type="submit"[^>]*id="([a-z-]+)"', page[page.find('id="act"'):])


# -- one action at a time -----------------------------------------------------------


@pytest.mark.parametrize("who", sorted(OFFICE))
def test_it_lists_the_choices_first_and_opens_one_form_at_a_time(
    client: FlaskClient, admin: User, clerk: User, director: User, secretary: User,
    session: Session, who: str,
) -> None:
    report = make_report(session)
    if OFFICE[who] is Role.SECRETARY_GENERAL:
        sign_off_to_final(session, report, admin)
        session.commit()
    before = _fresh(session, report).version
    login(client, who)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    # The list: links to each decision the user may take now, and no form yet.
    offered = re.findall(r'id="choose-([a-z_]+)"', page)
    assert _decision_forms(page) == []
    expected = {"alice": ["sign_off", "return", "decline", "merge", "edit"],
                "carol": ["sign_off", "return", "decline", "merge", "edit"],
                "david": ["edit"],  # the report waits at 初审, not at his level
                "sophia": ["adopt", "return", "decline", "merge", "edit"]}[who]
    assert offered == expected
    for key in (k for k in offered if k != "edit"):
        chosen = client.get(f"/reports/{report.id}?action={key}")
        assert chosen.status_code == 200
        html = chosen.get_data(as_text=True)
        # Only that form, and a way back to the list.
        assert len(_decision_forms(html)) == 1, (key, _decision_forms(html))
        assert 'id="choose-other"' in html and 'id="choices"' not in html
    assert _fresh(session, report).version == before  # looking decides nothing


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEPARTMENT])
def test_it_offers_no_decision_to_viewers_and_departments(
    client: FlaskClient, admin: User, session: Session, network: Network, role: Role,
) -> None:
    report = make_report(session, status=ReportStatus.ADOPTED, by=admin)
    from store.review import transfers
    transfers.transfer(session, _fresh(session, report), admin, department=network.roads,
                       due_days=10, escalate_days=5)
    session.commit()
    staff(session, "outsider", role, network.roads if role is Role.DEPARTMENT else None)
    login(client, "outsider")
    for path in (f"/reports/{report.id}", f"/reports/{report.id}?action=raise"):
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and report.title in page
        assert 'id="act"' not in page and "choose-" not in page and 'id="raise"' not in page
    version = str(_fresh(session, report).version)
    token = csrf(client, f"/reports/{report.id}")
    for path, data in (("act", {"action": "raise", "adoption_level": "city"}),
                       ("act", {"action": "close"}),
                       ("instruct", {"leader_name": "李", "leader_title": "县长", "level": "county",
                                     "instructed_on": "2026-03-01", "text": "阅"}),
                       ("merge", {"tracking_no": report.tracking_no, "confirm": "1"})):
        resp = client.post(f"/reports/{report.id}/{path}",
                           data={"version": version, "csrf_token": token, **data})
        assert resp.status_code == 403, path
    fresh = _fresh(session, report)
    assert adoption.highest(session, fresh) is AdoptionLevel.COUNTY and fresh.status is ReportStatus.TRANSFERRED


def test_it_says_so_when_the_chosen_action_is_no_longer_possible(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    page = client.get(f"/reports/{report.id}?action=adopt").get_data(as_text=True)
    assert "所选操作现在不可用" in page and 'id="choices"' in page and 'id="adopt"' not in page


# -- confirmation before what cannot be undone --------------------------------------


def test_it_asks_before_declining_and_only_a_confirmed_post_decides(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    form = client.get(f"/reports/{report.id}?action=decline").get_data(as_text=True)
    assert 'id="decline"' in form and "下一步：确认不采用" in form

    status, page = _post(client, f"/reports/{report.id}/act", report, session,
                         action="decline", choice="decline", note="与已报送信息重复。")
    assert status == 200 and "请确认：不采用" in page and "尚未执行" in page
    assert "与已报送信息重复" in page and "已提交，待审核 → <b>不采用</b>" in page
    # The reporter's message, word for word as it will be queued.
    assert re.search(r'id="reporter-message">您反映的信息《人民路路灯长期不亮》.*暂不采用', page, re.S)
    fresh = _fresh(session, report)
    assert fresh.status is ReportStatus.SUBMITTED and [e.action for e in fresh.events] == ["submit"]
    assert _outbox(session, report) == []

    fields = _hidden(page)
    assert fields["note"] == "与已报送信息重复。" and fields["version"] == "1"
    assert "confirm" not in fields  # only the confirm button sends it
    resp = client.post(f"/reports/{report.id}/act", follow_redirects=True,
                       data={**fields, "confirm": "1", "csrf_token": csrf(client, "/reports")})
    assert "已标记为不采用" in _flash(resp.get_data(as_text=True))
    assert _fresh(session, report).status is ReportStatus.NOT_ADOPTED
    (msg,) = _outbox(session, report)
    assert "与已报送信息重复" in msg.text


@pytest.mark.parametrize("who", sorted(OFFICE))
def test_it_needs_the_confirmation_from_every_office_role(
    client: FlaskClient, admin: User, clerk: User, director: User, secretary: User,
    session: Session, who: str,
) -> None:
    from store.reports import lifecycle
    from store.reports.lifecycle import Action

    report = make_report(session)
    # Bring the report to the level this persona decides at.
    signs = {"alice": 0, "carol": 0, "david": 1, "sophia": 2}[who]
    for signer in (clerk, director)[:signs]:  # one person per level (separation of duties)
        lifecycle.apply(session, report, Action.SIGN_OFF, user=signer)
    session.commit()
    login(client, who)
    status, page = _post(client, f"/reports/{report.id}/act", report, session,
                         action="decline", choice="decline", note="不具体。")
    assert status == 200 and 'id="confirm"' in page
    fresh = _fresh(session, report)
    assert fresh.status is not ReportStatus.NOT_ADOPTED and len(fresh.events) == 1 + signs
    resp = client.post(f"/reports/{report.id}/act", follow_redirects=True, data={
        **_hidden(page), "confirm": "1", "csrf_token": csrf(client, "/reports")})
    assert resp.status_code == 200 and "已标记为不采用" in _flash(resp.get_data(as_text=True))
    fresh = _fresh(session, report)
    assert fresh.status is ReportStatus.NOT_ADOPTED
    assert fresh.events[-1].user_id == {"alice": admin, "carol": clerk, "david": director,
                                        "sophia": secretary}[who].id


def test_it_asks_before_declining_as_already_being_handled(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    templates.ensure_defaults(session)
    session.commit()
    handled = templates.already_handled(session)
    assert handled is not None
    report = make_report(session)
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert 'id="choose-already_handled"' in page
    form = client.get(f"/reports/{report.id}?action=already_handled").get_data(as_text=True)
    assert 'id="already-handled"' in form and handled.text in form

    status, page = _post(client, f"/reports/{report.id}/act", report, session, action="decline",
                         choice="already_handled", template_id=str(handled.id))
    assert status == 200 and "请确认：已在办理（不采用）" in page and handled.text in page
    assert _fresh(session, report).status is ReportStatus.SUBMITTED
    assert _outbox(session, report) == []

    resp = client.post(f"/reports/{report.id}/act", follow_redirects=True, data={
        **_hidden(page), "confirm": "1", "csrf_token": csrf(client, "/reports")})
    assert "不采用" in _flash(resp.get_data(as_text=True))
    assert _fresh(session, report).status is ReportStatus.NOT_ADOPTED
    (msg,) = _outbox(session, report)
    assert handled.text in msg.text


def test_it_asks_before_merging_and_names_the_main_report(
    client: FlaskClient, clerk: User, session: Session, point: CollectionPoint
) -> None:
    main = make_report(session, point, title="人民路路灯不亮", external_id="tg-1")
    dup = make_report(session, point, title="人民路路灯长期不亮", external_id="tg-2")
    login(client, "carol")
    form = client.get(f"/reports/{dup.id}?action=merge").get_data(as_text=True)
    assert f'name="into_id" value="{main.id}"' in form and 'id="similar-panel"' not in form

    status, page = _post(client, f"/reports/{dup.id}/merge", dup, session, into_id=str(main.id))
    assert status == 200 and "请确认：合并到主信息" in page
    assert main.tracking_no in page and "人民路路灯不亮" in page and "不能撤销" in page
    assert "与其他群众反映的问题相同，已合并办理" in page  # what the reporter will read
    assert _fresh(session, dup).status is ReportStatus.SUBMITTED
    assert _outbox(session, dup) == []

    resp = client.post(f"/reports/{dup.id}/merge", follow_redirects=True, data={
        **_hidden(page), "confirm": "1", "csrf_token": csrf(client, "/reports")})
    assert main.tracking_no in _flash(resp.get_data(as_text=True))
    fresh = _fresh(session, dup)
    assert fresh.status is ReportStatus.MERGED and fresh.merged_into_id == main.id


def test_it_goes_back_to_the_form_with_what_was_typed(
    client: FlaskClient, clerk: User, session: Session
) -> None:
    report = make_report(session)
    login(client, "carol")
    _, page = _post(client, f"/reports/{report.id}/act", report, session,
                    action="decline", choice="decline", note="缺少具体数据\n请补充后重报。")
    resp = client.post(f"/reports/{report.id}/act", data={
        **_hidden(page), "revise": "1", "csrf_token": csrf(client, "/reports")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="decline"' in html
    assert ">缺少具体数据\n请补充后重报。</textarea>" in html
    assert _fresh(session, report).status is ReportStatus.SUBMITTED


def test_it_refuses_a_confirmation_for_a_report_that_moved_meanwhile(
    client: FlaskClient, app: object, clerk: User, session: Session
) -> None:
    report = make_report(session)
    staff(session, "cathy", Role.CLERK)
    other = app.test_client()  # type: ignore[attr-defined]
    login(client, "carol")
    login(other, "cathy")
    _, page = _post(client, f"/reports/{report.id}/act", report, session,
                    action="decline", choice="decline", note="重复")
    other.post(f"/reports/{report.id}/act", data={
        "action": "return", "note": "请补充位置。", "version": "1",
        "csrf_token": csrf(other, "/reports")})
    resp = client.post(f"/reports/{report.id}/act", follow_redirects=True, data={
        **_hidden(page), "confirm": "1", "csrf_token": csrf(client, "/reports")})
    assert "已被其他人处理" in _flash(resp.get_data(as_text=True))
    fresh = _fresh(session, report)
    assert fresh.status is ReportStatus.RETURNED
    assert [e.action for e in fresh.events] == ["submit", "return"]


def test_it_keeps_csrf_on_the_confirmation(client: FlaskClient, clerk: User,
                                           session: Session) -> None:
    report = make_report(session)
    login(client, "carol")
    _, page = _post(client, f"/reports/{report.id}/act", report, session,
                    action="decline", choice="decline", note="重复")
    fields = {k: v for k, v in _hidden(page).items() if k != "csrf_token"}
    resp = client.post(f"/reports/{report.id}/act", data={**fields, "confirm": "1"})
    assert resp.status_code == 400
    assert _fresh(session, report).status is ReportStatus.SUBMITTED


def test_it_shows_a_missing_reason_beside_the_field(client: FlaskClient, clerk: User,
                                                    session: Session) -> None:
    report = make_report(session)
    login(client, "carol")
    status, page = _post(client, f"/reports/{report.id}/act", report, session,
                         action="decline", choice="decline", note="  ", confirm="1")
    assert status == 422
    assert re.search(r'aria-describedby="err-note"', page)
    assert re.search(r'id="err-note" role="alert">请选择或填写不采用原因', page)
    assert _fresh(session, report).status is ReportStatus.SUBMITTED


def test_it_refuses_to_merge_into_a_report_the_user_cannot_see(
    client: FlaskClient, session: Session, network: Network
) -> None:
    hidden = make_report(session, title="东山县的信息", external_id="tg-1", unit=network.other_county)
    mine = make_report(session, title="城关县的信息", external_id="tg-2", unit=network.county)
    staff(session, "county-clerk", Role.CLERK, network.county)
    login(client, "county-clerk")
    for data in ({"into_id": str(hidden.id)}, {"tracking_no": hidden.tracking_no}):
        status, page = _post(client, f"/reports/{mine.id}/merge", mine, session,
                             confirm="1", **data)
        assert status == 422 and "找不到要合并到的主信息" in page and "东山县的信息" not in page
    assert _fresh(session, mine).status is ReportStatus.SUBMITTED


# -- levels are chosen, never assumed ----------------------------------------------


def test_it_makes_the_adopter_choose_a_level_until_the_office_sets_its_own(
    client: FlaskClient, admin: User, secretary: User, session: Session
) -> None:
    report = make_report(session)
    sign_off_to_final(session, report, admin)
    session.commit()
    login(client, "sophia")
    form = client.get(f"/reports/{report.id}?action=adopt").get_data(as_text=True)
    assert '<option value="" selected>请选择</option>' in form and "尚未设置本机关级别" in form

    status, page = _post(client, f"/reports/{report.id}/act", report, session, action="adopt")
    assert status == 422 and 'id="err-adoption_level" role="alert">请选择采用级别' in page
    fresh = _fresh(session, report)
    assert fresh.status is ReportStatus.REVIEWING and adoption.highest(session, fresh) is None

    # The admin records that this is a city CPPCC; the menu now starts there.
    login(client, "sophia")
    assert client.post("/admin/office-level", data={
        "level": "city", "csrf_token": csrf(client, "/reports")}).status_code == 403
    login(client, "alice")
    resp = client.post("/admin/office-level", follow_redirects=True, data={
        "level": "city", "csrf_token": csrf(client, "/reports")})
    assert "本机关级别已设为市政协" in resp.get_data(as_text=True)
    session.rollback()
    assert review.office_level(session) is AdoptionLevel.CITY
    login(client, "sophia")
    form = client.get(f"/reports/{report.id}?action=adopt").get_data(as_text=True)
    assert '<option value="city" selected>市政协</option>' in form
    assert '<option value="" >请选择</option>' in form
    _post(client, f"/reports/{report.id}/act", report, session, action="adopt",
          adoption_level="city")
    assert adoption.highest(session, _fresh(session, report)) is AdoptionLevel.CITY


def test_it_offers_only_higher_levels_to_raise_to(client: FlaskClient, admin: User,
                                                  session: Session) -> None:
    report = make_report(session)
    adopt(session, report, admin, AdoptionLevel.CITY)
    session.commit()
    login(client, "alice")
    form = client.get(f"/reports/{report.id}?action=raise").get_data(as_text=True)
    menu = form[form.index('<select name="adoption_level"'):]
    menu = menu[:menu.index("</select>")]
    assert re.findall(r'<option value="([a-z]*)"', menu) == ["", "province", "national"]
    status, page = _post(client, f"/reports/{report.id}/act", report, session,
                         action="raise", adoption_level="county")
    assert status == 422 and "必须高于原采用级别" in page
    assert adoption.highest(session, _fresh(session, report)) is AdoptionLevel.CITY


def test_it_needs_the_leaders_level_for_a_pishi_and_keeps_what_was_typed(
    client: FlaskClient, admin: User, session: Session
) -> None:
    report = make_report(session, status=ReportStatus.ADOPTED, by=admin)
    login(client, "alice")
    form = client.get(f"/reports/{report.id}?action=instruct").get_data(as_text=True)
    assert re.search(r'<select name="level"[^>]*>\s*<option value="" selected>请选择</option>', form)

    status, page = _post(client, f"/reports/{report.id}/instruct", report, session,
                         leader_name="李明", leader_title="县长", level="",
                         instructed_on="2026-03-01", text="请住建局牵头抓紧解决。")
    assert status == 422
    assert 'id="err-level" role="alert">请选择作出批示的领导属于哪一级' in page
    assert 'value="李明"' in page and 'value="县长"' in page and 'value="2026-03-01"' in page
    assert ">请住建局牵头抓紧解决。</textarea>" in page
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Instruction)) == 0

    status, page = _post(client, f"/reports/{report.id}/instruct", report, session,
                         leader_name="李明", leader_title="县长", level="city",
                         instructed_on="2026-03-01", text="请住建局牵头抓紧解决。")
    assert status == 200 and "已记录县长李明的批示" in _flash(page)
    session.rollback()
    (row,) = session.scalars(sa.select(Instruction))
    assert row.level is AdoptionLevel.CITY and row.leader_name == "李明"
