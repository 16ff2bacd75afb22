"""Who may do what: every role × every action, on a report of their own unit and of another.

`allowed_actions` (what the console offers) and `apply` (what happens) must
agree everywhere; staff of another unit may do nothing and see nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import AccessLog, AdoptionLevel, Report, ReportStatus, Role, Transfer, User, utcnow
from store.network import points
from store.reports import lifecycle
from store.reports import queries as reports
from store.reports.lifecycle import Action, TransitionError
from store.review import separation
from store.review import transfers as transfers_mod
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.web_support import csrf, login

VALUES: dict[Action, dict[str, Any]] = {
    Action.ADOPT: {"adoption_level": AdoptionLevel.COUNTY},
    Action.RAISE: {"adoption_level": AdoptionLevel.CITY},
    Action.EDIT: {"title": "城关镇老旧小区加装电梯进展缓慢"},
    Action.RATE: {"satisfaction": "satisfied"},
}
CONTEXT = {"department": "县住建局", "leader": "县长"}
# Report positions worth checking: each review level, and after the decision.
POSITIONS = ["first", "second", "final", "adopted", "transferred", "handled"]


def _people(session: Session, network: Network) -> dict[tuple[Role, str], User]:
    """One user per role on the report's side ("own") and in another unit ("other")."""
    people = {}
    for role in Role:
        if role is Role.DEPARTMENT:
            own, other = network.roads, network.water
        else:
            own, other = network.county, network.other_county
        people[(role, "own")] = staff(session, f"{role.value}-own", role, own)
        people[(role, "other")] = staff(session, f"{role.value}-other", role, other)
    return people


def _report_at(session: Session, network: Network, position: str, admin: User) -> Report:
    point = points.create_point(session, "城关镇便民服务中心")
    point.unit_id = network.township.id  # below the county: county staff see it
    report = make_report(session, point=point)
    main = make_report(session, point=point, title="同一问题的主信息")
    # Merge needs somewhere to go.
    VALUES[Action.MERGE] = {"merged_into_id": main.id}
    steps = {"first": 0, "second": 1}.get(position, 2)
    # One admin walks every level: an office with a single reviewer, so separation of
    # duties (tests/test_separation.py) stands aside and the table below is the roles' alone.
    separation.set_single_reviewer(session, True)
    for _ in range(steps):
        lifecycle.apply(session, report, Action.SIGN_OFF, user=admin)
    if position in ("adopted", "transferred", "handled"):
        lifecycle.apply(session, report, Action.ADOPT, user=admin, values=VALUES[Action.ADOPT])
    if position in ("transferred", "handled"):
        lifecycle.apply(session, report, Action.TRANSFER, user=admin, context=CONTEXT)
        now = utcnow()
        session.add(Transfer(report_id=report.id, department_id=network.roads.id, due_at=now,
                             escalate_at=now, created_by_id=admin.id))
    if position == "handled":
        lifecycle.apply(session, report, Action.DEPT_REPLY, user=admin, note="已完成改造。")
    session.commit()
    return report


def _tries(session: Session, report: Report, action: Action, user: User) -> str | None:
    """Apply `action` as `user` inside a savepoint rolled back after; the error code or None."""
    savepoint = session.begin_nested()
    try:
        lifecycle.apply(session, report, action, user=user, note="说明", context=CONTEXT,
                        values=VALUES.get(action))
        return None
    except TransitionError as exc:
        return exc.code
    finally:
        savepoint.rollback()
        session.refresh(report)


