"""Console sign-in as an attacker would try it (issue 15): copied cookies, guessed names and
passwords, weak passwords, cookie flags, expiry."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store.models import LoginFailure, Role, User
from store.network import logins, staff, users
from tests.conftest import PASSWORD
from tests.web_support import csrf, login

NEW_PASSWORD = "a-new-and-long-one"


def _copy(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of `client`'s console cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def _opens_console(client: FlaskClient) -> bool:
    resp = client.get("/reports")
    return resp.status_code == 200 and "退出" in resp.get_data(as_text=True)


def test_a_cookie_copied_before_logout_stops_working(app: Flask, client: FlaskClient, clerk: User,
                                                     session: Session) -> None:
    assert login(client, "carol").status_code == 302
    thief = _copy(client, app)
    assert _opens_console(thief)

    client.post("/logout", data={"csrf_token": csrf(client, "/reports")})

    assert not _opens_console(client)
    assert thief.get("/reports").status_code == 302  # to the login page
    session.refresh(clerk)
    assert clerk.session_generation == 1


def test_a_password_change_ends_every_other_session_but_this_one(
        app: Flask, client: FlaskClient, clerk: User) -> None:
    login(client, "carol")
    thief = _copy(client, app)

    resp = client.post("/account/password", data={
        "current": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
        "csrf_token": csrf(client, "/account")})

    assert resp.status_code == 302
    assert "其他设备上的登录已全部退出" in client.get("/account").get_data(as_text=True)
    assert _opens_console(client)
    assert not _opens_console(thief)


def test_an_admins_reset_and_a_deactivation_end_the_colleagues_sessions(
        app: Flask, Session_: sessionmaker[Session], clerk: User, admin: User) -> None:
    victim = app.test_client()
    login(victim, "carol")
    assert _opens_console(victim)
    with Session_() as s, s.begin():
        staff.reset_password(s, s.get(User, clerk.id), s.get(User, admin.id), NEW_PASSWORD)
    assert not _opens_console(victim)

    login(victim, "carol", NEW_PASSWORD)
    assert _opens_console(victim)
    with Session_() as s, s.begin():
        user = s.get(User, clerk.id)
        staff.update_user(s, user, role=user.role, unit_id=None, active=False)
    assert not _opens_console(victim)


def test_a_session_ends_after_its_longest_life(app: Flask, client: FlaskClient, clerk: User,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    login(client, "carol")
    assert _opens_console(client)
    later = time.time() + 12 * 3600 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert not _opens_console(client)


def test_the_session_cookie_is_httponly_lax_and_lapses_when_idle(app: Flask, client: FlaskClient,
                                                                 clerk: User) -> None:
    resp = login(client, "carol")
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # plain http in tests: a Secure cookie would never come back
    assert app.permanent_session_lifetime == timedelta(minutes=120)


def test_cookies_are_secure_over_https_and_behind_a_trusted_proxy(
        settings: Settings, Session_: sessionmaker[Session], clerk: User) -> None:
    from web import create_app

    https = create_app(dataclasses.replace(settings, public_url="https://minyi.example.gov.cn"),
                       session_factory=Session_).test_client()
    resp = https.get("/login")
    cookies = resp.headers.getlist("Set-Cookie")
    assert cookies and all("; Secure" in c for c in cookies)

    proxied = create_app(dataclasses.replace(settings, trusted_proxies=1),
                         session_factory=Session_).test_client()
    resp = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
    cookies = resp.headers.getlist("Set-Cookie")
    assert cookies and all(c.endswith("; Secure") or "; Secure;" in c for c in cookies)
    # Without the proxy's word the request is plain http, and the cookie is too.
    resp = proxied.get("/login")
    assert not any("Secure" in c for c in resp.headers.getlist("Set-Cookie"))


def test_it_computes_one_hash_whether_or_not_the_username_exists(
        session: Session, clerk: User, monkeypatch: pytest.MonkeyPatch) -> None:
    users.authenticate(session, "warm-up", "x")  # the stand-in hash is made once, up front
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(users.hashlib, "scrypt", counting)
    counts = []
    for name, password in (("carol", "wrong password"), ("nobody-here", "wrong password"),
                           ("carol", PASSWORD)):
        calls.clear()
        users.authenticate(session, name, password)
        counts.append(len(calls))
    clerk.active = False
    calls.clear()
    assert users.authenticate(session, "carol", PASSWORD) is None
    counts.append(len(calls))
    assert counts == [1, 1, 1, 1]


def test_it_locks_an_account_after_five_failures_and_records_them(
        client: FlaskClient, clerk: User, session: Session) -> None:
    codes = [login(client, "carol", f"guess-{i}").status_code for i in range(5)]
    assert codes == [401] * 5

    resp = login(client, "Carol ", PASSWORD)  # the right password, while locked

    assert resp.status_code == 429
    assert "登录失败次数过多，已暂时锁定，请 15 分钟后再试" in resp.get_data(as_text=True)
    assert not _opens_console(client)
    rows = session.scalars(sa.select(LoginFailure).order_by(LoginFailure.id)).all()
    assert [r.reason for r in rows] == ["password"] * 5 + ["locked"]
    assert {r.username for r in rows} == {"carol"} and {r.address for r in rows} == {"127.0.0.1"}


def test_a_lock_ends_after_its_time(session: Session, clerk: User) -> None:
    policy = logins.Policy()
    start = users.utcnow()
    for i in range(5):
        logins.record(session, "carol", "10.1.1.1", now=start + timedelta(seconds=i))
    with pytest.raises(logins.LockedOut):
        logins.check(session, "carol", "10.9.9.9", policy, now=start + timedelta(minutes=10))
    logins.check(session, "carol", "10.9.9.9", policy, now=start + timedelta(minutes=16))
    # Other accounts were never locked.
    logins.check(session, "david", "10.9.9.9", policy, now=start + timedelta(minutes=1))


def test_it_locks_an_address_that_tries_many_accounts(app: Flask, clerk: User,
                                                      session: Session) -> None:
    client = app.test_client()
    for i in range(20):
        assert login(client, f"user{i}", "guess").status_code == 401
    resp = login(client, "carol", PASSWORD)
    assert resp.status_code == 429
    # Another address may still sign in to the same account.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(other, "carol", PASSWORD).status_code == 302


@pytest.mark.parametrize(("password", "why"), [
    ("short", "密码至少 8 位"),
    ("carol2026!", "密码不能包含用户名"),
    ("password123", "这个密码太常见"),
    ("woaini1314", "这个密码太常见"),
    ("123456789", "不能是同一个字符重复或连续"),
    ("aaaaaaaaaaaa", "不能是同一个字符重复或连续"),
])
def test_it_refuses_weak_passwords(client: FlaskClient, clerk: User, session: Session,
                                   password: str, why: str) -> None:
    login(client, "carol")
    resp = client.post("/account/password", data={
        "current": PASSWORD, "password": password, "password2": password,
        "csrf_token": csrf(client, "/account")})
    assert resp.status_code == 422 and why in resp.get_data(as_text=True)
    with pytest.raises(users.UserError, match=why):
        users.set_password(session, clerk, password)  # an admin's reset, the command line


def test_it_accepts_a_generated_password_and_a_passphrase() -> None:
    for _ in range(50):
        assert users.password_problem(users.random_password(), "carol") is None
    assert users.password_problem(PASSWORD, "carol") is None


def test_create_user_applies_the_rules(session: Session) -> None:
    with pytest.raises(users.UserError, match="用户名"):
        users.create_user(session, "zhangsan", "zhangsan-2026", Role.CLERK)
    assert session.scalar(sa.select(User).where(User.username == "zhangsan")) is None
