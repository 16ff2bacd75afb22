"""The read API and marked reports (issue 14): content only for a token issued with `marked`."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import ApiToken, User
from store.network import units
from store.outputs import apitokens
from store.reports import marks
from tests.conftest import Network
from tests.test_api import World, _issues, call, world  # noqa: F401  (the API's world and its checks)
from tests.web_support import csrf, login


def _mark_here(session: Session, world: World, admin: User) -> None:  # noqa: F811
    marks.change(session, world.here, marks.Mark.INTERNAL, admin, "涉及尚未公开的规划")
    session.commit()


def test_a_token_without_the_permission_gets_a_marked_report_withheld(
        client: FlaskClient, session: Session, world: World, admin: User) -> None:  # noqa: F811
    _mark_here(session, world, admin)
    t = world.township_token

    page = call(client, t, "/reports", "/reports", 200)
    one = call(client, t, f"/reports/{world.here.id}", "/reports/{report_id}", 200)

    expected = {"id": world.here.id, "tracking_no": world.here.tracking_no,
                "status": world.here.status.value, "mark": 1, "withheld": True}
    assert page["items"] == [expected]
    assert one == expected
    assert "城关加装电梯" not in json.dumps([page, one], ensure_ascii=False)
    # An unmarked report keeps its content, with its mark.
    county = call(client, world.county_token, "/reports?q=停车", "/reports", 200)
    assert [(i["title"], i["mark"]) for i in county["items"]] == [("县城停车难", 0)]


def test_a_token_issued_with_marked_reads_the_content(
        client: FlaskClient, session: Session, world: World, admin: User,  # noqa: F811
        network: Network) -> None:
    _mark_here(session, world, admin)
    _, cleared = apitokens.issue(session, "城关镇保密系统", network.township.id, admin,
                                 units.EVERYTHING, marked=True)
    session.commit()

    one = call(client, cleared, f"/reports/{world.here.id}", "/reports/{report_id}", 200)

    assert one["title"] == "城关加装电梯" and one["mark"] == 1 and "withheld" not in one
    assert one["situation"] == world.here.situation


def test_a_journal_item_of_a_marked_report_is_withheld(
        client: FlaskClient, session: Session, world: World, admin: User) -> None:  # noqa: F811
    journal = _issues(session, world, admin)
    _mark_here(session, world, admin)

    detail = call(client, world.all_token, f"/journal/issues/{journal.both.id}",
                  "/journal/issues/{issue_id}", 200)

    here, there = detail["items"]
    assert (here["title"], here["body"], here["withheld"]) == (None, None, True)
    assert here["tracking_no"] == world.here.tracking_no
    assert there["withheld"] is False and there["title"] == "东山道路塌陷"


def test_an_administrator_grants_marked_when_issuing(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    login(client, "alice")
    for name, extra in (("普通系统", {}), ("保密系统", {"marked": "1"})):
        resp = client.post("/admin/api-tokens", data={
            "csrf_token": csrf(client, "/admin/api-tokens"), "name": name,
            "unit_id": str(network.county.id), **extra})
        assert resp.status_code == 200

    session.rollback()
    assert dict(session.execute(sa.select(ApiToken.name, ApiToken.marked)).all()) == {
        "普通系统": False, "保密系统": True}
    assert "可读内部及以上密级" in client.get("/admin/api-tokens").get_data(as_text=True)