# What each role may do at each position on its own unit's report: the office's rules in words.
EXPECTED: dict[str, dict[Role, set[Action]]] = {
    "first": {Role.CLERK: {Action.SIGN_OFF, Action.DECLINE, Action.RETURN, Action.MERGE,
                           Action.EDIT},
              Role.DIRECTOR: {Action.EDIT}, Role.SECRETARY_GENERAL: {Action.EDIT}},
    "second": {Role.CLERK: {Action.EDIT},
               Role.DIRECTOR: {Action.SIGN_OFF, Action.DECLINE, Action.RETURN, Action.MERGE,
                               Action.EDIT},
               Role.SECRETARY_GENERAL: {Action.EDIT}},
    "final": {Role.CLERK: {Action.EDIT}, Role.DIRECTOR: {Action.EDIT},
              Role.SECRETARY_GENERAL: {Action.ADOPT, Action.DECLINE, Action.RETURN, Action.MERGE,
                                       Action.EDIT}},
    "adopted": {r: {Action.RAISE, Action.INSTRUCT, Action.EDIT, Action.TRANSFER, Action.CLOSE}
                for r in (Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL)},
    "transferred": {**{r: {Action.RAISE, Action.INSTRUCT}
                       for r in (Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL)},
                    # store.review.followup lets only the department carrying out a 批示 report on it.
                    Role.DEPARTMENT: {Action.DEPT_REPLY, Action.INSTRUCTION_DONE}},
    "handled": {**{r: {Action.RAISE, Action.INSTRUCT, Action.TRANSFER, Action.CLOSE}
                   for r in (Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL)},
                Role.DEPARTMENT: {Action.INSTRUCTION_DONE}},
}
ADMIN_EXTRA = {"first": {Action.SIGN_OFF, Action.DECLINE, Action.RETURN, Action.MERGE, Action.EDIT},
               "second": {Action.SIGN_OFF, Action.DECLINE, Action.RETURN, Action.MERGE,
                          Action.EDIT},
               "final": {Action.ADOPT, Action.DECLINE, Action.RETURN, Action.MERGE, Action.EDIT},
               "adopted": {Action.INSTRUCTION_DONE},
               "transferred": {Action.DEPT_REPLY, Action.INSTRUCTION_DONE},
               "handled": {Action.INSTRUCTION_DONE}}


def _expected(position: str, role: Role) -> set[Action]:
    if role is Role.ADMIN:
        # Admins act at every level and in the office.
        return EXPECTED[position][Role.CLERK] | ADMIN_EXTRA.get(position, set())
    return EXPECTED[position].get(role, set())


@pytest.mark.parametrize("position", POSITIONS)
def test_every_role_may_do_exactly_its_part_on_its_own_units_report_and_nothing_elsewhere(
    session: Session, network: Network, position: str
) -> None:
    people = _people(session, network)
    report = _report_at(session, network, position, people[(Role.ADMIN, "own")])

    for (role, side), user in people.items():
        offered = set(lifecycle.allowed_actions(session, report, user))
        done = set()
        for action in Action:
            code = _tries(session, report, action, user)
            if code is None:
                done.add(action)
            elif side == "other" and role is not Role.ADMIN:
                assert code in ("error.forbidden", "error.transition_not_allowed",
                                "error.final_level", "error.not_final_level"), (role, action)
        case = f"{role.value}/{side} at {position}"
        assert offered == done, case
        if side == "own":
            assert done == _expected(position, role), case
        elif role is not Role.ADMIN:
            assert done == set(), case
            assert not access.can_see(session, user, report), case
    # Nothing stuck: every try was rolled back.
    session.rollback()
    assert session.get_one(Report, report.id).version == report.version


def test_an_inactive_user_may_do_nothing(session: Session, network: Network) -> None:
    admin = staff(session, "boss", Role.ADMIN)
    clerk = staff(session, "clerk", Role.CLERK, network.county)
    report = _report_at(session, network, "first", admin)
    clerk.active = False

    assert lifecycle.allowed_actions(session, report, clerk) == []
    assert _tries(session, report, Action.SIGN_OFF, clerk) == "error.forbidden"
    assert reports.page(session, clerk) == ([], 0)


