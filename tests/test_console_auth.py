"""Logging in and out of the console; CSRF; who may see what."""

from __future__ import annotations

from flask.testing import FlaskClient

from store.models import User
from tests.web_support import csrf, login


def test_it_redirects_anonymous_visitors_to_login(client: FlaskClient) -> None:
    resp = client.get("/reports")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "工作人员登录" in page


def test_it_logs_a_clerk_in_and_records_the_login(client: FlaskClient, clerk: User,
                                                  session) -> None:  # noqa: ANN001
    resp = login(client, "carol")
    assert resp.status_code == 302
    page = client.get("/reports").get_data(as_text=True)
    assert "信息收件箱" in page and "Carol" in page
    session.expire_all()
    assert session.get(User, clerk.id).last_login_at is not None


def test_it_refuses_a_wrong_password(client: FlaskClient, clerk: User) -> None:
    resp = login(client, "carol", "wrong password")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/reports").status_code == 302


def test_it_refuses_a_login_without_csrf_token(client: FlaskClient, clerk: User) -> None:
    resp = client.post("/login", data={"username": "carol", "password": "correct horse battery"})
    assert resp.status_code == 400
    assert "安全校验" in resp.get_data(as_text=True)
    assert client.get("/reports").status_code == 302


def test_it_logs_out_with_a_post(client: FlaskClient, clerk: User) -> None:
    login(client, "carol")
    assert client.get("/logout").status_code == 405
    resp = client.post("/logout", data={"csrf_token": csrf(client, "/reports")})
    assert resp.status_code == 302
    assert client.get("/reports").status_code == 302


def test_it_only_follows_local_next_links(client: FlaskClient, clerk: User) -> None:
    token = csrf(client)
    resp = client.post("/login", data={"username": "carol", "password": "correct horse battery",
                                       "csrf_token": token, "next": "//evil.example/x"})
    assert resp.headers["Location"] == "/reports"


def test_it_shows_chinese_error_pages(client: FlaskClient, clerk: User) -> None:
    login(client, "carol")
    resp = client.get("/reports/999999")
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)


def test_it_sends_secure_cookies_in_production(settings, Session_) -> None:  # noqa: ANN001, N803
    import dataclasses

    from web import create_app

    prod = create_app(dataclasses.replace(settings, env="production"), session_factory=Session_)
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True


def test_it_shows_a_chinese_page_when_something_breaks(app, client: FlaskClient) -> None:  # noqa: ANN001
    def boom() -> str:
        raise RuntimeError("kaboom")

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/c/api/boom", view_func=boom)
    resp = client.get("/boom")
    assert resp.status_code == 500 and "系统出错了" in resp.get_data(as_text=True)
    assert "kaboom" not in resp.get_data(as_text=True)
    api = client.get("/c/api/boom")
    assert api.status_code == 500 and api.get_json()["ok"] is False


def test_an_anonymous_request_answered_late_cannot_log_the_user_out(client, admin) -> None:  # noqa: ANN001
    # The browser's own requests (the favicon, an error page) may start before the
    # login and be answered after it: they must not send back the pre-login cookie.
    client.get("/login")  # an anonymous session with its CSRF token
    for path in ("/favicon.ico", "/no-such-page", "/static/favicon.svg"):
        resp = client.get(path)
        assert "Set-Cookie" not in resp.headers, path
    assert client.get("/favicon.ico").status_code == 301
    assert client.get("/static/favicon.svg").status_code == 200
