"""The console's second factor (issue 15): enrol with a QR code, a code after the password,
recovery codes, an admin's reset, wrong codes toward the lockout, admins made to enrol in
production."""

from __future__ import annotations

import dataclasses
import re
import time

import pyotp
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store.models import LoginFailure, RecoveryCode, User
from store.network import second_factor
from tests.conftest import PASSWORD
from tests.web_support import csrf, login

SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
CODE_RE = re.compile(r'<code class="secret">([a-z2-9]{5}-[a-z2-9]{5})</code>')


def _post(client: FlaskClient, path: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": csrf(client, "/account/second-factor"), **data})


def enrol(client: FlaskClient) -> tuple[str, list[str]]:
    """Turn the logged-in user's second factor on; their secret and recovery codes."""
    _post(client, "/account/second-factor/start")
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = SECRET_RE.search(page)[1]  # type: ignore[index]
    assert 'src="data:image/svg+xml;base64,' in page  # the QR code of the otpauth address
    resp = _post(client, "/account/second-factor/confirm", code=pyotp.TOTP(secret).now())
    codes = CODE_RE.findall(resp.get_data(as_text=True))  # type: ignore[attr-defined]
    assert len(codes) == second_factor.RECOVERY_CODES
    return secret, codes


def _in(client: FlaskClient) -> bool:
    resp = client.get("/reports")
    return resp.status_code == 200 and "退出" in resp.get_data(as_text=True)


def _raw_secret(session: Session, user: User) -> str | None:
    session.rollback()
    return session.execute(sa.text("SELECT totp_secret FROM users WHERE id = :i"),
                           {"i": user.id}).scalar()


def test_it_enrols_with_a_qr_code_and_keeps_the_secret_sealed_and_the_codes_hashed(
        client: FlaskClient, clerk: User, session: Session) -> None:
    login(client, "carol")
    assert "未开启" in client.get("/account").get_data(as_text=True)
    _post(client, "/account/second-factor/start")
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = SECRET_RE.search(page)[1]  # type: ignore[index]
    wrong = _post(client, "/account/second-factor/confirm", code="000000")
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert "验证码不正确" in wrong.get_data(as_text=True)  # type: ignore[attr-defined]
    session.refresh(clerk)
    assert clerk.totp_since is None

    done = _post(client, "/account/second-factor/confirm", code=pyotp.TOTP(secret).now())
    codes = CODE_RE.findall(done.get_data(as_text=True))  # type: ignore[attr-defined]
    assert len(codes) == 10 and "恢复码只显示这一次" in done.get_data(as_text=True)  # type: ignore[attr-defined]
    raw = _raw_secret(session, clerk)
    assert raw is not None and raw.startswith("enc1:") and secret not in raw
    hashes = set(session.scalars(sa.select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == clerk.id)))
    assert len(hashes) == 10 and not hashes & set(codes)
    assert "已开启" in client.get("/account").get_data(as_text=True)


def test_a_login_asks_for_a_code_after_the_password_and_takes_each_code_once(
        app: Flask, client: FlaskClient, clerk: User, session: Session) -> None:
    login(client, "carol")
    secret, _ = enrol(client)
    phone = app.test_client()
    resp = login(phone, "carol")
    assert resp.status_code == 302 and resp.location.endswith("/login/code")
    assert not _in(phone)  # the password alone opens nothing

    bad = phone.post("/login/code", data={"csrf_token": csrf(phone, "/login/code"), "code": "123456"})
    assert bad.status_code == 401 and "验证码不正确" in bad.get_data(as_text=True)
    # The code enrolment took is spent; the app's next one (a clock a little ahead) is not.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    ok = phone.post("/login/code", data={"csrf_token": csrf(phone, "/login/code"), "code": code})
    assert ok.status_code == 302 and _in(phone)

    # The same code, seen over a shoulder, does not open a second session.
    thief = app.test_client()
    login(thief, "carol")
    again = thief.post("/login/code", data={"csrf_token": csrf(thief, "/login/code"), "code": code})
    assert again.status_code == 401 and not _in(thief)
    session.rollback()
    reasons = session.scalars(sa.select(LoginFailure.reason)).all()
    assert reasons == ["code", "code"]