def test_departments_see_only_reports_transferred_to_them(session: Session,
                                                          network: Network) -> None:
    admin = staff(session, "boss", Role.ADMIN)
    roads = staff(session, "roads", Role.DEPARTMENT, network.roads)
    water = staff(session, "water", Role.DEPARTMENT, network.water)
    # A department user placed at the county sees transfers to every department below it.
    county_dept = staff(session, "county-dept", Role.DEPARTMENT, network.county)
    transferred = _report_at(session, network, "transferred", admin)
    adopted = _report_at(session, network, "adopted", admin)

    assert reports.page(session, roads) == ([transferred], 1)
    assert reports.page(session, water) == ([], 0)
    assert reports.page(session, county_dept)[1] == 1
    assert reports.status_counts(session, roads)[ReportStatus.TRANSFERRED] == 1
    assert not access.can_see(session, roads, adopted)
    assert reports.find(session, roads, adopted.tracking_no) is None
    assert reports.find(session, roads, transferred.tracking_no) == transferred
    transfer = session.scalar(sa.select(Transfer).where(Transfer.report_id == transferred.id))
    assert transfer is not None
    assert access.can_reply_transfer(session, roads, transfer)
    assert not access.can_reply_transfer(session, water, transfer)


def test_unit_staff_see_their_unit_and_the_units_below(session: Session, network: Network) -> None:
    admin = staff(session, "boss", Role.ADMIN)
    report = _report_at(session, network, "first", admin)  # filed at the township
    county = staff(session, "county-liaison", Role.UNIT_LIAISON, network.county)
    township = staff(session, "township-viewer", Role.VIEWER, network.township)
    neighbour = staff(session, "other-clerk", Role.CLERK, network.other_county)
    everywhere = staff(session, "province-viewer", Role.VIEWER)

    for user in (county, township, everywhere):
        assert report in reports.page(session, user)[0], user.username
    assert reports.page(session, neighbour)[1] == 0
    assert reports.find(session, neighbour, report.tracking_no) is None


@pytest.mark.parametrize("role", list(Role))
def test_only_office_staff_see_who_reported_and_each_look_is_logged(
    session: Session, network: Network, role: Role
) -> None:
    admin = staff(session, "boss", Role.ADMIN)
    report = _report_at(session, network, "first", admin)
    user = staff(session, "someone", role, network.county if role is not Role.DEPARTMENT
                 else network.roads)

    seen = access.reveal_identity(session, user, report, "identity")
    session.commit()

    office = role in (Role.ADMIN, Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL)
    assert (seen is not None) == office == access.can_see_identity(user)
    rows = session.scalars(sa.select(AccessLog).where(AccessLog.user_id == user.id)).all()
    assert [(r.report_id, r.what) for r in rows] == ([(report.id, "identity")] if office else [])


# -- the console's answers: one rule for every refusal (docs/ARCHITECTURE.md, "Refusals") --------
#
# A role that may never use a view: 403, before anything is looked up (so the same for every id).
# An object missing or outside the person's scope: 404, as if it did not exist.
# An object the person sees but may not act on: 403.

