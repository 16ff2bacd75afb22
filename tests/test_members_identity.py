"""The 委员与信息员 page reads bound chats' names through store.access, and each look is logged."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import AccessLog, Member, Reporter, Role, User
from store.network import members
from tests.conftest import Network, staff
from tests.domain_support import reporter
from tests.web_support import login


def _bound(session: Session, name: str, unit_id: int, external_id: str) -> Reporter:
    code = members.issue_code(session, name=name, role="member", unit_id=unit_id, created_by_id=None)
    chat = reporter(session, external_id=external_id)
    assert members.redeem(session, chat, code.code).reason == "ok"
    session.commit()
    return chat


def _looks(session: Session) -> list[tuple[int, int | None, str]]:
    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        sa.select(AccessLog.user_id, AccessLog.member_id, AccessLog.what).order_by(AccessLog.id))]


def test_it_logs_each_bound_members_name_it_shows(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    chat = _bound(session, "赵委员", network.township.id, "3001")
    member_id = chat.member_id
    login(client, "alice")

    resp = client.get("/members")

    assert resp.status_code == 200
    assert "赵委员" in resp.get_data(as_text=True).split("已绑定")[1].split("绑定码")[0]
    assert resp.headers["Cache-Control"] == "private, no-store"
    session.rollback()
    assert _looks(session) == [(admin.id, member_id, "bound_members")]


def test_a_units_clerk_sees_and_logs_only_its_units_bound_members(
        client: FlaskClient, session: Session, network: Network) -> None:
    ours = _bound(session, "赵委员", network.township.id, "3001")
    _bound(session, "钱委员", network.other_county.id, "3002")
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    login(client, "county-clerk")

    page = client.get("/members").get_data(as_text=True)

    bound = page.split("已绑定")[1].split("<h2>绑定码")[0]
    assert "赵委员" in bound and "钱委员" not in bound and "（1）" in bound
    session.rollback()
    assert _looks(session) == [(clerk.id, ours.member_id, "bound_members")]


def test_a_chat_no_longer_linked_to_the_roster_shows_no_name_and_logs_nothing(
        client: FlaskClient, session: Session, admin: User, network: Network) -> None:
    chat = _bound(session, "赵委员", network.township.id, "3001")
    chat.member_id = None
    session.commit()
    login(client, "alice")

    page = client.get("/members").get_data(as_text=True)

    assert "赵委员" not in page.split("已绑定")[1].split("<h2>绑定码")[0]
    session.rollback()
    assert _looks(session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 1
