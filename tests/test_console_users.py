"""Staff accounts in the console: no default role or unit, an admin's password reset, one's own change."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import Role, StaffNotice, User
from store.network import users
from tests.conftest import PASSWORD, Network, staff
from tests.web_support import csrf, login

NEW = "a-new-pass-2026"


def _user(session: Session, name: str) -> User | None:
    session.rollback()
    session.expire_all()
    return session.scalar(sa.select(User).where(User.username == name))


def _add(client: FlaskClient, **data: str) -> tuple[int, str]:
    resp = client.post("/admin/users", follow_redirects=True,
                       data={"csrf_token": csrf(client, "/reports"), **data})
    return resp.status_code, resp.get_data(as_text=True)


def _can_log_in(app: object, name: str, password: str) -> bool:
    fresh = app.test_client()  # type: ignore[attr-defined]
    return login(fresh, name, password).status_code == 302


# -- adding a colleague ------------------------------------------------------------


def test_it_starts_the_add_user_form_with_no_role_and_no_unit(
    client: FlaskClient, admin: User, network: Network
) -> None:
    login(client, "alice")
    page = client.get("/admin/users").get_data(as_text=True)
    form = page[page.index('id="new-user"'):page.index("</form>", page.index('id="new-user"'))]
    assert '<option value="" selected>请选择角色</option>' in form
    assert '<option value="" selected>请选择单位</option>' in form
    assert '<option value="all" >全部单位（不限）</option>' in form
    assert form.count(" selected>") == 2  # nothing else is chosen for the admin


def test_it_refuses_a_colleague_without_a_chosen_role_or_unit_and_keeps_the_form(
    client: FlaskClient, admin: User, session: Session, network: Network
) -> None:
    login(client, "alice")
    status, page = _add(client, username="liu", display_name="刘科长", password="a-long-password",
                        role="", unit_id="")
    assert status == 422
    assert 'id="err-role" role="alert">请选择角色' in page
    assert 'id="err-unit_id" role="alert">请选择单位' in page
    assert 'value="liu"' in page and 'value="刘科长"' in page
    assert _user(session, "liu") is None

    # A department must belong to one; "all units" is for office-wide roles only.
    status, page = _add(client, username="liu", password="a-long-password", role="department",
                        unit_id="all")
    assert status == 422 and "有关部门的账号必须选择所属部门" in page
    assert '<option value="department" selected>' in page
    assert _user(session, "liu") is None

    status, page = _add(client, username="liu", password="a-long-password", role="clerk",
                        unit_id="all")
    assert status == 200 and "已添加工作人员「liu」" in page
    liu = _user(session, "liu")
    assert liu is not None and liu.role is Role.CLERK and liu.unit_id is None

    status, _ = _add(client, username="zhou", password="a-long-password", role="department",
                     unit_id=str(network.roads.id))
    zhou = _user(session, "zhou")
    assert status == 200 and zhou is not None and zhou.unit_id == network.roads.id


def test_it_makes_up_a_first_password_when_none_is_typed(
    client: FlaskClient, app: object, admin: User, session: Session
) -> None:
    login(client, "alice")
    status, page = _add(client, username="ma", role="viewer", unit_id="all")
    assert status == 200 and 'id="issued-password"' in page
    found = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert found and _can_log_in(app, "ma", found.group(1))
    # Shown once: the list does not show it again.
    assert found.group(1) not in client.get("/admin/users").get_data(as_text=True)


# -- an admin resets a colleague's password ----------------------------------------


def test_it_lets_the_admin_make_up_a_new_password_for_a_colleague(
    client: FlaskClient, app: object, admin: User, clerk: User, session: Session
) -> None:
    login(client, "alice")
    form = client.get(f"/admin/users/{clerk.id}/password")
    assert form.status_code == 200 and 'id="generate"' in form.get_data(as_text=True)
    resp = client.post(f"/admin/users/{clerk.id}/password", data={
        "mode": "generate", "csrf_token": csrf(client, "/reports")})
    page = resp.get_data(as_text=True)
    found = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert resp.status_code == 200 and found and "只显示这一次" in page
    assert not _can_log_in(app, "carol", PASSWORD)
    assert _can_log_in(app, "carol", found.group(1))
    # Carol is told, and that notice is the record of who did it.
    session.rollback()
    (notice,) = session.scalars(sa.select(StaffNotice).where(StaffNotice.user_id == clerk.id))
    assert notice.kind == "password_reset" and "alice" in notice.text


def test_it_lets_the_admin_type_a_new_password_twice(
    client: FlaskClient, app: object, admin: User, clerk: User, session: Session
) -> None:
    login(client, "alice")
    token = csrf(client, "/reports")
    resp = client.post(f"/admin/users/{clerk.id}/password", data={
        "mode": "typed", "password": NEW, "password2": NEW + "x", "csrf_token": token})
    assert resp.status_code == 422 and "两次输入的新密码不一致" in resp.get_data(as_text=True)
    resp = client.post(f"/admin/users/{clerk.id}/password", data={
        "mode": "typed", "password": "short", "password2": "short", "csrf_token": token})
    assert resp.status_code == 422 and "密码至少 8 位" in resp.get_data(as_text=True)
    assert _can_log_in(app, "carol", PASSWORD)

    resp = client.post(f"/admin/users/{clerk.id}/password", follow_redirects=True, data={
        "mode": "typed", "password": NEW, "password2": NEW, "csrf_token": token})
    assert "已重设「carol」的密码" in resp.get_data(as_text=True)
    assert not _can_log_in(app, "carol", PASSWORD) and _can_log_in(app, "carol", NEW)


@pytest.mark.parametrize("role", [Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL,
                                  Role.DEPARTMENT, Role.VIEWER])
def test_it_lets_no_one_but_an_admin_reset_a_colleagues_password(
    client: FlaskClient, app: object, admin: User, session: Session, network: Network, role: Role,
) -> None:
    staff(session, "someone", role, network.roads if role is Role.DEPARTMENT else None)
    login(client, "someone")
    assert client.get(f"/admin/users/{admin.id}/password").status_code == 403
    for data in ({"mode": "generate"}, {"mode": "typed", "password": NEW, "password2": NEW}):
        resp = client.post(f"/admin/users/{admin.id}/password",
                           data={**data, "csrf_token": csrf(client, "/reports")})
        assert resp.status_code == 403
    assert _can_log_in(app, "alice", PASSWORD) and not _can_log_in(app, "alice", NEW)


def test_it_sends_an_admin_to_their_own_account_page_for_their_own_password(
    client: FlaskClient, app: object, admin: User
) -> None:
    login(client, "alice")
    resp = client.post(f"/admin/users/{admin.id}/password", data={
        "mode": "generate", "csrf_token": csrf(client, "/reports")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    assert _can_log_in(app, "alice", PASSWORD)


# -- everyone changes their own ------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_it_lets_every_staff_member_change_their_own_password(
    client: FlaskClient, app: object, session: Session, network: Network, role: Role,
) -> None:
    staff(session, "me", role, network.roads if role in (Role.DEPARTMENT, Role.UNIT_LIAISON)
          else None)
    login(client, "me")
    page = client.get("/account").get_data(as_text=True)
    assert 'id="change-password"' in page and 'name="current"' in page
    resp = client.post("/account/password", follow_redirects=True, data={
        "current": PASSWORD, "password": NEW, "password2": NEW,
        "csrf_token": csrf(client, "/account")})
    assert resp.status_code == 200 and "密码已修改" in resp.get_data(as_text=True)
    assert not _can_log_in(app, "me", PASSWORD) and _can_log_in(app, "me", NEW)


@pytest.mark.parametrize(("current", "new", "again", "field", "says"), [
    ("wrong password", NEW, NEW, "current", "当前密码不正确"),
    (PASSWORD, "short", "short", "password", "密码至少 8 位"),
    (PASSWORD, NEW, NEW + "x", "password2", "两次输入的新密码不一致"),
    (PASSWORD, PASSWORD, PASSWORD, "password", "新密码不能与当前密码相同"),
])
def test_it_refuses_a_bad_own_password_change_beside_the_field(
    client: FlaskClient, app: object, clerk: User, session: Session,
    current: str, new: str, again: str, field: str, says: str,
) -> None:
    login(client, "carol")
    resp = client.post("/account/password", data={
        "current": current, "password": new, "password2": again,
        "csrf_token": csrf(client, "/account")})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f'id="err-{field}" role="alert">{says}' in page
    assert new not in page.replace(says, "")  # passwords are not echoed back
    fresh = _user(session, "carol")
    assert fresh is not None and users.check_password(fresh.password_hash, PASSWORD)


def test_it_needs_a_login_and_a_csrf_token_to_change_a_password(
    client: FlaskClient, clerk: User, app: object
) -> None:
    resp = client.post("/account/password", data={
        "current": PASSWORD, "password": NEW, "password2": NEW, "csrf_token": csrf(client)})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login(client, "carol")
    resp = client.post("/account/password", data={
        "current": PASSWORD, "password": NEW, "password2": NEW})
    assert resp.status_code == 400
    assert _can_log_in(app, "carol", PASSWORD)