REFUSALS: list[tuple[str, str, str, int]] = [
    # (who, method, path, the exact answer); {r} is a report filed at the township (under the
    # county), {p} a point of the county, {t} its transfer to the roads bureau.
    ("clerk-own", "GET", "/reports/{r}", 200),
    ("clerk-own", "POST", "/reports/{r}/act", 302),  # signed off: the one request that acts
    ("clerk-other", "GET", "/reports/{r}", 404),
    ("clerk-other", "GET", "/reports/{r}/edit", 404),
    ("clerk-other", "GET", "/reports/{r}/versions", 404),
    ("clerk-other", "POST", "/reports/{r}/act", 404),
    ("clerk-other", "POST", "/reports/{r}/identity", 404),
    ("clerk-other", "POST", "/reports/{r}/notes", 404),
    ("clerk-own", "GET", "/reports/999999", 404),
    ("clerk-own", "POST", "/reports/999999/act", 404),
    ("viewer-own", "GET", "/reports/{r}", 200),
    ("viewer-own", "GET", "/reports/{r}/edit", 403),
    ("viewer-own", "POST", "/reports/{r}/act", 403),
    ("viewer-own", "POST", "/reports/{r}/identity", 403),
    ("viewer-other", "POST", "/reports/{r}/act", 403),  # the role gate comes before the lookup
    ("viewer-other", "POST", "/reports/999999/act", 403),
    ("director-own", "POST", "/reports/{r}/act", 403),  # sees it; the first level is the clerk's
    ("roads", "GET", "/reports/{r}", 404),  # a department sees only what is transferred to it
    ("roads", "POST", "/reports/{r}/act", 403),
    ("water", "POST", "/transfers/{t}/reply", 404),  # another department's transfer
    # Another unit's point is not on their list at all (issue 15: points scoped by unit): 404.
    ("clerk-other", "GET", "/points/{p}/edit", 404),
    ("clerk-other", "POST", "/points/{p}/edit", 404),
    ("viewer-own", "GET", "/points/{p}/edit", 403),
    ("clerk-own", "GET", "/points/999999/edit", 404),
    ("viewer-own", "GET", "/admin/users", 403),
    ("viewer-own", "POST", "/admin/search", 403),
]


@pytest.fixture
def office(session: Session, network: Network) -> dict[str, Any]:
    """Staff on both sides, a report filed at the township, a point of the county, a transfer."""
    people = {
        "clerk-own": staff(session, "clerk-own", Role.CLERK, network.county),
        "clerk-other": staff(session, "clerk-other", Role.CLERK, network.other_county),
        "viewer-own": staff(session, "viewer-own", Role.VIEWER, network.county),
        "viewer-other": staff(session, "viewer-other", Role.VIEWER, network.other_county),
        "director-own": staff(session, "director-own", Role.DIRECTOR, network.county),
        "roads": staff(session, "roads", Role.DEPARTMENT, network.roads),
        "water": staff(session, "water", Role.DEPARTMENT, network.water),
    }
    admin = staff(session, "boss", Role.ADMIN)
    town = points.create_point(session, "城关镇便民服务中心", unit_id=network.township.id)
    county = points.create_point(session, "城关县便民中心", unit_id=network.county.id)
    report = make_report(session, town)
    moved = make_report(session, town, title="已转办给住建局的信息", status=ReportStatus.ADOPTED,
                        by=admin)
    transfer = transfers_mod.transfer(session, moved, admin, department=network.roads,
                                      due_days=10, escalate_days=5)
    session.commit()
    return {"people": people, "r": report.id, "p": county.id, "t": transfer.id,
            "version": report.version}


@pytest.mark.parametrize("who", sorted({w for w, _, _, _ in REFUSALS}))
def test_every_refusal_is_answered_by_the_one_rule(
    app: Any, session: Session, office: dict[str, Any], who: str,
) -> None:
    client = app.test_client()
    login(client, who)
    for _, method, path, expected in (row for row in REFUSALS if row[0] == who):
        url = path.format(**office)
        if method == "GET":
            resp = client.get(url)
        else:
            resp = client.post(url, data={
                "csrf_token": csrf(client, "/reports"), "action": "sign_off",
                "version": str(office["version"]), "text": "说明", "name": "被改名",
                "kind": "county"})
        page = resp.get_data(as_text=True)
        assert resp.status_code == expected, (method, url, page[:300])
        if expected == 404:  # nothing about it is given away
            assert "已转办给住建局的信息" not in page and "人民路路灯长期不亮" not in page
    session.rollback()
    report = session.get_one(Report, office["r"])
    # Only the clerk at the report's own level acted; every refusal left it as it was.
    assert [e.action for e in report.events] == (
        ["submit", "sign_off"] if who == "clerk-own" else ["submit"])