def test_a_recovery_code_opens_the_console_once(app: Flask, client: FlaskClient,
                                               clerk: User) -> None:
    login(client, "carol")
    _, codes = enrol(client)
    for expected in (302, 401):
        other = app.test_client()
        login(other, "carol")
        resp = other.post("/login/code", data={"csrf_token": csrf(other, "/login/code"),
                                               "code": codes[0].upper()})
        assert resp.status_code == expected


def test_wrong_codes_count_toward_the_lockout(app: Flask, client: FlaskClient, clerk: User) -> None:
    login(client, "carol")
    secret, _ = enrol(client)
    other = app.test_client()
    login(other, "carol")
    for _ in range(5):
        other.post("/login/code", data={"csrf_token": csrf(other, "/login/code"), "code": "000000"})
    locked = other.post("/login/code", data={"csrf_token": csrf(other, "/login/code"),
                                             "code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert locked.status_code == 429 and "已暂时锁定" in locked.get_data(as_text=True)
    assert not _in(other)


def test_a_code_page_without_a_password_first_goes_back_to_the_login(client: FlaskClient) -> None:
    resp = client.get("/login/code")
    assert resp.status_code == 302 and resp.location.endswith("/login")


def test_an_admin_resets_a_colleagues_second_factor_and_nobody_else_can(
        app: Flask, client: FlaskClient, clerk: User, admin: User, session: Session) -> None:
    login(client, "carol")
    enrol(client)
    refused = _post(client, f"/admin/users/{clerk.id}/second-factor/reset")
    assert refused.status_code == 403  # type: ignore[attr-defined]

    desk = app.test_client()
    login(desk, "alice")
    page = desk.get(f"/admin/users/{clerk.id}/password").get_data(as_text=True)
    assert "重置两步验证" in page
    resp = desk.post(f"/admin/users/{clerk.id}/second-factor/reset",
                     data={"csrf_token": csrf(desk, "/account")}, follow_redirects=True)
    assert "已重置「carol」的两步验证" in resp.get_data(as_text=True)
    assert _raw_secret(session, clerk) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    fresh = app.test_client()
    assert login(fresh, "carol").location.endswith("/reports")  # no code asked any more


def test_in_production_an_admin_sets_up_a_second_factor_before_anything_else(
        settings: Settings, Session_: sessionmaker[Session], admin: User, clerk: User) -> None:
    from web import create_app

    app = create_app(dataclasses.replace(settings, env="production"), session_factory=Session_)
    client = app.test_client()
    login(client, "alice")
    resp = client.get("/reports")
    assert resp.status_code == 302 and resp.location.endswith("/account/second-factor")
    assert "管理员账号必须开启" in client.get("/account/second-factor").get_data(as_text=True)
    enrol(client)
    assert client.get("/reports").status_code == 200
    off = _post(client, "/account/second-factor/off", password=PASSWORD)
    assert off.status_code == 403  # type: ignore[attr-defined]
    # A clerk may do without.
    desk = app.test_client()
    login(desk, "carol")
    assert desk.get("/reports").status_code == 200


def test_one_code_sent_from_eight_places_at_once_opens_one_session(
        Session_: sessionmaker[Session], session: Session, clerk: User) -> None:
    from tests.test_races import THREADS, together

    secret = second_factor.begin(session, clerk)
    now = time.time()
    second_factor.confirm(session, clerk, pyotp.TOTP(secret).at(now), now=now)
    session.commit()
    code = pyotp.TOTP(secret).at(now + 30)

    def send(i: int) -> bool:
        with Session_() as s, s.begin():
            user = s.get(User, clerk.id)
            assert user is not None
            return second_factor.verify(s, user, code, now=now + 30)

    assert sorted(together(send)) == [False] * (THREADS - 1) + [True]
    with Session_() as s, s.begin():
        user = s.get(User, clerk.id)
        assert user is not None
        recovery = second_factor._new_recovery_codes(s, user)
    assert sorted(together(lambda i: send_recovery(Session_, clerk.id, recovery[0]))) == \
        [False] * (THREADS - 1) + [True]


def send_recovery(factory: sessionmaker[Session], user_id: int, code: str) -> bool:
    with factory() as s, s.begin():
        user = s.get(User, user_id)
        assert user is not None
        return second_factor.verify(s, user, code)
